"""The nllb engine on a tiny NLLB-format model converted here: language-code tokens, target prefix, the model
folder from options or the environment, protected spans through segments, translation-memory keys."""

from __future__ import annotations

import shutil

import pytest
from support.tiny_nllb import build_tiny_nllb, hf_tokenizer

from builders.cli import list_engines
from builders.engines import engine_names, get_engine
from builders.engines.nllb import MODEL_DIR_ENV
from builders.memory import TranslationMemory
from builders.translate import TranslationStats, translate_texts
from safedrift.core.errors import ConfigError
from safedrift.core.languages import LANGUAGES

pytestmark = pytest.mark.usefixtures("isolated_home")

NLLB_CODES = {"en": "eng_Latn", "ar": "arb_Arab", "de": "deu_Latn", "es": "spa_Latn", "fr": "fra_Latn",
              "hi": "hin_Deva", "pt": "por_Latn", "th": "tha_Thai", "zh": "zho_Hans"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_nllb(tmp_path_factory.mktemp("models") / "nllb-tiny-int8")


def _engine(model_dir, **options):
    # Random weights never choose </s>: a short max_decoding_length keeps the tests fast.
    return get_engine("nllb", model_dir=str(model_dir), beam_size=2, max_decoding_length=10, **options)


def test_codes_come_from_the_language_registry(model_dir):
    assert {code: lang.engine_code("nllb") for code, lang in LANGUAGES.items()} == NLLB_CODES
    engine = _engine(model_dir)
    assert (engine.device, engine.compute_type) == ("cpu", "int8") and "nllb" in engine_names()
    assert get_engine("nllb", model_dir=str(model_dir), device="cuda").compute_type == "float16"
    for code in NLLB_CODES:
        if code != "en":
            assert engine.supports("en", code) and engine.supports(code, "en")
    assert not engine.supports("en", "en")
    assert not engine.supports("en", "xx")  # no such language token in the model


def test_source_form_and_target_prefix_are_nllbs(model_dir):
    import ctranslate2
    import sentencepiece

    engine = _engine(model_dir)
    texts = ["Please bring two loaves of bread.", "", "Call _0_ at the station.", "  "]
    # The source is exactly what transformers' NllbTokenizer makes with src_lang set.
    tokenizer = hf_tokenizer(model_dir, "eng_Latn")
    for text in (texts[0], texts[2]):
        tokens = engine.source_tokens(text, "en")
        assert tokens == tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
        assert tokens[0] == "eng_Latn" and tokens[-1] == "</s>"
    assert engine.source_tokens("Olá.", "pt")[0] == "por_Latn"

    out = engine.translate_batch(texts, "en", "zh")
    assert out[1] == "" and out[3] == "  "
    sp = sentencepiece.SentencePieceProcessor(model_file=str(model_dir / "sentencepiece.bpe.model"))
    raw = ctranslate2.Translator(str(model_dir)).translate_batch(
        [engine.source_tokens(t, "en") for t in (texts[0], texts[2])],
        target_prefix=[["zho_Hans"]] * 2, beam_size=2, max_decoding_length=10)
    hyps = [r.hypotheses[0] for r in raw]
    assert all(h[0] == "zho_Hans" and len(h) > 1 for h in hyps)
    assert [out[0], out[2]] == [sp.decode_pieces(h[1:]).strip() for h in hyps]
    assert all(o.strip() and not o.startswith("zho_Hans") for o in (out[0], out[2]))
    # Another target gives another prefix and so another output.
    assert engine.translate_batch([texts[0]], "en", "pt") != [out[0]]


def test_protected_spans_survive_and_memory_is_keyed_by_nllb_and_model(model_dir, tmp_path):
    engine = _engine(model_dir)
    texts = ["Call {name} at 12:30 and run `make test`.",
             "Read https://example.org/guide before 2024. Then write 3 lines.",
             "```\ncode stays\n```\nAfter the block."]
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        out, stats = translate_texts(texts, engine=engine, source="en", target="de", memory=tm, progress=False)
        assert stats == TranslationStats(segments=4, unique=4, memory_hits=0, translated=4)
        for span in ("{name}", "12:30", "`make test`", "https://example.org/guide", "2024", "3",
                     "```\ncode stays\n```\n"):
            assert span in "".join(out), span
        model = engine.model_id("en", "de")
        assert model.startswith("nllb-tiny-int8-") and len(model) == len("nllb-tiny-int8-") + 12
        assert tm.count(engine="nllb", source="en", target="de") == 4
        stored = tm.get_many("nllb", model, "en", "de", ["Then write _0_ lines."])
        assert list(stored) == ["Then write _0_ lines."]
        again, stats2 = translate_texts(texts, engine=engine, source="en", target="de", memory=tm,
                                        progress=False)
        assert again == out and stats2.memory_hits == 4 and stats2.translated == 0


def test_model_id_follows_the_weights_not_only_the_folder_name(model_dir, tmp_path):
    same = shutil.copytree(model_dir, tmp_path / "a" / "nllb-tiny-int8")
    assert _engine(same).model_id("en", "de") == _engine(model_dir).model_id("en", "de")
    other = build_tiny_nllb(tmp_path / "b" / "nllb-tiny-int8", seed=1)
    assert _engine(other).model_id("en", "de") != _engine(model_dir).model_id("en", "de")


def test_model_folder_from_the_environment(model_dir, monkeypatch):
    monkeypatch.setenv(MODEL_DIR_ENV, str(model_dir))
    engine = get_engine("nllb")
    assert engine.model_dir == model_dir and engine.supports("en", "hi")
    # an explicit option wins over the environment
    assert not get_engine("nllb", model_dir=str(model_dir.parent / "elsewhere")).supports("en", "hi")


def test_missing_model_folder_is_one_sentence_with_the_conversion_command(tmp_path, monkeypatch):
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    for engine in (get_engine("nllb"), get_engine("nllb", model_dir=str(tmp_path / "nope"))):
        assert not engine.supports("en", "de")
        with pytest.raises(ConfigError) as err:
            engine.translate_batch(["Hello."], "en", "de")
        text = str(err.value)
        assert "\n" not in text
        assert ("ct2-transformers-converter --model facebook/nllb-200-distilled-600M --output_dir "
                in text)
        assert "--quantization int8 --copy_files sentencepiece.bpe.model" in text
        assert "translation.engine_options.nllb.model_dir" in text and MODEL_DIR_ENV in text
    no_tokenizer = tmp_path / "half"
    no_tokenizer.mkdir()
    (no_tokenizer / "model.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"has no sentencepiece\.bpe\.model; convert again with"):
        get_engine("nllb", model_dir=str(no_tokenizer)).model_id("en", "de")


def test_safedrift_engines_lists_nllb(model_dir, monkeypatch, capsys):
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    assert list_engines() == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("nllb:"))
    assert line.startswith("nllb: no en -> L model available; convert NLLB-200 once with `ct2-transformers")
    monkeypatch.setenv(MODEL_DIR_ENV, str(model_dir))
    list_engines()
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("nllb:"))
    assert line == "nllb: en -> ar, de, es, fr, hi, pt, th, zh"
