"""What `qa_pass` catches: seeded corruptions of correct translations, rescored through the QA stage.

Each corruption class changes one row's translated `output` the way a translation engine goes wrong (a
negation flipped, a noun swapped, words left in English, a sentence inserted or dropped, a number changed,
the output truncated, another row's output, the English copied); the corrupted output is translated back
with the same engine (through the translation memory), and the corpus, a share of its rows corrupted, goes
through `score_language` exactly as in a release. Detection = corrupted rows that fail; false alarms = clean
rows that fail. Rows that fail when clean are left out of the corruptions, so a detection is never the
clean row's own failure.

The corruptions are written for Portuguese, the language that translates offline (bergamot en<->pt);
benchmarks/qa_sensitivity.py runs them on the sample and can write the figures to validation/detection.py.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from builders.segments import protected_spans, segment_text
from safedrift.core.log import progress
from safedrift.core.specs import DatasetSpec
from validation.config import QAConfig
from validation.qa import failing_flags, score_language
from validation.scorers.notation import SYMBOLS, ends_sentence, lost_labels
from validation.scorers.wordlists import COMPOUND_ONLY, NUMBER_WORDS

FIELD = "output"
LANG = "pt"
# Goals (issue 16): detection per class, and the most clean rows that may be flagged.
GOALS = {"negation": 0.9, "noun_swap": 0.5, "partial_copy": 0.9, "insertion": 0.9, "sentence_drop": 0.9,
         "number_word": 0.9, "digit": 0.9, "truncation": 0.9, "shuffle": 0.9, "full_copy": 0.9,
         # issue 25: what the real rows showed an engine doing that the classes above do not cover
         "symbol_loss": 0.9, "label_loss": 0.9, "capital_copy": 0.9, "line_append": 0.9}
CLASSES = tuple(GOALS)
MAX_FALSE_ALARMS = 0.03
DESCRIPTIONS = {
    "negation": "a negation flipped (não removed, or added before a verb)",
    "noun_swap": "one noun replaced by a noun of another row",
    "partial_copy": "2-3 words of a sentence left in English (the source's words)",
    "insertion": "an unrelated sentence (from another row) inserted",
    "sentence_drop": "one sentence of several dropped",
    "number_word": "a number written as a word changed (dois -> três)",
    "digit": "a number in digits changed (200 -> 201)",
    "truncation": "the output cut to its first half",
    "shuffle": "another row's output",
    "full_copy": "the English source copied as the output",
    "symbol_loss": "a math or bracket symbol dropped or turned into a minus sign (π, {, =, %)",
    "label_loss": "a `label: value` line loses its value",
    "capital_copy": "2-3 English words with a capitalised word left in (\"visited Paris\", \"Spain is\")",
    "line_append": "an unrelated sentence appended to a list item or line without a full stop",
}

# Portuguese verb forms before which "não" makes a negated sentence.
PT_VERBS = frozenset(
    "é são está estão foi era pode podem deve devem tem têm faz fazem ajuda ajudam precisa precisam vai vão "
    "fica ficam torna tornam usa usam use coloque adicione mantenha deixe quer sabe há dá leva levam vem começa "
    "funciona funcionam significa permite inclui mostra ganha cobre cobrem abrigam protegem divide absorvem "
    "liberam produz produzem contém precisamos podemos devemos temos sai saem chega custa custam dura gosta "
    "retorna calcula constrói compara adiciona recebe ocorre acontece parece parecem existe existem".split())
# Words an article may precede that are not nouns worth swapping.
_NOT_NOUNS = frozenset(
    "mais menos maior menor melhor pior mesma mesmo mesmas mesmos outra outro outras outros primeira primeiro "
    "segunda segundo última último cada todos todas toda todo qual quais seguir partir qualquer vezes forma "
    "maneira própria próprio seus suas".split())
_ARTICLE_NOUN_RE = re.compile(r"\b(?:o|a|os|as|um|uma|do|da|dos|das|no|na|nos|nas|ao|à|pelo|pela|este|esta|"
                              r"seu|sua)\s+([a-zà-ÿ]{4,})\b")
_WORD_RE = re.compile(r"[^\W\d_]+")
_START, _END = "\x02", "\x03"


@dataclass
class Corruption:
    """One class: how to corrupt row i's output (None when the row has nothing to corrupt that way)."""

    name: str
    apply: Callable[[int, random.Random], str | None]


@dataclass
class ClassResult:
    name: str
    n: int = 0
    detected: int = 0
    by_check: Counter = field(default_factory=Counter)  # flag -> corrupted rows it newly fired on
    examples: list[tuple[str, str]] = field(default_factory=list)  # (corrupted output, flags) samples

    @property
    def rate(self) -> float:
        return self.detected / self.n if self.n else 0.0



def _copy_window(segments: list[str], options: list, rng: random.Random) -> tuple[int, str] | None:
    """One of `options` (segment index, English words) written over as many Portuguese words at a random place
    of that segment: the English an engine left in (partial_copy, capital_copy)."""
    if not options:
        return None
    k, window = rng.choice(options)
    pt_words = list(_WORD_RE.finditer(segments[k]))
    start = rng.randrange(len(pt_words) - len(window) + 1)
    first, last = pt_words[start], pt_words[start + len(window) - 1]
    seg = segments[k]
    return k, seg[: first.start()] + " ".join(window) + seg[last.end():]

def _edit_segment(text: str, pick: Callable[[list[str]], tuple[int, str] | None]) -> str | None:
    """Apply an edit to one translatable sentence of `text` (code, URLs and numbers are never touched)."""
    st = segment_text(text, LANG)
    choice = pick(st.segments)
    if choice is None:
        return None
    i, new = choice
    segments = list(st.segments)
    segments[i] = new
    out = st.assemble(segments)
    return re.sub(f"{_START}.*?{_END}", "", out, flags=re.S) if _START in out else out


def _drop(segment: str) -> str:
    # Its protected spans (sentinels) go too: assemble would otherwise append them.
    return _START + "".join(m.group(0) for m in re.finditer(r"_\d+_", segment)) + _END


class Corruptor:
    """The corruption classes over one corpus: English rows and their correct translations."""

    def __init__(self, en: Sequence[dict], pt: Sequence[dict]) -> None:
        self.en, self.pt = en, pt
        self.nouns = sorted({m.group(1) for r in pt for m in _ARTICLE_NOUN_RE.finditer(r[FIELD])} - _NOT_NOUNS)
        self.sentences = sorted({s for r in pt for s in segment_text(r[FIELD], LANG).segments
                                 if "_" not in s and len(s.split()) >= 4 and s[-1] in ".!?"})
        self.number_words = {w: v for w, v in NUMBER_WORDS[LANG].items() if v != 1 and w not in COMPOUND_ONLY}

    def classes(self) -> dict[str, Corruption]:
        return {name: Corruption(name, getattr(self, name)) for name in CLASSES}

    def negation(self, i: int, rng: random.Random) -> str | None:
        def pick(segments: list[str]) -> tuple[int, str] | None:
            options = []
            for k, seg in enumerate(segments):
                for m in re.finditer(r"\b[Nn]ão\s+", seg):
                    rest = seg[m.end():]
                    options.append((k, seg[: m.start()] + (rest[:1].upper() + rest[1:] if m.start() == 0 else rest)))
                if not re.search(r"\b(?:não|nunca|nem|sem|nada|ninguém|nenhum|nenhuma)\b", seg, re.I):
                    for m in _WORD_RE.finditer(seg):
                        if m.group().lower() in PT_VERBS:
                            head = "Não " + m.group().lower() if m.start() == 0 else "não " + m.group()
                            options.append((k, seg[: m.start()] + head + seg[m.end():]))
            return rng.choice(options) if options else None

        return _edit_segment(self.pt[i][FIELD], pick)

    def noun_swap(self, i: int, rng: random.Random) -> str | None:
        text = self.pt[i][FIELD]

        def pick(segments: list[str]) -> tuple[int, str] | None:
            options = [(k, m) for k, seg in enumerate(segments) for m in _ARTICLE_NOUN_RE.finditer(seg)
                       if m.group(1) not in _NOT_NOUNS]
            if not options:
                return None
            k, m = rng.choice(options)
            pool = [n for n in self.nouns if n not in text.lower()]
            seg = segments[k]
            return k, seg[: m.start(1)] + rng.choice(pool) + seg[m.end(1):]

        return _edit_segment(text, pick)

    def partial_copy(self, i: int, rng: random.Random) -> str | None:
        en_segments = segment_text(self.en[i][FIELD], "en").segments

        def pick(segments: list[str]) -> tuple[int, str] | None:
            options = []
            for k, seg in enumerate(segments[: len(en_segments)]):
                en_words = _WORD_RE.findall(en_segments[k])
                pt_words = list(_WORD_RE.finditer(seg))
                for n in (2, 3):
                    for a in range(len(en_words) - n + 1):
                        window = en_words[a: a + n]
                        # words an engine leaves untranslated: lowercase, one of them a content word
                        if all(w.islower() for w in window) and max(map(len, window)) >= 4 and len(pt_words) > n:
                            options.append((k, window))
            return _copy_window(segments, options, rng)

        return _edit_segment(self.pt[i][FIELD], pick)

    def insertion(self, i: int, rng: random.Random) -> str | None:
        own = set(segment_text(self.pt[i][FIELD], LANG).segments)
        pool = [s for s in self.sentences if s not in own]

        def pick(segments: list[str]) -> tuple[int, str] | None:
            if not segments:
                return None
            k = rng.randrange(len(segments))
            return k, segments[k] + " " + rng.choice(pool)

        return _edit_segment(self.pt[i][FIELD], pick)

    def sentence_drop(self, i: int, rng: random.Random) -> str | None:
        def pick(segments: list[str]) -> tuple[int, str] | None:
            if len(segments) < 2:
                return None
            k = rng.randrange(len(segments))
            return k, _drop(segments[k])

        return _edit_segment(self.pt[i][FIELD], pick)

    def number_word(self, i: int, rng: random.Random) -> str | None:
        def pick(segments: list[str]) -> tuple[int, str] | None:
            options = [(k, m) for k, seg in enumerate(segments) for m in _WORD_RE.finditer(seg)
                       if m.group().lower() in self.number_words]
            if not options:
                return None
            k, m = rng.choice(options)
            value = self.number_words[m.group().lower()]
            other = rng.choice(sorted(w for w, v in self.number_words.items() if v != value and (v < 10) == (value < 10)))
            seg = segments[k]
            return k, seg[: m.start()] + other + seg[m.end():]

        return _edit_segment(self.pt[i][FIELD], pick)

    def digit(self, i: int, rng: random.Random) -> str | None:
        text = self.pt[i][FIELD]
        # numbers in the prose only: not inside code, URLs, inline code or placeholders
        blocked, cursor = [], 0
        for span, is_code in protected_spans(text):
            start = text.find(span, cursor)
            cursor = start + len(span)
            if is_code or not span[0].isdigit():
                blocked.append((start, cursor))
        options = [m for m in re.finditer(r"(?<![\w.,])\d+(?![\w])", text)
                   if not any(a <= m.start() < b for a, b in blocked)]
        if not options:
            return None
        m = rng.choice(options)
        return text[: m.start()] + str(int(m.group()) + 1) + text[m.end():]

    def truncation(self, i: int, rng: random.Random) -> str | None:
        text = self.pt[i][FIELD]
        cut = text.rfind(" ", 0, len(text) // 2)
        return text[:cut] if cut > 0 else None

    def shuffle(self, i: int, rng: random.Random) -> str | None:
        others = [j for j in range(len(self.pt)) if self.pt[j][FIELD] != self.pt[i][FIELD]]
        return self.pt[rng.choice(others)][FIELD] if others else None

    def full_copy(self, i: int, rng: random.Random) -> str | None:
        return self.en[i][FIELD] if self.en[i][FIELD] != self.pt[i][FIELD] else None

    def symbol_loss(self, i: int, rng: random.Random) -> str | None:
        text = self.pt[i][FIELD]
        blocked, cursor = [], 0
        for span, _ in protected_spans(text):
            start = text.find(span, cursor)
            cursor = start + len(span)
            blocked.append((start, cursor))
        options = [k for k, c in enumerate(text) if c in SYMBOLS and not any(a <= k < b for a, b in blocked)]
        if not options:
            return None
        k = rng.choice(options)
        return text[:k] + rng.choice(("", "-")) + text[k + 1:]

    def label_loss(self, i: int, rng: random.Random) -> str | None:
        lines = self.pt[i][FIELD].split("\n")
        options = [k for k, line in enumerate(lines) if lost_labels(line, "")]
        if not options:
            return None
        k = rng.choice(options)
        lines[k] = lines[k][: lines[k].index(":") + 1]
        return "\n".join(lines)

    def capital_copy(self, i: int, rng: random.Random) -> str | None:
        en_segments = segment_text(self.en[i][FIELD], "en").segments

        def pick(segments: list[str]) -> tuple[int, str] | None:
            options = []
            for k in range(min(len(segments), len(en_segments))):
                # words an engine leaves together: no punctuation between them, not the sentence's first
                tokens = en_segments[k].split()[1:]
                for n in (2, 3):
                    for a in range(len(tokens) - n + 1):
                        window = tokens[a: a + n]
                        # a name ("I" is not one) beside a common word of 4+ letters, as partial_copy's
                        if (all(re.fullmatch(r"[A-Za-z][a-z']*", w) for w in window)
                                and any(w[0].isupper() and w != "I" for w in window)
                                and any(w.islower() and len(w) >= 4 for w in window)):
                            options.append((k, window))
            options = [(k, w) for k, w in options if len(_WORD_RE.findall(segments[k])) > len(w)]
            return _copy_window(segments, options, rng)

        return _edit_segment(self.pt[i][FIELD], pick)

    def line_append(self, i: int, rng: random.Random) -> str | None:
        text = self.pt[i][FIELD]
        lines = text.split("\n")
        if sum(bool(line.strip()) for line in lines) < 2 or any(code for _, code in protected_spans(text)):
            return None
        options = [k for k, line in enumerate(lines) if line.strip() and not ends_sentence(line)]
        if not options:
            return None
        k = rng.choice(options)
        own = set(segment_text(self.pt[i][FIELD], LANG).segments)
        lines[k] = lines[k].rstrip() + " " + rng.choice([s for s in self.sentences if s not in own])
        return "\n".join(lines)


BackTranslate = Callable[[list[str]], list[str]]


@dataclass
class Sensitivity:
    clean_n: int
    clean_flagged: int
    clean_by_check: Counter
    classes: dict[str, ClassResult]
    excluded: list[str]  # ids of rows that fail when clean
    scored: list[dict] = field(default_factory=list)  # the uncorrupted corpus as score_language returned it

    @property
    def false_alarm_rate(self) -> float:
        return self.clean_flagged / self.clean_n if self.clean_n else 0.0


def measure(spec: DatasetSpec, en: list[dict], pt: list[dict], back_translate: BackTranslate, qa: QAConfig,
            classes: Sequence[str] = CLASSES, chunks: int = 5, seed: int = 0,
            clean: Collection[int] | None = None, eligible: Collection[int] | None = None) -> Sensitivity:
    """Corrupt each eligible row once per class (1/chunks of the rows at a time, so the corpus the QA stage
    learns its bounds from stays mostly clean) and score; see the module docstring. `clean`: the rows known
    to be correct translations (a labelled set): only they count as false alarms; `eligible`: the rows that
    may be corrupted (default: `clean`), rows that fail uncorrupted never are."""
    failing = failing_flags(qa, LANG)
    clean_rows, _ = score_language(spec, LANG, [dict(r) for r in pt], en, qa)
    known = set(range(len(pt))) if clean is None else set(clean)
    clean_fail = {i for i, r in enumerate(clean_rows) if not r["qa_pass"] and i in known}
    result = Sensitivity(len(known), len(clean_fail),
                         Counter(f for i in clean_fail for f in clean_rows[i]["qa_flags"] if f in failing), {},
                         [str(spec.row_id(clean_rows[i])) for i in sorted(clean_fail)], clean_rows)
    usable = {i for i in (known if eligible is None else set(eligible)) if clean_rows[i]["qa_pass"]}
    corruptor = Corruptor(en, pt)
    table = corruptor.classes()
    bar = progress(total=len(classes) * chunks, desc="qa sensitivity", unit="run")
    for name in classes:
        rng = random.Random(f"{seed}-{name}")
        corrupted = {i: out for i in range(len(pt)) if i in usable
                     if (out := table[name].apply(i, rng)) is not None and out != pt[i][FIELD]}
        backs = dict(zip(corrupted, back_translate(list(corrupted.values())), strict=True))
        res = ClassResult(name)
        for c in range(chunks):
            bar.update()
            part = [i for i in corrupted if i % chunks == c]
            if not part:
                continue
            rows = [dict(r) for r in pt]
            for i in part:
                rows[i] = dict(rows[i], **{FIELD: corrupted[i], f"bt_{FIELD}": backs[i]})
            scored, _ = score_language(spec, LANG, rows, en, qa)
            for i in part:
                res.n += 1
                new = [f for f in scored[i]["qa_flags"] if f in failing]
                res.detected += not scored[i]["qa_pass"]
                res.by_check.update(set(new) - set(clean_rows[i]["qa_flags"]))
                if len(res.examples) < 3 or (not new and sum(e[1] == "-" for e in res.examples) < 3):
                    res.examples.append((corrupted[i][:160], ",".join(new) or "-"))
        result.classes[name] = res
    bar.close()
    return result


def table(result: Sensitivity) -> str:
    """The benchmark's Markdown table: per class, rows, detection, goal and the checks that fired."""
    lines = ["| corruption | rows | detected | goal | checks that fired (share of corrupted rows) |",
             "|---|---|---|---|---|"]
    for name, res in result.classes.items():
        goal = GOALS.get(name)
        met = "" if goal is None else (" (met)" if res.rate >= goal else " (**not met**)")
        checks = ", ".join(f"{c} {n / res.n:.0%}" for c, n in res.by_check.most_common() if res.n) or "–"
        lines.append(f"| {name}: {DESCRIPTIONS[name]} | {res.n} | {res.rate:.0%} | "
                     f"{'–' if goal is None else f'≥ {goal:.0%}'}{met} | {checks} |")
    checks = ", ".join(f"{c} {n}" for c, n in result.clean_by_check.most_common()) or "none"
    met = "met" if result.false_alarm_rate <= MAX_FALSE_ALARMS else "**not met**"
    lines.append(f"| clean rows flagged (false alarms) | {result.clean_n} | {result.false_alarm_rate:.1%} | "
                 f"≤ {MAX_FALSE_ALARMS:.0%} ({met}) | {checks} |")
    return "\n".join(lines)


def translate_corpus(en: list[dict], memory) -> tuple[list[dict], list[dict], Callable[[list[str]], list[str]]]:
    """English benign rows -> (en with bt_ fields = itself, pt rows with their back-translations, back_translate)
    through bergamot, with `memory` (a builders.memory.TranslationMemory, closed by the caller) as the cache: the
    corpus the sensitivity measurement corrupts (benchmarks/qa_sensitivity.py, its test)."""
    from builders.build import translate_fields
    from builders.engines import get_engine
    from builders.translate import translate_texts
    from safedrift.core.specs import BENIGN

    engine = get_engine("bergamot")
    fields = BENIGN.text_fields
    fwd, _ = translate_fields(en, fields, engine, "en", "pt", memory, 64, "en->pt")
    pt = [dict(r, **parts, language="pt") for r, parts in zip(en, fwd, strict=True)]
    back, _ = translate_fields(pt, fields, engine, "pt", "en", memory, 64, "pt->en")
    for row, parts in zip(pt, back, strict=True):
        row.update({f"bt_{f}": v for f, v in parts.items()})
    en = [dict(r, **{f"bt_{f}": r[f] for f in fields}) for r in en]

    def back_translate(texts: list[str]) -> list[str]:
        return translate_texts(texts, engine=engine, source="pt", target="en", memory=memory, progress=False)[0]

    return en, pt, back_translate
