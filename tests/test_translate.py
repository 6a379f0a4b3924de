"""translate_texts: dedupe, memory reuse, crash-resume, reassembly; and the engine registry."""

from __future__ import annotations

import pytest
from support.tiny_argos import build_tiny_argosmodel

from builders.engines import engine_names, get_engine
from builders.engines.argos import install_argos_package
from builders.memory import TranslationMemory
from builders.translate import TranslationStats, translate_texts
from safedrift.core.errors import ConfigError

pytestmark = pytest.mark.usefixtures("isolated_home")


class Counting:
    """Wraps a real engine and records every batch it is asked to translate."""

    def __init__(self, engine, fail_on_call: int | None = None):
        self.engine = engine
        self.name = engine.name
        self.calls: list[list[str]] = []
        self.fail_on_call = fail_on_call

    def model_id(self, source, target):
        return self.engine.model_id(source, target)

    def supports(self, source, target):
        return self.engine.supports(source, target)

    def install_hint(self, source, target):
        return self.engine.install_hint(source, target)

    def translate_batch(self, segments, source, target):
        if self.fail_on_call is not None and len(self.calls) + 1 == self.fail_on_call:
            raise KeyboardInterrupt  # a kill in the middle of the run
        self.calls.append(list(segments))
        return self.engine.translate_batch(segments, source, target)


class Upper:
    """A deterministic real engine for driver tests: upper-cases text but keeps sentinels."""

    name = "upper"

    def model_id(self, source, target):
        return "upper-1"

    def supports(self, source, target):
        return True

    def install_hint(self, source, target):
        return "none needed."

    def translate_batch(self, segments, source, target):
        import re

        return [re.sub(r"[a-z]+", lambda m: m.group(0).upper(), s) for s in segments]


TEXTS = [
    "Write a poem about {topic}. Keep it short.",
    "Keep it short.",
    "",
    "   \n",
    "Steps:\n1. Run `make test`.\n2. Open https://example.org/a_b?x=1 in a browser.\n",
    "```python\nprint('only code')\n```",
    "Write a poem about {topic}. Keep it short.",
]


def test_translates_dedupes_and_reassembles(tmp_path):
    engine = Counting(Upper())
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        out, stats = translate_texts(
            TEXTS, engine=engine, source="en", target="de", memory=tm, batch_segments=2, progress=False
        )
    assert out[0] == "WRITE A POEM ABOUT {topic}. KEEP IT SHORT."
    assert out[1] == "KEEP IT SHORT."
    assert out[2] == "" and out[3] == "   \n"
    assert out[4] == "STEPS:\n1. RUN `make test`.\n2. OPEN https://example.org/a_b?x=1 IN A BROWSER.\n"
    assert out[5] == TEXTS[5]
    assert out[6] == out[0]
    # segments: 2 + 1 + 3 (Steps:, Run, Open) + 2 = 8; unique: 5
    assert stats == TranslationStats(segments=8, unique=5, memory_hits=0, translated=5)
    sent = [s for call in engine.calls for s in call]
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 5
    assert [len(c) for c in engine.calls] == [2, 2, 1]
    assert [len(s) for s in sent] == sorted(len(s) for s in sent)  # shortest first


def test_same_language_and_blank_texts_pass_through(tmp_path):
    engine = Counting(Upper())
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        out, stats = translate_texts(
            TEXTS, engine=engine, source="en", target="en", memory=tm, progress=False
        )
        assert out == TEXTS and engine.calls == [] and tm.count() == 0
        out, stats = translate_texts(
            ["", " ", "\n\n"], engine=engine, source="en", target="de", memory=tm, progress=False
        )
    assert out == ["", " ", "\n\n"] and engine.calls == [] and stats.segments == 0


def test_a_killed_run_resumes_without_translating_anything_twice(tmp_path):
    texts = [f"Sentence number {word} is here." for word in "one two three four five six seven".split()]
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        crashing = Counting(Upper(), fail_on_call=3)
        with pytest.raises(KeyboardInterrupt):
            translate_texts(
                texts, engine=crashing, source="en", target="de", memory=tm, batch_segments=2, progress=False
            )
        assert tm.count() == 4  # two chunks were committed before the kill

    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        engine = Counting(Upper())
        out, stats = translate_texts(
            texts, engine=engine, source="en", target="de", memory=tm, batch_segments=2, progress=False
        )
        assert stats.memory_hits == 4 and stats.translated == 3
        assert sum(len(c) for c in engine.calls) == 3
        assert tm.max_times_translated() == 1
    assert out == [t.upper() for t in texts]


def test_argos_through_translate_texts_restores_protected_spans_and_reuses_memory(tmp_path):
    packages = tmp_path / "pk"
    install_argos_package(build_tiny_argosmodel(tmp_path / "dl", "en", "de"), packages)
    argos = get_engine("argos", packages_dir=packages, beam_size=2, max_decoding_length=16)
    texts = [
        "Call {name} at 12:30 and run `make test`.",
        "Read https://example.org/guide before 2024. Then write 3 lines.",
        "```\ncode stays\n```\nAfter the block.",
    ]
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        first = Counting(argos)
        out, stats = translate_texts(texts, engine=first, source="en", target="de", memory=tm, progress=False)
        assert stats == TranslationStats(segments=4, unique=4, memory_hits=0, translated=4)
        assert all(isinstance(o, str) for o in out)
        # The random model drops sentinels; every protected span is put back anyway.
        for span in (
            "{name}",
            "12:30",
            "`make test`",
            "https://example.org/guide",
            "2024",
            "3",
            "```\ncode stays\n```\n",
        ):
            assert span in "".join(out), span
        assert tm.count(engine="argos", source="en", target="de") == 4

        again = Counting(argos)
        out2, stats2 = translate_texts(
            texts, engine=again, source="en", target="de", memory=tm, progress=False
        )
        assert again.calls == []
        assert stats2 == TranslationStats(segments=4, unique=4, memory_hits=4, translated=0)
        assert out2 == out
        assert tm.max_times_translated() == 1


def test_unsupported_pair_is_a_config_error(tmp_path):
    argos = get_engine("argos", packages_dir=tmp_path / "empty")
    with (
        TranslationMemory(tmp_path / "tm.sqlite") as tm,
        pytest.raises(ConfigError, match="cannot translate en->de"),
    ):
        translate_texts(["Hello."], engine=argos, source="en", target="de", memory=tm, progress=False)


def test_registry_names_and_errors():
    assert engine_names() == ["argos", "bergamot", "identity", "nllb"]
    assert get_engine("identity").translate_batch(["a _0_"], "en", "de") == ["a _0_"]
    with pytest.raises(
        ConfigError,
        match=r"unknown translation engine 'argoss'; did you mean 'argos'\? "
        r"known translation engines: argos, bergamot, identity, nllb",
    ):
        get_engine("argoss")
    with pytest.raises(ConfigError, match="known translation engines: argos, bergamot, identity, nllb"):
        get_engine("deepl")
    with pytest.raises(
        ConfigError, match="engine 'bergamot' has no option.* beam; its options: postprocess, threads"
    ):
        get_engine("bergamot", beam=3)
