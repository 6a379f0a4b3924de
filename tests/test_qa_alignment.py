"""The alignment checks' building blocks: number words and negation markers in nine languages, copy-through."""

from __future__ import annotations

import pytest

from safedrift.core.languages import DEFAULT_LANGUAGES
from validation.scorers.alignment import copied_phrases, negation_mismatch, number_mismatch, sentences
from validation.scorers.wordlists import (
    NEGATION_SUBSTRINGS,
    NEGATION_WORDS,
    NUMBER_WORDS,
    implicit_values,
    negation_count,
    number_values,
)


def values(text: str, lang: str) -> dict[str, int]:
    return dict(number_values(text, lang, implicit_values(lang)))


def test_every_default_language_has_number_words_and_negation_markers():
    assert set(DEFAULT_LANGUAGES) <= set(NUMBER_WORDS)
    assert set(DEFAULT_LANGUAGES) <= set(NEGATION_WORDS) | set(NEGATION_SUBSTRINGS)
    for lang, table in NUMBER_WORDS.items():
        # zero to twenty (Chinese and Thai compose 11-19 from ten and a unit), the tens, hundred, thousand
        assert {0, 2, 3, 9, 10, 100, 1000} <= set(table.values()), lang


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "Two or three times, twenty-five people, one hundred and five, 5,200 grams"),
    ("pt", "Duas ou três vezes, vinte e cinco pessoas, cento e cinco, 5.200 gramas"),
    ("es", "Dos o tres veces, veinticinco personas, ciento cinco, 5.200 gramos"),
    ("fr", "Deux ou trois fois, vingt-cinq personnes, cent cinq, 5 200 grammes"),
    ("de", "Zwei oder drei Mal, fünfundzwanzig Leute, hundertfünf, 5.200 Gramm"),
    ("ar", "مرتين أو ثلاث مرات، خمسة وعشرون شخصا، مائة وخمسة، ٥٢٠٠ غرام"),
    ("hi", "दो या तीन बार, बीस और पाँच लोग, एक सौ पाँच, 5,200 ग्राम"),
    ("zh", "两次或三次，二十五个人，一百零五个，5,200克"),
    ("th", "สองหรือสามครั้ง ยี่สิบห้าคน หนึ่งร้อยห้าคน 5,200 กรัม"),
])
def test_number_words_and_digits_state_the_same_values_in_every_language(lang, text):
    got = values(text, lang)
    if lang == "ar":  # Arabic says "twice" with the dual (مرتين), no number word
        assert got == {"3": 1, "25": 1, "105": 1, "5200": 1}
    elif lang == "hi":  # no tens+unit parser for Hindi's own 21-99 words: "twenty and five" is two values
        assert got == {"2": 1, "3": 1, "20": 1, "5": 1, "105": 1, "5200": 1}
    elif lang == "fr":  # "5 200" (a space as thousands separator) is two numbers
        assert got == {"2": 1, "3": 1, "25": 1, "105": 1, "5": 1, "200": 1}
    else:
        assert got == {"2": 1, "3": 1, "25": 1, "105": 1, "5200": 1}


def test_numbers_in_tokens_names_and_false_friends():
    assert values("Use 4x the dose, 200g, a 2/4 beat at 14:10", "en") == {
        "4": 2, "200": 1, "2": 1, "14": 1, "10": 1}
    assert values("mp3 files, x2 speed, python3, h264", "en") == {}  # names, not numbers
    assert values("one cup, a hundred, the red one", "en") == {"100": 1}  # "one" doubles as a pronoun
    assert values("10 por cento, cento e vinte", "pt") == {"10": 1, "120": 1}  # por cento is per cent
    assert values("三明治十分好吃，第三次，十分钟", "zh") == {"10": 1}  # sandwich, very, ordinal
    assert values("สามารถทำได้ ห้ามเข้า สามคน", "th") == {"3": 1}  # "can", "forbidden"
    assert values("quatre-vingt-dix-neuf", "fr") == {"99": 1}
    assert values("zweihundertdreiundvierzig", "de") == {"243": 1}
    assert values("1,299.50 and 1.299,50", "en") == {"129950": 2}


@pytest.mark.parametrize(("lang", "negated", "plain"), [
    ("en", "Don't do it; I cannot and never will, without help.", "Do it; I can and always will, with help."),
    ("pt", "Não faça isso; nunca sem ajuda.", "Faça isso; sempre com ajuda."),
    ("es", "No lo hagas; nunca sin ayuda.", "Hazlo; siempre con ayuda."),
    ("fr", "Ne le fais pas ; ce n'est jamais sans aide.", "Fais-le ; c'est toujours avec de l'aide."),
    ("de", "Tu es nicht; nie ohne Hilfe.", "Tu es; immer mit Hilfe."),
    ("ar", "لا تفعل ذلك؛ لم يكن بدون مساعدة.", "افعل ذلك؛ كان مع مساعدة."),
    ("hi", "यह मत करो; बिना मदद के नहीं।", "यह करो; मदद के साथ।"),
    ("zh", "不要这样做；没有帮助。", "这样做；有帮助。"),
    ("th", "อย่าทำอย่างนั้น ไม่มีความช่วยเหลือ", "ทำอย่างนั้น มีความช่วยเหลือ"),
])
def test_negation_markers_in_every_language(lang, negated, plain):
    assert negation_count(negated, lang) >= 2
    assert negation_count(plain, lang) == 0


def test_words_that_only_contain_a_negation_marker_do_not_count():
    assert negation_count("不同的人非常喜欢特别的东西", "zh") == 0  # different, very, special
    assert negation_count("อย่างไรก็ตาม ไม่ว่าอย่างไร", "th") == 0  # however, regardless
    assert negation_count("नहीं", "hi") == 1  # the vowel signs stay in the word
    assert negation_count("Eu não sei", "xx") is None


def test_negation_is_compared_sentence_by_sentence():
    en = sentences("It is cheap. It does not break.", "en")
    flipped = sentences("É barato. Quebra.", "pt")
    moved = sentences("Não é barato. Quebra.", "pt")
    kept = sentences("É barato. Não quebra, nunca.", "pt")  # a double negative is still one negated sentence
    assert negation_mismatch(en, flipped, "pt", 1) == ([1, 0], True)
    assert negation_mismatch(en, moved, "pt", 1) == ([1, 1], True)
    assert negation_mismatch(en, kept, "pt", 1) == ([1, 2], False)
    # sentences that do not pair up: counts, with the tolerance
    assert negation_mismatch(en, sentences("É barato e não quebra.", "pt"), "pt", 1) == ([1, 1], False)
    assert negation_mismatch(en, sentences("É barato e quebra.", "pt"), "pt", 0) == ([1, 0], True)


def test_number_mismatch_reports_missing_and_extra_values():
    assert number_mismatch("Add two eggs and 200 g of flour.", "Adicione dois ovos e 200 g de farinha.", "pt") is None
    assert number_mismatch("Add two eggs and 200 g of flour.", "Adicione três ovos e 250 g de farinha.", "pt") == {
        "missing": ["2", "200"], "extra": ["250", "3"]}
    # numbers inside code are the structure checks' business
    assert number_mismatch("Run it:\n```\nx = 5\n```", "Execute:\n```\nx = 6\n```", "pt") is None


def test_copy_through_finds_source_words_left_in_english_but_not_names_or_terms():
    src = "Preheat the oven to 200 degrees and bake the bread in New York for twenty minutes."
    assert copied_phrases(src, "Pré-aqueça o forno a 200 graus e asse o pão em New York por vinte minutos.", 2,
                          "pt") == []
    assert copied_phrases(src, "Pré-aqueça o forno a 200 graus and bake the bread em New York por vinte minutos.",
                          2, "pt") == ["and bake", "bake the", "the bread"]
    # a phrase kept in English on purpose
    text = "Como reduzir o jet lag ao voar com machine learning?"
    assert copied_phrases("How to reduce jet lag when flying with machine learning?", text, 2, "pt") == [
        "machine learning"]
    assert copied_phrases("How to reduce jet lag when flying with machine learning?", text, 2, "pt",
                          allow=["Machine  Learning"]) == []
    # in Chinese any copied phrase shows, short words included
    assert copied_phrases("Put it in a box", "把它放进 a box", 2, "zh") == ["a box"]
    # code and URLs are checked byte for byte elsewhere, not as copies
    assert copied_phrases("Call `load the data` at https://example.org/read the docs", "Chame `load the data` em "
                          "https://example.org/read os documentos", 2, "pt") == []
