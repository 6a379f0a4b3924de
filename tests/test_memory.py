"""Translation memory: keys, n_translated, and durability across connections and crashes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from builders.memory import TranslationMemory
from safedrift.core.errors import DataError

REPO = Path(__file__).resolve().parents[1]
KEY = ("bergamot", "enpt-1693087644", "en", "pt")


def test_put_then_get(tmp_path):
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        assert tm.get_many(*KEY, ["Hello."]) == {}
        tm.put_many(*KEY, [("Hello.", "Olá."), ("Good night.", "Boa noite.")])
        assert tm.get_many(*KEY, ["Hello.", "Good night.", "Unknown."]) == {
            "Hello.": "Olá.",
            "Good night.": "Boa noite.",
        }
        assert tm.count() == 2
        assert tm.max_times_translated() == 1


def test_key_separates_engine_model_and_languages(tmp_path):
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        tm.put_many(*KEY, [("Hello.", "Olá.")])
        assert tm.get_many("bergamot", "enpt-9999", "en", "pt", ["Hello."]) == {}
        assert tm.get_many("argos", "enpt-1693087644", "en", "pt", ["Hello."]) == {}
        assert tm.get_many("bergamot", "enpt-1693087644", "en", "de", ["Hello."]) == {}
        tm.put_many("argos", "translate-en_de-1.0", "en", "de", [("Hello.", "Hallo.")])
        assert tm.count() == 2
        assert tm.count(engine="argos") == 1
        assert tm.count(source="en", target="pt") == 1
        assert tm.count(engine="bergamot", target="de") == 0


def test_putting_the_same_key_again_counts_and_overwrites(tmp_path):
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        tm.put_many(*KEY, [("Hello.", "Olá!")])
        tm.put_many(*KEY, [("Hello.", "Olá.")])
        assert tm.max_times_translated() == 2
        assert tm.get_many(*KEY, ["Hello."]) == {"Hello.": "Olá."}
        assert tm.count() == 1


def test_empty_memory_and_large_lookups(tmp_path):
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        assert tm.max_times_translated() == 0
        texts = [f"Sentence number {i}." for i in range(2500)]  # more than one IN (...) chunk
        tm.put_many(*KEY, [(t, t.upper()) for t in texts])
        got = tm.get_many(*KEY, texts)
        assert len(got) == 2500 and got["Sentence number 2499."] == "SENTENCE NUMBER 2499."


def test_committed_rows_are_visible_to_a_second_connection(tmp_path):
    path = tmp_path / "tm.sqlite"
    first = TranslationMemory(path)
    first.put_many(*KEY, [("Hello.", "Olá.")])
    second = TranslationMemory(path)  # first is still open
    assert second.get_many(*KEY, ["Hello."]) == {"Hello.": "Olá."}
    first.close()
    second.close()


def test_rows_survive_a_killed_process(tmp_path):
    """A writer killed right after put_many returns (no close, no atexit) keeps its rows."""
    path = tmp_path / "tm.sqlite"
    code = (
        "import os, sys\n"
        "from builders.memory import TranslationMemory\n"
        f"tm = TranslationMemory({str(path)!r})\n"
        f"tm.put_many(*{KEY!r}, [('Hello.', 'Olá.'), ('Bye.', 'Tchau.')])\n"
        "os._exit(9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO)
    assert proc.returncode == 9
    with TranslationMemory(path) as tm:
        assert tm.get_many(*KEY, ["Hello.", "Bye."]) == {"Hello.": "Olá.", "Bye.": "Tchau."}


def test_failed_put_rolls_back_the_whole_chunk(tmp_path):
    with TranslationMemory(tmp_path / "tm.sqlite") as tm:
        with pytest.raises(Exception):  # noqa: B017 - sqlite's own error type for a wrong binding
            tm.put_many(*KEY, [("ok.", "ok."), ("bad.", object())])
        assert tm.count() == 0


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "tm.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="not a usable translation memory"):
        TranslationMemory(path)
