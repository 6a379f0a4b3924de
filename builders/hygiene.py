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
   "No input") is cleared; a row whose output is one ("<nooutput>", "N/A") is dropped. A field that *starts*
   with a `<nooutput>`/`<noinput>` tag is a placeholder whatever follows it: Alpaca's "<nooutput> This type
   of instruction cannot be fulfilled by a GPT model." says so itself, so this rule drops it with the safety
   filter off too.
3. **Exact duplicates** (always): a row whose instruction, input and output equal an earlier row's (in any
   source) is dropped.
4. The safety filter (builders.sources, `benign.safety_filter`) then drops refusals, safety lectures and the
   "... cannot be done by a GPT model" family of non-answers (MODEL_LIMITATION), each rule counted.
5. **Language-bound tasks** (`benign.hygiene.language_bound: drop | keep`): tasks whose answer depends on
   English itself and stops making sense once translated — correcting the spelling or grammar of English
   text, rhymes and verse forms (a poem, song or verse whose answer rhymes counts even when the instruction
   only says "poem"), anagrams and palindromes, puns and tongue twisters, letters and syllables (acronym
   expansions too: the answer to "What does DNA stand for?" spells the English acronym, its translation does
   not), and translation tasks ("translate into English"). Programming tasks are exempt ("a function that
   checks for palindromes" works in any language).
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


# "<nooutput>", "< no_output >", "<noinput>" at the start of a field: the dataset's own mark that the field
# has no content; text after it is a note on why ("<nooutput> This type of instruction cannot be fulfilled
# by a GPT model."), never the content.
PLACEHOLDER_TAG = re.compile(r"\s*<\s*no\s*_?(?:output|input)\s*>", re.IGNORECASE)


def is_placeholder(text: str) -> bool:
    """Whether a field holds a dataset placeholder instead of content: a whole-field placeholder ("N/A",
    "<nooutput>") or a field that starts with a `<nooutput>`/`<noinput>` tag ("None" is not one: it can be an
    answer)."""
    return text.strip().lower() in PLACEHOLDERS or PLACEHOLDER_TAG.match(text) is not None


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


# "What does DNA stand for?", "the full form of NASA", "the abbreviation for Mister": an upper-case acronym of
# two or more letters asked to be spelled out, or an abbreviation asked for (the acronym matched on the original
# case, so "what the protesters stand for" is not one; "expand the paragraph about NASA" is not one either).
_ACRONYM = re.compile(
    r"\b[A-Z][A-Z0-9&.]*[A-Z]\b\W{0,3}\s+(?:stands?|standing) for\b"
    r"|\b(?i:full form|long form|expansion) of\b[^.?!\n]{0,20}\b[A-Z][A-Z0-9&.]*[A-Z]\b"
    r"|\b(?i:abbreviat\w*|initialisms?)\b")
# A request for verse whose rhymes an answer may carry without the instruction saying "rhyme".
_VERSE_REQUEST = re.compile(r"\b(?:poems?|poetry|verses?|stanzas?|couplets?|ballads?|odes?|songs?|lyrics|"
                            r"jingles?|chants?|lullab(?:y|ies))\b")
_LAST_WORD = re.compile(r"([a-z']+)[^a-z]*$")
_RHYME_TAIL = re.compile(r"[aeiouy]+[^aeiouy]*$")


def _rhyme_key(line: str) -> tuple[str, str] | None:
    """(last word, its rhyming tail: the last vowel group and what follows, "night" -> "ight"), or None."""
    word = _LAST_WORD.search(line.lower())
    if not word:
        return None
    tail = _RHYME_TAIL.search(word.group(1).rstrip("'"))
    return (word.group(1), tail.group(0)) if tail else None


def rhymes(text: str) -> bool:
    """Whether at least half of the lines (four or more) end in a word that rhymes with a different word ending
    one of the next two lines (couplets AABB and alternate rhymes ABAB). Spelling stands in for sound (the same
    last vowel group and what follows, or the same last two letters): "night/light", "day/way", "sea/free"
    rhyme, "blue/through" does not; enough to tell rhymed verse from free verse and prose."""
    keys = [_rhyme_key(line) for line in text.splitlines() if line.strip()]
    if len(keys) < 4:
        return False
    rhymed: set[int] = set()
    for i, key in enumerate(keys):
        for j in (i + 1, i + 2):
            other = keys[j] if j < len(keys) else None
            if key and other and key[0] != other[0] and (key[1] == other[1] or key[0][-2:] == other[0][-2:]):
                rhymed |= {i, j}
    return 2 * len(rhymed) >= len(keys)


def language_bound_rule(instruction: str, output: str = "") -> str | None:
    """The first language-bound rule a task matches, or None: the instruction's wording, plus an acronym to
    spell out and a request for verse whose `output` rhymes. Programming tasks are never language-bound."""
    low = instruction.lower()
    if _PROGRAMMING.search(low):
        return None
    for rule, pattern in LANGUAGE_BOUND.items():
        if pattern.search(low):
            return rule
    if _VERSE_REQUEST.search(low) and rhymes(output):
        return "rhyme_verse"
    if _ACRONYM.search(instruction):
        return "letters_syllables"
    return None
