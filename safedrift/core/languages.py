"""The language registry: adding a language is one entry in LANGUAGES."""

from __future__ import annotations

from dataclasses import dataclass, field

from safedrift.core.errors import ConfigError
from safedrift.core.registry import did_you_mean


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    script: str
    # engine name -> that engine's code for this language
    engine_codes: dict[str, str] = field(default_factory=dict)
    # sacrebleu BLEU tokenizer for text in this language ("13a", "intl", "zh", "char", ...)
    bleu_tokenize: str = "13a"
    # Whether sentences end with punctuation (Thai separates them with spaces): the segmenter splits
    # sentences only where they do.
    sentence_marks: bool = True

    def engine_code(self, engine: str) -> str:
        return self.engine_codes.get(engine, self.code)


SOURCE_LANGUAGE = "en"

LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in [
        Language("en", "English", "Latin", {"argos": "en", "bergamot": "en", "nllb": "eng_Latn"}),
        Language("ar", "Arabic", "Arabic", {"argos": "ar", "nllb": "arb_Arab"}, bleu_tokenize="intl"),
        Language("de", "German", "Latin", {"argos": "de", "nllb": "deu_Latn"}),
        Language("es", "Spanish", "Latin", {"argos": "es", "nllb": "spa_Latn"}),
        Language("fr", "French", "Latin", {"argos": "fr", "nllb": "fra_Latn"}),
        Language("hi", "Hindi", "Devanagari", {"argos": "hi", "nllb": "hin_Deva"}, bleu_tokenize="intl"),
        Language("pt", "Portuguese", "Latin", {"argos": "pt", "bergamot": "pt", "nllb": "por_Latn"}),
        Language("th", "Thai", "Thai", {"argos": "th", "nllb": "tha_Thai"}, bleu_tokenize="char",
                 sentence_marks=False),
        Language("zh", "Chinese", "Han", {"argos": "zh", "nllb": "zho_Hans"}, bleu_tokenize="zh"),
    ]
}

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "ar", "de", "es", "fr", "hi", "pt", "th", "zh")


def get_language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        known = ", ".join(sorted(LANGUAGES))
        raise ConfigError(f"unknown language {code!r};{did_you_mean(code, LANGUAGES)} known languages: {known}."
                          ) from None


def check_languages(codes: list[str]) -> list[str]:
    for code in codes:
        get_language(code)
    if len(set(codes)) != len(codes):
        raise ConfigError(f"languages are listed twice: {codes}.")
    return codes
