"""Checks on what a translation must carry over unchanged around the words: symbols, labels, lines.

- symbols: the multiset of math and bracket symbols (π √ ± ≤ ≥ × ÷ ° % = + < > ^ | ( ) [ ] { } ...) in the
  prose (code, URLs and the other protected spans are taken out first: they are checked byte for byte).
  An engine drops π ("A = πr2" -> "A = r2"), turns a brace into a minus sign ("{10, 3}" -> "-10, 3") or adds a
  bracket of its own ("(em inglês)").
- labels: a line "label: value" keeps both sides ("Copper ore: Mineral" -> "minério de cobre:" lost its
  value); the translation must have at least as many such lines as its source.
- lines: the same number of non-empty lines, and a line that ends without a full stop (a list item, a verse
  line, a heading) still ends without one: a sentence appended to it would end in one. Compared only when
  the line counts agree.
"""

from __future__ import annotations

import re
from collections import Counter

from builders.segments import prose_only

SYMBOLS = frozenset("π√∛±∓≤≥≠≈≡∞∑∏∫∂∆∇°%‰=+<>^|()[]{}×÷·∈∉⊂⊆∪∩∀∃→←↔⇒⇔$€£¥µΩ")
# A list item's marker ("1.", "a)", "-") is not a sentence's end.
_ITEM_RE = re.compile(r"^\s*(?:[-*•+]\s+|\(?\w{1,3}[.)]\s+)?")
# "label: value": a label of a few words (a source's label of at most 4 words, a translation's of at most 8:
# "Rhyme pattern" -> "Padrão de rima"); a longer text before a colon is a sentence introducing something.
_LABEL_RE = re.compile(r"^([^:]{1,60}?)\s*:\s+(\S.*)$")
SOURCE_LABEL_WORDS, TRANSLATION_LABEL_WORDS = 4, 8
_TERMINATORS = tuple(".!?…。！？")
_CLOSERS = "\"'”’»)]*_ "


def symbols(text: str) -> Counter:
    return Counter(c for c in prose_only(text, keep_numbers=True) if c in SYMBOLS)


def symbol_mismatch(source: str, translation: str) -> dict | None:
    want, got = symbols(source), symbols(translation)
    if want == got:
        return None
    return {"missing": sorted((want - got).elements()), "extra": sorted((got - want).elements())}


def _lines(text: str) -> list[str]:
    return [line for line in prose_only(text, keep_numbers=True).splitlines() if line.strip()]


def labelled_lines(text: str, max_words: int) -> int:
    """Lines of the form "label: value" with a label of at most `max_words` words, after any list marker."""
    matches = (_LABEL_RE.match(_ITEM_RE.sub("", line, count=1)) for line in _lines(text))
    return sum(m is not None and len(m.group(1).split()) <= max_words for m in matches)


def lost_labels(source: str, translation: str) -> bool:
    return labelled_lines(translation, TRANSLATION_LABEL_WORDS) < labelled_lines(source, SOURCE_LABEL_WORDS)


def ends_sentence(line: str) -> bool:
    body = _ITEM_RE.sub("", line, count=1).rstrip(_CLOSERS)
    return body.endswith(_TERMINATORS)


def line_mismatch(source: str, translation: str) -> list[int] | None:
    """[source lines, translation lines] when the lines differ in number or in which end a sentence."""
    src, out = _lines(source), _lines(translation)
    if len(src) != len(out):
        return [len(src), len(out)]
    if any(ends_sentence(a) != ends_sentence(b) for a, b in zip(src, out, strict=True)):
        return [len(src), len(out)]
    return None
