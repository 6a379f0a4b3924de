"""Source hygiene and hard input failures, each on a real file written here (no dataset text is copied:
every defective row below is ours)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from conftest import REPO
from support.loaders import load_benign

from builders.config import (
    BenignConfig,
    BenignSourceConfig,
    HygieneConfig,
    SorryBenchConfig,
    load_build_config,
)
from builders.hygiene import clean_text, is_placeholder, language_bound_rule, model_limitation, rhymes
from builders.sorry_bench import load_sorry_bench
from builders.sources import load_benign_dataset, refusal_rule
from safedrift.core.errors import DataError

pytestmark = pytest.mark.usefixtures("isolated_home")


def _rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _row(instruction: str, output: str, input: str = "") -> dict:
    return {"instruction": instruction, "input": input, "output": output}


def _dataset(*sources: Path, **options):
    hygiene = options.pop("hygiene", {})
    cfg = BenignConfig(sources=[BenignSourceConfig(name=p.stem, path=str(p)) for p in sources],
                       hygiene=HygieneConfig(**hygiene), test_fraction=0.5, **options)
    return load_benign_dataset(cfg)


FILLER = [_row("Name a colour of the sea.", "Blue, often with some green."),
          _row("Suggest a name for a grey cat.", "Pebble.")]


# --- characters --------------------------------------------------------------------------------------


def test_control_characters_are_removed_with_a_count(tmp_path):
    path = _rows(tmp_path / "ctrl.jsonl", [
        _row("Describe\u0000 the harbour at dawn.", "Boats\u0007 rock\tgently.\r\nGulls call."),
        _row("Say it in \u001b[1;31mred\u001b[0m.", "Red\u0085 is warm.\rIt glows."),
        *FILLER,
    ])
    # a raw control character inside a JSON string (invalid strict JSON, common in scraped dumps)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"instruction": "List two\x01 fruits.", "input": "", "output": "Apple and pear."}\n')
    loaded = _dataset(path)
    by_instruction = {r["instruction"]: r for r in loaded.rows}
    assert by_instruction["Describe the harbour at dawn."]["output"] == "Boats rock\tgently.\nGulls call."
    assert by_instruction["Say it in red."]["output"] == "Red is warm.\nIt glows."
    assert "List two fruits." in by_instruction
    hygiene = loaded.stats["hygiene"]
    # NUL, BEL, CR of CRLF (3) + two ANSI sequences of 7 and 4 characters, NEL, the lone CR (13) + SOH (1)
    assert hygiene["control_chars"] == {"rows": 3, "chars": 17}
    assert hygiene["invisible_chars"] == {"rows": 0, "chars": 0}
    assert "control characters (NUL, ANSI escapes, other C0/C1 controls) from **3** rows (17 characters)" in (
        loaded.filter_lines[0])


def test_invisible_and_bidi_characters_are_removed_with_a_count(tmp_path):
    path = _rows(tmp_path / "bidi.jsonl", [
        _row("Check the pass\u200bword rules.", "Use twelve characters or more."),
        # a right-to-left override that makes the row display differently from what a model reads
        _row("Rate this review.", "Good \u202eetis sihT\u202c overall.", input="\ufeffFive stars."),
        _row("Greet the \u2066team\u2069.", "Hello, team."),
        *FILLER,
    ])
    loaded = _dataset(path)
    texts = {r["instruction"]: r for r in loaded.rows}
    assert "Check the password rules." in texts
    assert texts["Rate this review."]["output"] == "Good etis sihT overall."
    assert texts["Rate this review."]["input"] == "Five stars."
    assert "Greet the team." in texts
    assert loaded.stats["hygiene"]["invisible_chars"] == {"rows": 3, "chars": 6}
    assert "invisible format characters (zero-width, bidi overrides) from **3** rows (6 characters)" in (
        loaded.filter_lines[0])
    # The cleaned text is what the id is made of: the same row without the characters has the same id.
    assert clean_text("a\u200bb\u202ec") == ("abc", 0, 2)


def test_a_field_that_is_only_control_characters_is_empty(tmp_path):
    path = _rows(tmp_path / "empty.jsonl", [*FILLER, _row("Say nothing.", "\u0000\u001b[0m")])
    with pytest.raises(DataError, match=r"empty\.jsonl:3: field 'output' is empty"):
        load_benign(BenignSourceConfig(name="t", path=str(path)))


# --- placeholders, duplicates ----------------------------------------------------------------------------


def test_placeholder_inputs_are_cleared_and_placeholder_outputs_dropped(tmp_path):
    path = _rows(tmp_path / "ph.jsonl", [
        _row("Write a tagline for a bakery.", "Fresh every morning.", input="<noinput>"),
        _row("Summarise the attached chart.", "<nooutput>"),
        _row("Describe the picture.", "N/A"),
        _row("Which of these numbers is negative: 3, 8, 12?", "None"),  # an answer, not a placeholder
        _row("Add a title.", "A Day by the Sea", input=" No input "),
        *FILLER,
    ])
    loaded = _dataset(path)
    rows = {r["instruction"]: r for r in loaded.rows}
    assert rows["Write a tagline for a bakery."]["input"] == ""
    assert rows["Add a title."]["input"] == ""
    assert rows["Which of these numbers is negative: 3, 8, 12?"]["output"] == "None"
    assert "Summarise the attached chart." not in rows and "Describe the picture." not in rows
    hygiene = loaded.stats["hygiene"]
    assert (hygiene["input_placeholders_cleared"], hygiene["placeholder_outputs_dropped"]) == (2, 2)
    assert ("cleared **2** placeholder inputs (`<noinput>`, `N/A`) and removed **2** rows whose response is a "
            "placeholder") in loaded.filter_lines[0]
    off = _dataset(path, hygiene={"placeholders": False})
    assert {r["output"] for r in off.rows} >= {"<nooutput>", "N/A"}
    assert "placeholder check off" in off.filter_lines[0]


# Alpaca's non-answer family: the dataset's own tag, then a note on why there is no answer (rows of ours).
NOOUTPUT = [
    _row("Record a voice memo for the team.", "<nooutput> This type of instruction cannot be fulfilled by a GPT model."),
    _row("Photograph the sunset.", "<nooutput>\nThe task needs a camera."),
    _row("Sing the chorus.", "< no_output > (audio only)"),
    _row("Open the attached file.", "<NOOUTPUT> The file is not available."),
]


def test_nooutput_family_is_dropped_by_the_placeholder_rule_with_the_safety_filter_off(tmp_path):
    kept_row = _row("Explain the tag.", "The <nooutput> tag marks a missing answer in some datasets.")
    path = _rows(tmp_path / "nooutput.jsonl", [
        *NOOUTPUT, kept_row,
        _row("Write a slogan for a library.", "Read more, worry less.", input="<noinput> (none needed)"),
        *FILLER,
    ])
    loaded = _dataset(path, safety_filter=False)
    rows = {r["instruction"]: r for r in loaded.rows}
    assert set(rows) == {kept_row["instruction"], "Write a slogan for a library.",
                         *(r["instruction"] for r in FILLER)}
    assert rows["Write a slogan for a library."]["input"] == ""
    hygiene = loaded.stats["hygiene"]
    assert (hygiene["input_placeholders_cleared"], hygiene["placeholder_outputs_dropped"]) == (1, 4)
    assert loaded.stats["safety_filter_dropped"] == 0
    assert "removed **4** rows whose response is a placeholder" in loaded.filter_lines[0]
    assert loaded.filter_lines[1] == "Safety filter: off (no rows removed)."
    # the tag inside the text is not a placeholder; without the placeholder rule the family stays
    assert not is_placeholder(kept_row["output"]) and is_placeholder(" <no input>") and is_placeholder("n/a")
    off = _dataset(path, safety_filter=False, hygiene={"placeholders": False})
    assert {r["output"] for r in NOOUTPUT} <= {r["output"] for r in off.rows}


def test_exact_duplicates_are_dropped_with_a_count_across_sources(tmp_path):
    twice = _row("Name a planet with rings.", "Saturn.")
    first = _rows(tmp_path / "first.jsonl", [twice, *FILLER, twice, {**twice, "output": "Saturn, mostly."}])
    # the same row again in a second source, once with a zero-width space that hygiene removes first
    second = _rows(tmp_path / "second.jsonl", [{**twice, "instruction": "Name a planet\u200b with rings."},
                                              _row("Name a moon of Mars.", "Phobos.")])
    loaded = _dataset(first, second)
    assert [r["output"] for r in loaded.rows if r["instruction"] == twice["instruction"]] == [
        "Saturn.", "Saturn, mostly."]
    assert loaded.stats["rows_per_source"] == {"first": 4, "second": 1}
    hygiene = loaded.stats["hygiene"]
    assert hygiene["duplicates_dropped"] == 2
    assert (hygiene["per_source"]["first"]["duplicates"], hygiene["per_source"]["second"]["duplicates"]) == (1, 1)
    assert hygiene["rows_read"] == 7
    assert "removed **2** exact duplicates (same instruction, input and response) of 7 rows read" in (
        loaded.filter_lines[0])


# --- the safety filter's rules --------------------------------------------------------------------------

LIMITATIONS = [
    "That kind of request cannot be fulfilled by a GPT model, it needs a printer.",
    "The task cannot be completed by a GPT model as it needs a camera.",
    "This request can not be done by a language model, since it involves a phone call.",
    "Sorry, as a text-based AI model I cannot draw the map.",
    "I'm a text-based assistant and cannot sing.",
    "GPT models cannot browse the web, so no answer is possible.",
]


@pytest.mark.parametrize("output", LIMITATIONS)
def test_model_limitation_family_is_a_refusal(output):
    assert model_limitation(output)
    assert refusal_rule(output)[0] == "model_limitation"


@pytest.mark.parametrize("output", [
    "A GPT model is a kind of language model trained to predict the next word.",
    "The storm was simulated as a computer model of the coast.",
    "The instruction manual cannot be found in the box; check the website.",
    "Language models can summarise long reports in seconds.",
])
def test_model_limitation_keeps_answers_about_models(output):
    assert model_limitation(output) is None and refusal_rule(output) is None


def test_safety_filter_counts_by_rule(tmp_path):
    path = _rows(tmp_path / "refusals.jsonl", [
        _row("Draw a map of the town.", LIMITATIONS[0]),
        _row("Phone my aunt.", LIMITATIONS[2]),
        _row("Tell me a secret.", "I'm sorry, but I can't share that."),
        _row("Pick a lock.", "I won't help, because that would be illegal."),
        *FILLER,
    ])
    loaded = _dataset(path)
    assert [r["instruction"] for r in loaded.rows] == [r["instruction"] for r in FILLER]
    assert loaded.stats["safety_filter_dropped"] == 4
    assert loaded.stats["safety_filter_by_rule"] == {"refusal_phrase": 1, "refusal_lecture": 1,
                                                     "model_limitation": 2}
    line = loaded.filter_lines[1]
    assert line.startswith("Safety filter: removed **4** of 6 rows")
    assert ("by rule: a refusal phrase 1, a first-person refusal next to a lecture word 1, “a language model "
            "cannot do this” 2") in line


# --- language-bound tasks ---------------------------------------------------------------------------

BOUND = {
    "Correct the spelling mistakes in this sentence.": "grammar_spelling",
    "Rewrite the paragraph so that it is grammatically correct.": "grammar_spelling",
    "Write a short poem in which every line rhymes with 'moon'.": "rhyme_verse",
    "Compose a haiku about a quiet harbour.": "rhyme_verse",
    "Find an anagram of the word 'listen'.": "anagram_palindrome",
    "Make a pun about bread.": "pun_wordplay",
    "Give five words that start with the letter B.": "letters_syllables",
    "How many syllables are in the word 'banana'?": "letters_syllables",
    "Translate the following sentence into English.": "translation",
    "What is the French word for apple?": "translation",
    "What does DNA stand for?": "letters_syllables",
    "What does the acronym NASA stand for?": "letters_syllables",
    "Give the full form of UNESCO.": "letters_syllables",
    "What is the abbreviation for Mister?": "letters_syllables",
    "Write a limerick about a lighthouse keeper.": "rhyme_verse",
}
# Instructions that only say "poem"/"song": language-bound when the answer rhymes (rows of ours).
RHYMED = ("The night is deep and still,\nthe moon is on the hill,\nthe cat is in the hay,\n"
          "and sleeps till break of day.")
FREE_VERSE = "Waves come in,\nthe harbour sleeps,\ngulls circle the mast,\nlamps go out one by one."
NOT_BOUND = [
    "Write a Python function that checks whether a string is a palindrome.",
    "Write a cover letter for a library assistant job.",
    "Explain how tides work.",
    "Give three tips for a job interview.",
    "Explain what the protesters stand for.",  # "stand for" without an acronym
    "What is the meaning of the word harbour?",
    "Expand the paragraph about NASA's missions.",  # "expand" as in elaborate
    "Explain the meaning of the UN charter.",
]


def test_language_bound_rules():
    for instruction, rule in BOUND.items():
        assert language_bound_rule(instruction) == rule, instruction
    for instruction in NOT_BOUND:
        assert language_bound_rule(instruction) is None, instruction


def test_a_poem_is_language_bound_when_its_answer_rhymes():
    assert rhymes(RHYMED) and not rhymes(FREE_VERSE)
    assert not rhymes("Night and light.")  # fewer than four lines: no verdict
    assert language_bound_rule("Write a poem about a sleepy cat.", RHYMED) == "rhyme_verse"
    assert language_bound_rule("Write a song for a night walk.", RHYMED) == "rhyme_verse"
    assert language_bound_rule("Write a poem about a harbour.", FREE_VERSE) is None
    assert language_bound_rule("Write a poem about a sleepy cat.") is None  # no answer given: the words only
    # a rhymed answer to a task that asks for no verse is not flagged
    assert language_bound_rule("Describe a quiet evening.", RHYMED) is None


def test_the_sample_release_hygiene_is_unchanged():
    """The hygiene rules on the embedded sample: no placeholder, the same three language-bound rows and the
    same four safety-filtered rows as before the "<nooutput>", acronym and rhyme rules (the sample's published
    data does not move)."""
    cfg = load_build_config(str(REPO / "configs/release/sample.yaml"))
    loaded = load_benign_dataset(cfg.benign)
    hygiene = loaded.stats["hygiene"]
    assert (hygiene["rows_read"], hygiene["input_placeholders_cleared"], hygiene["placeholder_outputs_dropped"],
            hygiene["duplicates_dropped"]) == (81, 0, 0, 0)
    assert hygiene["language_bound"]["ids"] == ["sample-2a933450664ee4d6", "sample-4dc52b7c9e7e9057",
                                                "sample-c4b5a847593103cc"]
    assert {k: v for k, v in hygiene["language_bound"]["by_rule"].items() if v} == {
        "grammar_spelling": 1, "rhyme_verse": 1, "translation": 1}
    assert (loaded.stats["safety_filter_dropped"], loaded.stats["rows"]) == (4, 77)
    # with the answers given, too (the rhyme rule reads them): the same three rows
    assert sorted(r["id"] for r in loaded.rows if language_bound_rule(r["instruction"], r["output"])) == \
        hygiene["language_bound"]["ids"]


@pytest.mark.parametrize("action", ["keep", "drop"])
def test_language_bound_tasks_are_counted_and_dropped_or_kept(tmp_path, action):
    path = _rows(tmp_path / "bound.jsonl", [_row(i, "An answer of ours.") for i in list(BOUND)[:6]]
                 + [_row(i, "Another answer.") for i in NOT_BOUND])
    loaded = _dataset(path, hygiene={"language_bound": action})
    kept = {r["instruction"] for r in loaded.rows}
    assert kept >= set(NOT_BOUND)
    assert (kept & set(BOUND)) == (set(list(BOUND)[:6]) if action == "keep" else set())
    bound = loaded.stats["hygiene"]["language_bound"]
    assert bound["action"] == action and bound["rows"] == 6 and len(bound["ids"]) == 6
    assert bound["by_rule"] == {"grammar_spelling": 2, "rhyme_verse": 2, "anagram_palindrome": 1,
                                "pun_wordplay": 1, "letters_syllables": 0, "translation": 0}
    line = loaded.filter_lines[2]
    assert line.startswith("Language-bound tasks (the answer depends on English itself")
    assert "**6** rows (spelling/grammar of English text 2, rhymes and verse forms 2, anagrams/palindromes 1, " \
           "puns and wordplay 1)" in line
    assert line.endswith("removed." if action == "drop" else "kept (`benign.hygiene.language_bound: keep`).")


# --- hard failures: one sentence naming the file ---------------------------------------------------


def _load(path: Path):
    return load_benign(BenignSourceConfig(name="t", path=str(path)))


def test_non_utf8_bytes_name_file_line_column_and_offset(tmp_path):
    path = tmp_path / "latin1.jsonl"
    good = json.dumps(_row("Name a drink.", "Tea.")).encode()
    bad = '{"instruction": "Name a caf\u00e9 dish.", "input": "", "output": "Soup."}'.encode("latin-1")
    path.write_bytes(good + b"\n" + bad + b"\n")
    with pytest.raises(DataError) as err:
        _load(path)
    column = bad.index(b"\xe9") + 1
    offset = len(good) + 1 + column - 1
    assert str(err.value) == (
        f"{path}:2: not UTF-8 text (byte 0xe9 at column {column}, byte offset {offset}); "
        "re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
    )
    sorry = tmp_path / "question.jsonl"
    sorry.write_bytes(b'{"question_id": 1, "category": "1", "turns": ["Caf\xe9?"], "prompt_style": "base"}\n')
    with pytest.raises(DataError, match=rf"{sorry}:1: not UTF-8 text \(byte 0xe9"):
        load_sorry_bench(SorryBenchConfig(path=str(sorry)))


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(FILLER[0]).encode() + b"\n")
    assert [r["instruction"] for r in _load(path)] == [FILLER[0]["instruction"]]


def test_gzip_where_jsonl_is_expected(tmp_path):
    text = "".join(json.dumps(r) + "\n" for r in FILLER).encode()
    disguised = tmp_path / "data.jsonl"
    disguised.write_bytes(gzip.compress(text))
    with pytest.raises(DataError) as err:
        _load(disguised)
    assert str(err.value) == (f"{disguised} is gzip-compressed, not JSON text; decompress it first "
                              f"(e.g. `gunzip -k {disguised}`).")
    named = tmp_path / "data.jsonl.gz"
    named.write_bytes(gzip.compress(text))
    with pytest.raises(DataError, match=r"data\.jsonl\.gz is gzip-compressed; decompress it first"):
        _load(named)
    parquet_named_jsonl = tmp_path / "table.json"
    parquet_named_jsonl.write_bytes(b"PAR1" + b"\x00" * 16)
    with pytest.raises(DataError, match=r"table\.json is a parquet file, not JSON text"):
        _load(parquet_named_jsonl)


def test_a_directory_or_a_pipe_as_the_source_file(tmp_path):
    folder = tmp_path / "alpaca.jsonl"
    folder.mkdir()
    with pytest.raises(DataError, match=rf"benign source path {folder} is a directory, not a file; point"):
        _load(folder)
    parquet_folder = tmp_path / "dolly.parquet"
    parquet_folder.mkdir()
    with pytest.raises(DataError, match="is a directory, not a file"):
        _load(parquet_folder)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)  # opening it would block forever: it must be refused before that
    with pytest.raises(DataError, match=rf"{fifo} is not a regular file \(a pipe, socket or device\)"):
        _load(fifo)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads a chmod 000 file anyway; the unreadable-file path is tested with "
                           "/proc/self/mem in the next test")
def test_unreadable_file_permission_denied(tmp_path):
    path = _rows(tmp_path / "locked.jsonl", FILLER)
    path.chmod(0)
    try:
        with pytest.raises(DataError, match=rf"cannot read benign source file {path}: permission denied"):
            _load(path)
    finally:
        path.chmod(0o644)


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_unreadable_file_read_error(tmp_path):
    # /proc/self/mem opens as a regular file and fails on read (EIO) for every user, root included.
    path = tmp_path / "broken.jsonl"
    path.symlink_to("/proc/self/mem")
    with pytest.raises(DataError) as err:
        _load(path)
    assert str(err.value) == (f"cannot read benign source file {path} (Input/output error); check the file "
                              "and the disk it is on.")
