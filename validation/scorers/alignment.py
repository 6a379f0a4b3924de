"""Alignment checks: each translated field must say what its source says, in the ways one can count.

Per field (instruction, input, output; each turn), source against translation:

- `sentence_count`: the same number of sentences, counted with the splitter the build translates with
  (builders/segments.py); a dropped or an inserted sentence changes it. Column `sentence_counts`:
  {field: [source, translation]}. Lines and list items count too (validation/scorers/notation.py): the
  same number of lines, each ending a sentence where its source does; column `line_counts` where they differ.
- `symbols`: the same math and bracket symbols (notation.py). Column `symbols_mismatch`.
- `list_labels`: every "label: value" line keeps both sides (notation.py).
- `number_values`: the same values, written in digits or in words ("two" = "dois" = 2; "4x" states 4);
  validation/scorers/wordlists.py has the per-language tables. Column `number_mismatch`:
  {field: {"missing": [...], "extra": [...]}} for the fields that differ.
- `negation`: a negation marker in the same sentences (not/no/never/n't/without ... against não/nunca/sem,
  nicht/kein, 不/没, لا/لم, नहीं, ไม่ ...); when a field's sentences do not pair up, the marker counts may
  differ by `qa.negation_tolerance`. An English word with a negative affix (non-, un-, -less, -free) may
  become a não/sem in its sentence. Column `negation_counts`: {field: [source, translation]}.
- `copy_through`: `qa.copy_ngram` consecutive source words (not names, numbers or protected spans) found
  verbatim in the translation: words left in English, which a round trip through an engine that passes
  unknown English through cannot see. Phrases in `qa.copy_allow` may stay. Column `copied`: the phrases.

Code, URLs and the other protected spans are taken out of both texts first (they are checked byte for byte
by the structure checks). `qa.alignment_fail` (per language in `per_language`) says which flags fail a row;
the others are warnings.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from builders.segments import prose_only, segment_text
from safedrift.core.languages import SOURCE_LANGUAGE, get_language
from safedrift.core.log import track
from validation.scorers import LanguageContext, flag
from validation.scorers.notation import line_mismatch, lost_labels, symbol_mismatch
from validation.scorers.wordlists import (
    affix_markers,
    implicit_values,
    negation_count,
    negative_affixes,
    number_values,
    roman_values,
)

# Words for copy-through: letters only (numbers and protected spans break a phrase).
_COPY_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\S")
_SENTENCE_START = frozenset(".!?:;\"'“”«»()[]-•*#>|")
# A copied phrase in a Latin-script translation needs one word this long: "on a", "in an" are also French,
# German or Portuguese words, "jet lag" is not.
MIN_COPY_WORD = 4
# A capitalised word inside a sentence is taken for a name, which may stay as it is ("Lisbon", "Python"); a
# phrase with a name still counts as a copy when it also has a lowercase word of MIN_COPY_WORD letters
# ("visited Paris"; a capital at a sentence's start may be a name too) or one of these English words, which no name needs and no Latin-script target language
# writes: "the capital of Spain is Madrid" -> "A capital da Spain is Madrid" keeps "Spain is". Short
# prepositions, articles and "and" do not count: they occur inside names and titles a translation keeps
# ("Bank of America", "The Cat in the Hat", "Pride and Prejudice").
ENGLISH_ONLY = frozenset("is are was were has have had does did will would should could which who whose "
                         "this that these those its it they them their".split())


def sentences(text: str, lang: str) -> list[str]:
    return segment_text(text, lang).segments


def _runs(text: str) -> list[list[tuple[str, bool]]]:
    """Runs of (word, is_name) between punctuation, line breaks and protected spans."""
    runs: list[list[tuple[str, bool]]] = []
    for line in prose_only(text, blank=" | ").splitlines():
        run: list[tuple[str, bool]] = []
        start = True
        for tok in _COPY_TOKEN_RE.findall(line):
            if tok[0].isalpha():
                # A capital inside a sentence is a name (Lisbon, Python); so is an acronym (CPU).
                name = (tok[0].isupper() and not start) or (len(tok) > 1 and tok.isupper())
                run.append((tok, name))
                start = False
                continue
            if run:
                runs.append(run)
            run = []
            start = start or tok in _SENTENCE_START
        if run:
            runs.append(run)
    return runs


def source_phrases(text: str, n: int, latin_target: bool, names: bool = True) -> set[str]:
    """The n-word phrases of a source text that a translation should not contain (`names=False`: only the
    ones without a name)."""
    out = set()
    for run in _runs(text):
        for i in range(len(run) - n + 1):
            gram = run[i : i + n]
            # "pi x" or "x y" is notation; in a Latin-script translation "on a" or "as a" may be its own words
            has_name = any(is_name for _, is_name in gram)
            if has_name and (not names or not any(w.casefold() in ENGLISH_ONLY or (w.islower() and len(w) >= MIN_COPY_WORD)
                                                  for w, name in gram)):
                continue
            if max(len(w) for w, _ in gram) < (MIN_COPY_WORD if latin_target else 2):
                continue
            out.add(" ".join(w.casefold() for w, _ in gram))
    return out


def copied_phrases(source: str, translation: str, n: int, lang: str, allow: Sequence[str] = ()) -> list[str]:
    """Source phrases of n words (see source_phrases) found word for word in the translation."""
    def within(phrase: str, text: str) -> bool:
        return re.search(rf"(?<!\S){re.escape(phrase)}(?!\S)", text) is not None

    runs = _runs(translation)
    target = " ".join(w.casefold() for run in runs for w, _ in run + [("|", False)])
    # A source phrase of common words is not a copy where the translation writes it as a name: a title it
    # keeps in English ('"Honey Glazed Chicken Skewers"' beside the source's "the chicken skewers").
    unnamed = " ".join("|" if name else w.casefold() for run in runs for w, name in run + [("|", False)])
    allowed = " | ".join(" ".join(a.casefold().split()) for a in allow)
    latin = get_language(lang).script == "Latin"
    common = source_phrases(source, n, latin, names=False)
    return sorted(p for p in source_phrases(source, n, latin) if not within(p, allowed)
                  and within(p, unnamed if p in common else target))


def number_mismatch(source: str, translation: str, lang: str) -> dict | None:
    implicit = implicit_values(SOURCE_LANGUAGE, lang)
    want = number_values(prose_only(source, keep_numbers=True), SOURCE_LANGUAGE, implicit)
    got = number_values(prose_only(translation, keep_numbers=True), lang, implicit)
    if want == got:
        return None
    # A value written in Roman numerals on one side ("19th century" -> "século XIX") settles its digits.
    missing, extra = want - got, got - want
    missing -= roman_values(translation)
    extra -= roman_values(source)
    if not missing and not extra:
        return None
    return {"missing": sorted(missing.elements()), "extra": sorted(extra.elements())}


def negation_mismatch(src_sents: list[str], out_sents: list[str], lang: str, tolerance: int
                      ) -> tuple[list[int], bool] | None:
    """([source markers, translation markers], mismatch) or None when `lang` has no marker list.

    A translation's não/sem (AFFIX_MARKERS) may stand for an English word with a negative affix in the same
    sentence (non-renewable -> não renovável, gluten-free -> sem glúten): up to that many are not counted."""
    src_counts = [negation_count(s, SOURCE_LANGUAGE) or 0 for s in src_sents]
    out_counts = [negation_count(s, lang) for s in out_sents]
    if any(c is None for c in out_counts):
        return None
    affixes = [negative_affixes(s) for s in src_sents]
    if len(src_sents) == len(out_sents):
        # Only markers beyond the source's own can stand for an affix ("without" -> "sem" stays counted).
        out_own = [(b or 0) - min(k, affix_markers(t, lang), max((b or 0) - a, 0))
                   for a, b, k, t in zip(src_counts, out_counts, affixes, out_sents, strict=True)]
        counts = [sum(src_counts), sum(out_own)]
        # Sentence by sentence: a negated sentence must stay negated (double negatives count once).
        bad = any((a > 0) != (b > 0) for a, b in zip(src_counts, out_own, strict=True))
    else:
        total = sum(c or 0 for c in out_counts)
        excused = min(sum(affixes), sum(affix_markers(t, lang) for t in out_sents), max(total - sum(src_counts), 0))
        counts = [sum(src_counts), total - excused]
        bad = abs(counts[0] - counts[1]) > tolerance
    return counts, bad


class AlignmentScorer:
    name = "alignment"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        thr = ctx.thresholds
        n, tolerance = thr.copy_ngram, thr.negation_tolerance
        counts: Counter = Counter()
        for row, src in track(list(zip(rows, ctx.sources, strict=True)),
                              desc=f"alignment {ctx.dataset}/{ctx.lang}", unit="row"):
            row.update(sentence_counts={}, number_mismatch={}, negation_counts={}, copied=[], line_counts={},
                       symbols_mismatch={})
            if ctx.is_source:
                continue
            found: set[str] = set()
            for label, s, t in ctx.pairs(row, src):
                if not s.strip() or not t.strip():
                    continue  # an empty field is the structure check's `empty`
                src_sents, out_sents = sentences(s, SOURCE_LANGUAGE), sentences(t, ctx.lang)
                row["sentence_counts"][label] = [len(src_sents), len(out_sents)]
                if len(src_sents) != len(out_sents):
                    found.add("sentence_count")
                if (lines := line_mismatch(s, t)) is not None:
                    row["line_counts"][label] = lines
                    found.add("sentence_count")
                if (sym := symbol_mismatch(s, t)) is not None:
                    row["symbols_mismatch"][label] = sym
                    found.add("symbols")
                if lost_labels(s, t):
                    found.add("list_labels")
                if (mismatch := number_mismatch(s, t, ctx.lang)) is not None:
                    row["number_mismatch"][label] = mismatch
                    found.add("number_values")
                if (neg := negation_mismatch(src_sents, out_sents, ctx.lang, tolerance)) is not None:
                    row["negation_counts"][label] = neg[0]
                    if neg[1]:
                        found.add("negation")
                copied = copied_phrases(s, t, n, ctx.lang, thr.copy_allow)
                row["copied"] += [f"{label}: {p}" for p in copied]
                if copied:
                    found.add("copy_through")
            for name in sorted(found):
                flag(row, name)
                counts[name] += 1
        return {"alignment": {"flagged": dict(sorted(counts.items())), "copy_ngram": n,
                              "negation_tolerance": tolerance}}
