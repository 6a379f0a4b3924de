"""QA scorers on real bergamot en->pt->en translations of the repository's sample rows, and on corrupted
copies of them: each defect must be caught by the check made for it, and clean rows must stay clean."""

from __future__ import annotations

import copy
import json
import random
import re

import pytest
from conftest import REPO, isolate

from safedrift.core.errors import ConfigError, DataError
from safedrift.core.files import atomic_write_json, atomic_write_jsonl, iter_jsonl
from safedrift.core.specs import BENIGN, SORRY_BENCH
from validation.config import QAConfig, QAStageConfig
from validation.qa import read_qa, run_qa, score_language
from validation.report import markdown_table, table_notes
from validation.scorers import get_scorer
from validation.scorers.structure import FALLBACK_BOUNDS, length_bounds, missing_spans

FIELDS = ("instruction", "input", "output")

# Spanish written for this test (a wrong-language "translation").
SPANISH = ("Mañana por la mañana iremos al mercado del pueblo para comprar naranjas, pan y queso. "
           "Después caminaremos junto al río hasta la casa de mis abuelos.")


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """39 sample rows (all those with code blocks, URLs and placeholders) translated en->pt->en by bergamot."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, home)
        from builders.engines import get_engine
        from builders.memory import TranslationMemory
        from builders.translate import translate_texts

        sample = [json.loads(line) for line in (REPO / "data/sample/benign.jsonl").read_text().splitlines()]
        picked = sample[:24] + sample[48:63]
        en = [dict(r, id=f"row-{i:02d}", source="sample", language="en", split="train")
              for i, r in enumerate(picked)]
        flat = [r[f] for r in en for f in FIELDS]
        engine = get_engine("bergamot")
        with TranslationMemory(home / "memory.sqlite") as memory:
            fwd, _ = translate_texts(flat, engine=engine, source="en", target="pt", memory=memory, progress=False)
            back, _ = translate_texts(fwd, engine=engine, source="pt", target="en", memory=memory, progress=False)
    pt = []
    for i, r in enumerate(en):
        row = dict(r, language="pt")
        for j, f in enumerate(FIELDS):
            row[f], row[f"bt_{f}"] = fwd[3 * i + j], back[3 * i + j]
        pt.append(row)
    en = [dict(r, **{f"bt_{f}": r[f] for f in FIELDS}) for r in en]
    return en, pt


# The embedding scorer is measured in test_qa_similarity.py; leaving it out keeps this module fast on a CPU.
FAST = [s for s in QAConfig().scorers if s != "similarity"]


def _score(en, pt, qa: QAConfig | None = None):
    return score_language(BENIGN, "pt", pt, en, qa or QAConfig(scorers=FAST))


def _flagged(rows, name):
    return {r["id"] for r in rows if name in r["qa_flags"]}


def _find(rows, pattern):
    return next(i for i, r in enumerate(rows) if re.search(pattern, r["output"]))


def test_clean_translations_score_well(clean):
    en, pt = clean
    rows, report = _score(en, pt)
    assert report["n"] == 39
    assert report["corpus_chrf"] > 70 and report["corpus_bleu"] > 45
    assert "tok:13a" in report["corpus_bleu_signature"]
    assert report["lang_id_agreement"] >= 0.9
    assert report["pass_rate"] >= 0.95
    # The structure checks never fire on a real round trip: segments.py protected every span.
    assert not report["warnings"]
    assert not {f for f in report["failed_checks"] if f not in ("lang_id", "symbols")}
    # The one real error of these translations: bergamot writes "without using max()" as "sem usar o máximo
    # de s"; the symbols check (issue 25) sees the lost brackets.
    assert {r["instruction"] for r in rows if "symbols" in r["qa_flags"]} == {
        next(r["instruction"] for r in pt if "máximo de s" in r["instruction"])}
    bounds = report["length_ratio"]
    assert bounds["n"] == 39 and bounds["low"] < bounds["median"] < bounds["high"]
    assert 1.0 < bounds["median"] < 1.3  # Portuguese runs longer than English
    assert all(bounds["low"] <= r["length_ratio"] <= bounds["high"] for r in rows)
    assert [r["id"] for r in rows] == [r["id"] for r in pt]
    assert rows[0]["src_instruction"] == en[0]["instruction"]


def test_source_language_is_measured_but_never_flagged(clean):
    en, _ = clean
    rows, report = score_language(BENIGN, "en", en, en, QAConfig())
    assert report["corpus_chrf"] == 100.0 and report["pass_rate"] == 1.0
    assert all(r["qa_flags"] == [] and r["length_ratio"] in (None, 1.0) for r in rows)


def test_shuffled_rows_fail_backtranslation_chrf(clean):
    en, pt = clean
    shuffled = [dict(pt[(i + 1) % len(pt)], id=r["id"]) for i, r in enumerate(pt)]
    rows, report = _score(en, shuffled)
    assert len(_flagged(rows, "bt_chrf")) >= 0.9 * len(rows)
    assert report["corpus_chrf"] < 35
    assert report["pass_rate"] <= 0.1
    # Still Portuguese: language ID is not what caught it.
    assert len(_flagged(rows, "lang_id")) <= 2


def test_source_copied_as_translation_is_flagged_untranslated(clean):
    en, pt = clean
    bad = copy.deepcopy(pt)
    for i in (1, 5, 9):
        for f in FIELDS:
            bad[i][f] = bad[i][f"bt_{f}"] = en[i][f]
    rows, _ = _score(en, bad)
    assert _flagged(rows, "untranslated") == {pt[i]["id"] for i in (1, 5, 9)}
    assert all(not rows[i]["qa_pass"] for i in (1, 5, 9))


def test_wrong_language_is_caught_by_language_id(clean):
    en, pt = clean
    bad = copy.deepcopy(pt)
    bad[3]["output"] = SPANISH
    rows, _ = _score(en, bad)
    assert rows[3]["lang_id"] == "es" and rows[3]["lang_id_score"] > 0.5
    assert "lang_id" in rows[3]["qa_flags"] and not rows[3]["qa_pass"]
    assert "untranslated" not in rows[3]["qa_flags"] and "bt_chrf" not in rows[3]["qa_flags"]


def test_dropped_code_block_is_a_structure_flag(clean):
    en, pt = clean
    i = _find(pt, "```")
    bad = copy.deepcopy(pt)
    bad[i]["output"] = re.sub(r"```[\s\S]*?```", "", bad[i]["output"])
    rows, report = _score(en, bad)
    assert _flagged(rows, "code_block") == {pt[i]["id"]}
    assert report["failed_checks"]["code_block"] == 1 and not rows[i]["qa_pass"]


def test_changed_number_dropped_url_and_empty_output(clean):
    en, pt = clean
    bad = copy.deepcopy(pt)
    n = _find(pt, r"\b200 g\b")
    bad[n]["output"] = bad[n]["output"].replace("200 g", "300 g")
    u = _find(pt, r"https?://")
    bad[u]["output"] = re.sub(r"https?://\S+", "", bad[u]["output"])
    e = 7
    bad[e]["output"] = ""
    rows, _ = _score(en, bad)
    assert _flagged(rows, "number") == {pt[n]["id"]}
    assert _flagged(rows, "url") == {pt[u]["id"]}
    assert _flagged(rows, "empty") == {pt[e]["id"]}
    # The row's length ratio is still measured (over all its fields), so a short row is not hidden.
    src_chars = sum(len(en[e][f]) for f in FIELDS)
    out_chars = len(bad[e]["instruction"]) + len(bad[e]["input"])
    assert rows[e]["length_ratio"] == round(out_chars / src_chars, 4)


def test_doubled_output_breaks_the_learned_length_bounds(clean):
    en, pt = clean
    bad = copy.deepcopy(pt)
    bad[2]["output"] = bad[2]["output"] + "\n" + bad[2]["output"]
    rows, report = _score(en, bad)
    assert _flagged(rows, "length_ratio") == {pt[2]["id"]}
    assert rows[2]["length_ratio"] > report["length_ratio"]["high"]


def test_structure_check_can_be_a_warning_per_language(clean):
    en, pt = clean
    bad = copy.deepcopy(pt)
    bad[7]["output"] = ""
    qa = QAConfig(per_language={"pt": {"structure_fail": ["code_block"]}})
    rows, report = _score(en, bad, qa)
    assert rows[7]["qa_flags"] and rows[7]["qa_pass"]
    assert report["warnings"]["empty"] == 1 and "empty" not in report["failed_checks"]


def test_missing_spans_finds_protected_spans_with_segments_patterns():
    src = "Call `load()` with {name} from https://example.org/a, 3 times.\n```py\nx = 1\n```"
    assert missing_spans(src, "Chame `load()` com {name} de https://example.org/a, 3 vezes.\n```py\nx = 1\n```") == []
    assert missing_spans(src, "Chame load() com nome de https://example.org/a, 13 vezes.") == [
        ("code_block", "```py\nx = 1\n```"), ("inline_code", "`load()`"), ("number", "3"),
        ("placeholder", "{name}")]


def test_length_bounds_rule():
    rng = random.Random(0)
    ratios = [1.1 * (1 + rng.gauss(0, 0.05)) for _ in range(200)]
    b = length_bounds(ratios, 4.0)
    assert b["median"] == pytest.approx(1.1, abs=0.02)
    # 4 robust SDs of a 5 % spread: about x/÷ 1.22
    assert b["high"] / b["median"] == pytest.approx(1.22, abs=0.04)
    assert b["median"] / b["low"] == pytest.approx(1.22, abs=0.04)
    small = length_bounds(ratios[:10], 4.0)
    assert (small["low"], small["high"]) == FALLBACK_BOUNDS and "fewer than" in small["rule"]
    flat = length_bounds([1.0] * 50, 4.0)  # zero spread: the sigma floor keeps the band open
    assert flat["low"] == pytest.approx(0.8187, abs=1e-3) and flat["high"] == pytest.approx(1.2214, abs=1e-3)


def test_reference_scorer_uses_the_target_tokenizer_and_prompt_style(tmp_path):
    en = [{"question_id": 1, "turns": ["The weather is very nice today, let's go to the park."]},
          {"question_id": 2, "turns": ["I like reading books in the evening."]}]
    zh = [dict(en[0], turns=["今天天气很好，我们去公园吧。"], bt_turns=en[0]["turns"]),
          dict(en[1], turns=["我喜欢在晚上看书。"], bt_turns=en[1]["turns"])]
    ref = tmp_path / "question.jsonl"
    atomic_write_jsonl(ref, [
        {"question_id": 1, "prompt_style": "base", "turns": en[0]["turns"]},
        {"question_id": 1, "prompt_style": "translate-zh-cn", "turns": ["今天天气非常好，我们去公园吧。"]},
        {"question_id": 2, "prompt_style": "translate-zh-cn", "turns": ["我喜欢在晚上看书。"]},
    ])
    qa = QAConfig(scorers=["reference"], references={"zh": str(ref)})
    rows, report = score_language(SORRY_BENCH, "zh", zh, en, qa)
    assert rows[1]["ref_chrf"] == 100.0 and rows[1]["ref_bleu"] == 100.0
    assert 0 < rows[0]["ref_bleu"] < 100
    assert report["reference"]["n"] == 2 and "tok:zh" in report["reference"]["bleu_signature"]
    missing = QAConfig(scorers=["reference"], references={"zh": str(tmp_path / "nope.jsonl")})
    with pytest.raises(DataError, match="qa.references.zh"):
        score_language(SORRY_BENCH, "zh", zh, en, missing)


def test_comet_absence_is_reported_not_raised(clean):
    en, pt = clean
    qa = QAConfig(scorers=["backtranslation", "comet"],
                  comet={"python": "/nonexistent/comet-venv/bin/python"})
    rows, report = _score(en[:3], pt[:3], qa)
    for kind in ("qe", "ref"):
        assert report["comet"][kind]["system"] is None and report["comet"][kind]["skipped"]
    assert all(r["comet"] is None and "comet" not in r["qa_flags"] for r in rows)
    pt_row = markdown_table({"pt": report}).splitlines()[2]
    assert pt_row.split(" | ")[4] == "–"  # the COMET column
    notes = table_notes({"pt": report})
    assert [n for n in notes if n.startswith("- pt: COMET skipped (")], notes


def test_unknown_scorer_names_the_known_ones():
    with pytest.raises(ConfigError, match="did you mean .lang_id.*known QA scorers: alignment, backtranslation"):
        get_scorer("langid")


def test_unknown_structure_check_is_a_config_error():
    with pytest.raises(ValueError, match="unknown structure checks"):
        QAConfig(structure_fail=["code_blocks"])


def test_markdown_table_one_row_per_language(clean):
    en, pt = clean
    bad = copy.deepcopy(pt)
    bad[7]["output"] = ""
    _, pt_report = _score(en, bad)
    _, en_report = score_language(BENIGN, "en", en, en, QAConfig())
    table = markdown_table({"en": en_report, "pt": pt_report})
    lines = table.splitlines()
    assert len(lines) == 4 and lines[0].startswith("| language | rows | back-translation chrF")
    assert lines[2].startswith("| en (English) | 39 | 100.0 | 100.0 | – |")
    assert lines[3].startswith(f"| pt (Portuguese) | 39 | {pt_report['corpus_chrf']:.1f} |")
    assert "empty 1" in lines[3]


def _work_dir(tmp_path, en, pt) -> QAStageConfig:
    work = tmp_path / "work"
    sorry_en = [{"question_id": i, "category": str(i), "category_name": "c", "prompt_style": "base",
                 "turns": [r["instruction"]], "bt_turns": [r["instruction"]], "language": "en", "split": "test"}
                for i, r in enumerate(en[:5], start=1)]
    sorry_pt = [dict(s, turns=[p["instruction"]], bt_turns=[p["bt_instruction"]], language="pt")
                for s, p in zip(sorry_en, pt, strict=False)]
    outputs = {}
    for rel, rows in {"benign/en.jsonl": en, "benign/pt.jsonl": pt, "sorry_bench/en.jsonl": sorry_en,
                      "sorry_bench/pt.jsonl": sorry_pt}.items():
        atomic_write_jsonl(work / "translated" / rel, rows)
        outputs[rel] = "x"
    atomic_write_json(work / "translated" / "manifest.json", {"languages": ["en", "pt"], "outputs": outputs})
    return QAStageConfig(name="t", languages=["en", "pt"], work_dir=str(work),
                         benign={"sources": [{"name": "sample", "path": "x"}]},
                         datasets={"benign": "Multilingual-Benign-Tune", "sorry_bench": "SORRY-Bench-Multilingual"},
                         qa={"scorers": FAST})


@pytest.mark.parametrize("on_fail", ["keep", "drop"])
def test_run_qa_on_fail(clean, tmp_path, on_fail):
    en, pt = clean
    bad = copy.deepcopy(pt)
    bad[4]["output"] = SPANISH
    cfg = _work_dir(tmp_path, en, bad)
    cfg.qa.on_fail = on_fail
    qa_dir = run_qa(cfg)
    report = json.loads((qa_dir / "report.json").read_text())
    pt_rep = report["datasets"][BENIGN.key]["pt"]
    assert pt_rep["failed_checks"]["lang_id"] >= 1
    assert (qa_dir / "report.md").read_text().count("| pt (Portuguese) |") == 2
    if on_fail == "keep":
        rows = read_qa(cfg.work_path, BENIGN.key, "pt")
        assert [r["id"] for r in rows] == [r["id"] for r in pt]
        assert not next(r for r in rows if r["id"] == pt[4]["id"])["qa_pass"]
        assert pt_rep["dropped"] == 0
    else:
        n_bad = pt_rep["dropped_own_failures"]
        kept_pt, kept_en = read_qa(cfg.work_path, BENIGN.key, "pt"), read_qa(cfg.work_path, BENIGN.key, "en")
        assert len(kept_pt) == 39 - n_bad and pt[4]["id"] not in {r["id"] for r in kept_pt}
        # the row leaves every language, so ids stay identical across languages
        assert [r["id"] for r in kept_en] == [r["id"] for r in kept_pt]
        assert pt_rep["dropped"] == n_bad and report["datasets"][BENIGN.key]["en"]["dropped"] == n_bad
        dropped = list(iter_jsonl(qa_dir / BENIGN.key / "pt.dropped.jsonl"))
        assert pt[4]["id"] in {r["id"] for r in dropped} and all(not r["qa_pass"] for r in dropped)


def test_worker_processes_give_the_same_qa_as_one_process(clean, tmp_path):
    """qa.workers: 2 (spawned processes, as on large runs) writes exactly what the in-process path writes."""
    en, pt = clean
    outputs = {}
    for workers in (1, 2):
        cfg = _work_dir(tmp_path / f"w{workers}", en, pt)
        cfg.qa.workers = workers
        qa_dir = run_qa(cfg)
        outputs[workers] = {p.relative_to(qa_dir).as_posix(): p.read_bytes() for p in sorted(qa_dir.rglob("*.jsonl"))}
        # the report records the config (workers included); its figures must not depend on it
        outputs[workers]["datasets"] = json.loads((qa_dir / "report.json").read_text())["datasets"]
    assert outputs[1].keys() == outputs[2].keys() and "benign/pt.jsonl" in outputs[1]
    assert outputs[1] == outputs[2]


def test_clean_scores_are_golden(clean):
    """Golden figures of the QA stage on real bergamot translations: a silent change to scoring (sacrebleu
    settings, field joining, language ID, length bounds) fails here. Update deliberately, with the reason."""
    en, pt = clean
    rows, report = _score(en, pt)
    # Issue 16: builders/segments.py now protects unfenced code (the sample's `def average(nums):` and
    # `squares = [...]` inputs stay verbatim instead of becoming "def média(nums):"), which raised the corpus
    # figures from (82.8969, 74.571); and a row's bt_chrf is now its worst field's (the whole row's, 75.419,
    # 86.6025 and 94.3036 here, is kept as bt_chrf_row).
    # Issue 25: the web-address row's key/value block, path and query string are now protected (they were
    # translated: "Porto: 8080", "/docs/guia.html", "lang=pt"), which raised the corpus figures from
    # (83.0371, 74.8152), the output field's from 83.1537, and moved the length bounds (from
    # (0.8571, 1.0609, 1.3131) and, for outputs, (0.808, 1.056, 1.38)).
    assert (report["corpus_chrf"], report["corpus_bleu"]) == pytest.approx((83.0851, 74.921), abs=1e-3)
    # Issue 25: the symbols check fails the one row whose "max()" became "o máximo de s" (was 1.0).
    assert report["lang_id_agreement"] == 1.0 and report["pass_rate"] == 0.9744
    assert [rows[i]["bt_chrf_row"] for i in (0, 7, 30)] == pytest.approx([75.419, 86.6025, 94.3036], abs=1e-3)
    assert [rows[i]["bt_chrf"] for i in (0, 7, 30)] == pytest.approx([56.3248, 79.1948, 85.7645], abs=1e-3)
    assert report["bt_fields"]["output"]["chrf"] == pytest.approx(83.218, abs=1e-3)
    bounds = report["length_ratio"]
    assert (bounds["low"], bounds["median"], bounds["high"], bounds["n"]) == pytest.approx(
        (0.8522, 1.06, 1.3184, 39), abs=1e-4)
    out = report["length_ratio_fields"]["output"]
    assert (out["low"], out["median"], out["high"], out["n"]) == pytest.approx((0.8032, 1.0542, 1.3836, 39), abs=1e-4)
    # 11 inputs are too few to learn from: their bounds come from every field's ratios
    assert report["length_ratio_fields"]["input"]["n"] == 87


# --- issue 16: per-field scores and the alignment checks, on the same real translations ---------------------

def test_a_halved_output_fails_on_its_own_length_ratio(clean):
    en, pt = clean
    i = max(range(len(pt)), key=lambda k: len(en[k]["input"]))  # the longest correct input
    bad = copy.deepcopy(pt)
    bad[i]["output"] = bad[i]["output"][: len(bad[i]["output"]) // 2]
    rows, report = _score(en, bad)
    ratio = rows[i]["length_ratio_fields"]["output"]
    assert ratio < report["length_ratio_fields"]["output"]["low"]
    assert "length_ratio" in rows[i]["qa_flags"] and not rows[i]["qa_pass"]
    assert rows[i]["length_ratio_fields"]["input"] == round(len(pt[i]["input"]) / len(en[i]["input"]), 4)


def test_a_wrong_output_fails_on_its_own_chrf_under_a_correct_input(clean):
    en, pt = clean
    i = next(k for k in range(len(pt)) if len(en[k]["input"]) > 40)
    j = (i + 5) % len(pt)
    bad = copy.deepcopy(pt)
    bad[i]["output"], bad[i]["bt_output"] = pt[j]["output"], pt[j]["bt_output"]
    rows, _ = _score(en, bad)
    fields = rows[i]["bt_chrf_fields"]
    assert fields["output"] < 35 <= min(fields["instruction"], fields["input"])
    assert rows[i]["bt_chrf"] == fields["output"] and rows[i]["bt_chrf"] < rows[i]["bt_chrf_row"]
    assert "bt_chrf" in rows[i]["qa_flags"]


def test_alignment_checks_catch_meaning_errors_the_round_trip_misses(clean):
    """Flipped negation, dropped/inserted sentence, changed number words and digits, English words left in:
    each is caught by its own alignment check, and the untouched rows stay clean."""
    from validation.sensitivity import Corruptor

    en, pt = clean
    corrupt = Corruptor(en, pt)
    rng = random.Random(3)
    bad, expect = copy.deepcopy(pt), {}
    for kind, check in [("negation", "negation"), ("sentence_drop", "sentence_count"),
                        ("insertion", "sentence_count"), ("number_word", "number_values"),
                        ("digit", "number_values"), ("partial_copy", "copy_through")]:
        i, out = next((k, o) for k in range(len(pt)) if k not in expect
                      and (o := getattr(corrupt, kind)(k, rng)) is not None)
        bad[i]["output"] = out  # the back-translation is left as it was: these checks do not read it
        expect[i] = check
    rows, report = _score(en, bad)
    assert {i: check in rows[i]["qa_flags"] and not rows[i]["qa_pass"] for i, check in expect.items()} == dict.fromkeys(
        expect, True), {i: (rows[i]["qa_flags"], bad[i]["output"][:120]) for i in expect}
    # every other row passes, but the one the symbols check fails uncorrupted ("max()" lost its brackets)
    assert [k for k in range(len(rows)) if k not in expect and not rows[k]["qa_pass"]] == [
        k for k in range(len(rows)) if k not in expect and "máximo de s" in rows[k]["instruction"]]
    assert set(report["alignment"]["flagged"]) >= {"negation", "sentence_count", "number_values", "copy_through"}
    drop = next(i for i, c in expect.items() if c == "sentence_count")
    src_n, out_n = rows[drop]["sentence_counts"]["output"]
    assert src_n != out_n


def test_unfenced_code_is_kept_verbatim_and_its_translation_is_flagged(clean):
    en, pt = clean
    i = next(k for k, r in enumerate(en) if r["input"].startswith("def average(nums):"))
    assert pt[i]["input"] == en[i]["input"]  # the build protected it
    bad = copy.deepcopy(pt)
    # what the build produced before issue 16: Python keywords and names translated
    bad[i]["input"] = "def média(nums):\n    resumo de retorno(nums) / len(nums) + 1"
    rows, report = _score(en, bad)
    assert "unfenced_code" in rows[i]["qa_flags"] and not rows[i]["qa_pass"]
    assert report["failed_checks"]["unfenced_code"] == 1


def test_alignment_checks_can_be_warnings_per_language(clean):
    en, pt = clean
    bad = copy.deepcopy(pt)
    i = next(k for k, r in enumerate(pt) if "duas" in r["output"])
    bad[i]["output"] = bad[i]["output"].replace("duas", "cinco", 1)
    qa = QAConfig(scorers=FAST, per_language={"pt": {"alignment_fail": ["negation"]}})
    rows, report = _score(en, bad, qa)
    assert rows[i]["number_mismatch"]["output"] == {"missing": ["2"], "extra": ["5"]}
    assert rows[i]["qa_pass"] and report["warnings"]["number_values"] == 1


def test_unknown_alignment_check_is_a_config_error():
    with pytest.raises(ValueError, match="unknown alignment checks"):
        QAConfig(alignment_fail=["negations"])


def test_report_lists_every_check_with_its_measured_detection(clean):
    from validation.detection import DETECTION
    from validation.report import CHECKS, checks_table

    en, pt = clean
    _, report = _score(en, pt)
    notes = table_notes({"pt": report})
    table = notes[-1]
    assert table == checks_table({"pt": report})
    lines = table.splitlines()
    for check, _, _ in CHECKS:
        assert sum(line.startswith(f"| `{check}` |") for line in lines) == 1, check
    negation = DETECTION["classes"]["negation"]
    rate = negation["by_check"]["negation"] / negation["n"]
    negation_line = next(line for line in lines if line.startswith("| `negation` |"))
    assert f"negation {rate:.0%}" in negation_line
    # this run's own failures beside the benchmark's: the report's count, and the rows' own verdicts
    assert f"| pt {report['failed_checks'].get('negation', 0)} of {report['n']} |" in negation_line
    assert report["failed"] == sum(not r["qa_pass"] for r in _score(en, pt)[0])
    assert f"**{report['failed']}** of {report['n']} translated rows failed `qa_pass`" in notes[-3]
    assert any(n.startswith("- pt: back-translation chrF per field: instruction") for n in notes)


def test_roman_values_read_numerals_and_skip_capitals_that_are_none():
    from validation.scorers.wordlists import roman_values

    # "ID" and "DIM" satisfy the two-capitals lookahead but are no numeral: an empty match, skipped (it crashed)
    assert roman_values("século XX, século V, XIX, MIX, ID, DIM") == {"20": 1, "5": 1, "19": 1, "1009": 1}
