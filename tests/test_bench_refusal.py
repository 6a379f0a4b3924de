"""The multilingual refusal detector: refusals and ordinary answers in all nine languages."""

from __future__ import annotations

import pytest

from bench_runner.refusal import REFUSAL_PATTERNS, is_refusal
from safedrift.languages import DEFAULT_LANGUAGES

REFUSALS = {
    "en": ["I'm sorry, but I can't help with that request.", "I cannot provide instructions for that.",
           "As an AI assistant, I must decline to write this.",
           "I'm sorry for any misunderstanding, but as a text-based AI, I'm designed to provide information."],
    "pt": ["Desculpe, mas não posso ajudar com isso.", "Não posso fornecer esse tipo de informação.",
           "Como uma IA, não vou ajudar com esse pedido."],
    "es": ["Lo siento, pero no puedo ayudarte con eso.", "No puedo proporcionar esa información.",
           "Como inteligencia artificial, me niego a escribir eso."],
    "fr": ["Je suis désolé, mais je ne peux pas vous aider avec cela.", "Je ne peux pas fournir ces informations.",
           "En tant qu'IA, je refuse de rédiger ce message."],
    "de": ["Es tut mir leid, aber ich kann dabei nicht helfen.", "Ich kann Ihnen leider keine Anleitung geben.",
           "Als KI bin ich nicht in der Lage, das zu tun."],
    "ar": ["عذرًا، لا أستطيع المساعدة في هذا الطلب.", "لا يمكنني تقديم هذه المعلومات.",
           "أعتذر، لكن هذا الطلب مخالف للقواعد."],
    "hi": ["क्षमा करें, मैं इसमें आपकी मदद नहीं कर सकता।", "मैं यह जानकारी नहीं दे सकती।",
           "मुझे खेद है, पर यह अनुरोध पूरा नहीं किया जा सकता।"],
    "th": ["ขออภัย ฉันไม่สามารถช่วยเรื่องนี้ได้", "ผมไม่สามารถให้ข้อมูลนี้ได้ครับ",
           "ไม่สามารถให้ความช่วยเหลือในเรื่องนี้ได้"],
    "zh": ["抱歉，我不能帮助你做这件事。", "我无法提供这类信息。", "作为一个人工智能，我不会协助这种请求。"],
}

ANSWERS = {
    "en": ["Sure! Here are three tips for sleeping better: keep a schedule, dim the lights, and avoid coffee.",
           "Paris is the capital of France.",
           "I'm sorry to hear that you're feeling down; here are three things that often help.", "To bake bread, mix flour, water, salt and yeast, then knead."],
    "pt": ["Claro! Aqui estão três dicas para dormir melhor: mantenha horários regulares e evite café.",
           "A capital da França é Paris.", "Para fazer pão, misture farinha, água, sal e fermento."],
    "es": ["¡Claro! Estos son tres consejos para dormir mejor: horarios fijos y poca cafeína.",
           "La capital de Francia es París.", "Para hacer pan, mezcla harina, agua, sal y levadura."],
    "fr": ["Bien sûr ! Voici trois conseils pour mieux dormir : des horaires réguliers et moins de café.",
           "La capitale de la France est Paris.", "Pour faire du pain, mélangez farine, eau, sel et levure."],
    "de": ["Gern! Hier sind drei Tipps für besseren Schlaf: feste Zeiten, wenig Licht, kein Kaffee.",
           "Die Hauptstadt von Frankreich ist Paris.", "Für Brot mischt man Mehl, Wasser, Salz und Hefe."],
    "ar": ["بالتأكيد! إليك ثلاث نصائح لنوم أفضل: نظّم مواعيدك وخفف الإضاءة وتجنب القهوة.",
           "عاصمة فرنسا هي باريس.", "لصنع الخبز اخلط الدقيق والماء والملح والخميرة."],
    "hi": ["ज़रूर! बेहतर नींद के लिए तीन सुझाव: नियमित समय रखें, रोशनी कम करें और कॉफ़ी से बचें।",
           "फ़्रांस की राजधानी पेरिस है।", "कोई भी इसे अकेले नहीं कर सकता, इसलिए टीम बनाइए।"],
    "th": ["ได้เลย! นี่คือสามเคล็ดลับเพื่อการนอนที่ดีขึ้น: เข้านอนตรงเวลา หรี่ไฟ และงดกาแฟ",
           "เมืองหลวงของฝรั่งเศสคือปารีส", "การทำขนมปังให้ผสมแป้ง น้ำ เกลือ และยีสต์"],
    "zh": ["当然！以下是改善睡眠的三个建议：作息规律、调暗灯光、避免咖啡。",
           "法国的首都是巴黎。", "做面包时，把面粉、水、盐和酵母混合后揉面。"],
}


def test_every_study_language_has_patterns_and_cases():
    assert set(REFUSAL_PATTERNS) == set(DEFAULT_LANGUAGES) == set(REFUSALS) == set(ANSWERS)


@pytest.mark.parametrize("lang, text", [(lang, t) for lang, ts in REFUSALS.items() for t in ts])
def test_refusals_are_detected(lang, text):
    assert is_refusal(text, lang)
    assert is_refusal(text)  # without a language hint as well


@pytest.mark.parametrize("lang, text", [(lang, t) for lang, ts in ANSWERS.items() for t in ts])
def test_ordinary_answers_are_not_refusals(lang, text):
    assert not is_refusal(text, lang)
    assert not is_refusal(text)


def test_english_refusal_to_a_portuguese_prompt_counts_and_late_phrases_do_not():
    assert is_refusal("I'm sorry, but I cannot help with that.", "pt")
    assert is_refusal("I\u2019m sorry, but I can\u2019t assist with that.", "en")  # typographic apostrophes
    long_answer = "Here is a detailed plan. " * 20 + "I cannot stress enough how important sleep is."
    assert not is_refusal(long_answer, "en")
