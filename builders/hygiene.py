"""Hygiene rules for benign fine-tuning rows: what is cleaned, what is dropped, and why, each rule counted.

Applied by builders.sources to every benign source, in this order:

1. **Characters** (always): control characters — NUL, ANSI escape sequences, every other C0/C1 control and
   DEL except newline and tab (a CR before a newline is dropped, a lone CR becomes a newline) — are removed;
   so are invisible format characters — zero-width space/joiners, word joiner, byte-order mark, and the
   bidirectional marks, embeddings, overrides and isolates (U+200E/F, U+202A–E, U+2066–9, U+061C). They are
   *removed with a count*, not rejected: the sources are English Hub datasets we cannot edit, these
   characters carry nothing a translation should keep, and a bidi override can make a row display in an order
   other than the one a model reads ("Trojan Source"). An emoji joined with U+200D becomes its parts.
2. **Placeholders** (`benign.hygiene.placeholders`): an input that is a placeholder ("<noinput>", "N/A",
   "No input") is cleared; a row whose output is one ("<nooutput>", "N/A") is dropped.
3. **Exact duplicates** (always): a row whose instruction, input and output equal an earlier row's (in any
   source) is dropped.
4. The safety filter (builders.sources, `benign.safety_filter`) then drops refusals, safety lectures and the
   "... cannot be done by a GPT model" family of non-answers (MODEL_LIMITATION), each rule counted.
5. **Language-bound tasks** (`benign.hygiene.language_bound: drop | keep`): tasks whose answer depends on
   English itself and stops making sense once translated — correcting the spelling or grammar of English
   text, rhymes and verse forms, anagrams and palindromes, puns and tongue twisters, letters and syllables,
   and translation tasks ("translate into English"). Programming tasks are exempt ("a function that checks
   for palindromes" works in any language).
"""

from __future__ import annotations

import re

# --- 1. characters -------------------------------------------------------------------------------------

_CONTROL_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # ANSI CSI sequence (colours, cursor moves)
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # ANSI OSC sequence (window titles, hyperlinks)
    r"|\x1b[@-Z\\-_]?"  # other escape, or a bare ESC
    r"|\r(?=\n)"  # the CR of a CRLF line ending
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"  # other C0 controls (not \t \n \r), DEL, C1 controls
)
_LONE_CR_RE = re.compile(r"\r")
INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE_CHARS}]")


def clean_text(text: str) -> tuple[str, int, int]:
    """(text without control and invisible characters, control characters removed, invisible removed).

    An ANSI escape sequence counts as the characters it spans."""
    removed = 0

    def drop(match: re.Match[str]) -> str:
        nonlocal removed
        removed += len(match.group(0))
        return ""

    text = _CONTROL_RE.sub(drop, text)
    text, lone_cr = _LONE_CR_RE.subn("\n", text)  # old Mac line endings: keep the line break
    text, invisible = _INVISIBLE_RE.subn("", text)
    return text, removed + lone_cr, invisible


# --- 2. placeholders -------------------------------------------------------------------------------------

PLACEHOLDERS = frozenset({
    "<noinput>", "<no input>", "noinput", "no input", "no input.", "no input required", "no input needed",
    "<nooutput>", "<no output>", "nooutput", "no output", "no output.", "<none>", "n/a", "n/a.", "na",
    "null", "nan", "-", "--", "...", "…",
})


def is_placeholder(text: str) -> bool:
    """Whether a field holds a dataset placeholder instead of content ("None" is not one: it can be an
    answer)."""
    return text.strip().lower() in PLACEHOLDERS


# --- 4. the "a GPT model cannot do this" family (used by the safety filter) --------------------------------

_MODEL = r"(?:a |an |the )?(?:gpt|language|ai|text[- ]based|computer|large language)(?:[- ]based)?(?: language)? model"
_SELF = r"an? (?:[\w-]+ ){0,2}(?:ai|gpt|language) model"  # "a text-based AI model", "an AI language model"
MODEL_LIMITATION = re.compile(
    r"\b(?:this|the|that|such an?|your)\s+(?:type of\s+|kind of\s+)?(?:instruction|task|request|question|"
    r"action|input)s?\s+(?:cannot|can't|can not|could not|is unable to|is not able to)\s+be\s+"
    r"(?:fulfilled|completed|done|performed|accomplished|carried out|executed|answered|generated|processed)"
    rf"|\b(?:cannot|can't|can not|unable to)\s+be\s+(?:\w+\s+){{1,2}}by\s+{_MODEL}"
    rf"|\bas\s+{_SELF}\b"
    r"|\bgpt models? (?:cannot|can't|can not|is not able to|are not able to|is unable to|are unable to|"
    r"do not have the ability|does not have the ability)"
    r"|\bi(?: am|'m) (?:just |only )?(?:a |an )?(?:text[- ]based|gpt|language model|ai model)"
)


def model_limitation(text: str) -> str | None:
    """The phrase that makes `text` a "a GPT model cannot do this" non-answer, or None."""
    m = MODEL_LIMITATION.search(text.lower().replace("\u2019", "'"))
    return m.group(0) if m else None


# --- 5. language-bound tasks ---------------------------------------------------------------------------

_LANGUAGES = (r"english|french|spanish|german|portuguese|italian|chinese|mandarin|japanese|korean|arabic|"
              r"hindi|thai|russian|dutch|latin|greek|turkish|swahili|polish|swedish|vietnamese|indonesian")
LANGUAGE_BOUND: dict[str, re.Pattern[str]] = {
    "grammar_spelling": re.compile(
        r"\b(?:correct|fix|check|proofread|edit|identify|find|spot|detect|rewrite|revise)\b[^.?!\n]{0,60}"
        r"\b(?:spelling|grammar|grammatical|typos?|misspell\w*|punctuation|capitali[sz]ation)\b"
        r"|\bgrammatically (?:correct|incorrect)\b|\bproofread\b|\bmisspell\w*\b"
        r"|\b(?:spelling|grammar|grammatical) (?:errors?|mistakes?)\b"),
    "rhyme_verse": re.compile(r"\b(?:rhym\w*|haikus?|limericks?|sonnets?|iambic)\b"),
    "anagram_palindrome": re.compile(r"\b(?:anagrams?|palindrom\w*)\b"),
    "pun_wordplay": re.compile(r"\b(?:puns?|tongue[- ]twisters?|alliterat\w*|spoonerisms?|homophones?)\b"),
    "letters_syllables": re.compile(
        r"\b(?:syllables?|vowels?|consonants?|acronyms?)\b"
        r"|\b(?:start|starts|starting|begin|begins|beginning|end|ends|ending)\s+with\s+(?:the\s+)?letter\b"
        r"|\bletters? (?:long|in (?:the|this|each) word)\b|\bhow many letters\b"),
    "translation": re.compile(
        rf"\btranslat\w*\b|\b(?:in|into|to) (?:plain |simple |proper )?(?:{_LANGUAGES})\b"
        rf"|\b(?:{_LANGUAGES}) (?:word|equivalent|phrase|sentence) for\b"),
}
_PROGRAMMING = re.compile(
    r"\b(?:function|program|code|script|algorithm|python|javascript|java|c\+\+|sql|regex|regular expression)\b")


def language_bound_rule(instruction: str) -> str | None:
    """The first language-bound rule an instruction matches, or None. Programming tasks are never
    language-bound."""
    low = instruction.lower()
    if _PROGRAMMING.search(low):
        return None
    for rule, pattern in LANGUAGE_BOUND.items():
        if pattern.search(low):
            return rule
    return None
