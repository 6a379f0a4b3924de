"""Back-translation metrics and language ID on real text."""

from __future__ import annotations

import pytest

from validation.metrics import corpus_scores, detect_language, sentence_scores


def test_identical_text_scores_100():
    assert sentence_scores("The cat sat on the mat.", "The cat sat on the mat.") == (100.0, 100.0)


def test_paraphrase_scores_between():
    chrf, bleu = sentence_scores("The cat was sitting on the mat.", "The cat sat on the mat.")
    assert 40 < chrf < 100 and 0 < bleu < 100


def test_corpus_signature_records_tokenizer():
    out = corpus_scores(["你好世界，今天天气很好。"], ["你好世界，今天天气不错。"], "zh")
    assert "tok:zh" in out["bleu_signature"]
    th = corpus_scores(["วันนี้อากาศดีมาก"], ["วันนี้อากาศดี"], "th")
    # Thai has no word spaces: BLEU on whitespace tokens would see one "word" and score 0
    assert "tok:char" in th["bleu_signature"] and th["bleu"] > 30
    assert out["chrf_signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no")


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Olá, como você está hoje? Eu gosto muito de programar em Python.", "pt"),
        ("Hello, how are you today? I really like programming in Python.", "en"),
        ("Hallo, wie geht es dir heute? Ich programmiere sehr gern.", "de"),
        ("你好，你今天怎么样？我很喜欢编程。", "zh"),
        ("สวัสดีครับ วันนี้คุณสบายดีไหม ผมชอบเขียนโปรแกรมมาก", "th"),
        ("مرحبا، كيف حالك اليوم؟ أحب البرمجة كثيرا.", "ar"),
        ("नमस्ते, आज आप कैसे हैं? मुझे प्रोग्रामिंग बहुत पसंद है।", "hi"),
    ],
)
def test_language_id(text, lang):
    code, score = detect_language(text)
    assert code == lang and 0.5 < score <= 1.0


def test_language_id_of_empty_text():
    assert detect_language("  \n ") == ("", 0.0)


def test_target_tokenizer_matters_for_unsegmented_scripts():
    """Chinese and Thai have no spaces between words: 13a sees one token per sentence and gives 0."""
    from sacrebleu.metrics import BLEU

    hyp, ref = "我们明天早上去公园散步。", "我们明天早上去公园跑步。"
    zh = sentence_scores(hyp, ref, "zh")[1]
    assert BLEU(tokenize="13a", effective_order=True).sentence_score(hyp, [ref]).score == 0.0
    assert 40 < zh < 100
    th_hyp, th_ref = "พรุ่งนี้เราจะไปเดินเล่นที่สวนสาธารณะ", "พรุ่งนี้เราจะไปวิ่งที่สวนสาธารณะ"
    assert BLEU(tokenize="13a", effective_order=True).sentence_score(th_hyp, [th_ref]).score == 0.0
    assert 40 < sentence_scores(th_hyp, th_ref, "th")[1] < 100
