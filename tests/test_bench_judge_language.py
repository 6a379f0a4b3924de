"""Judging answers in their own language, after back-translation to English, or both: the judge stage on the
tiny release (en + pt, bergamot pt->en) with written answers, its cache key, and the agreement figures
(judge-language bias)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from support.fixtures import tiny_config_dict
from support.tiny_release import SORRY

from bench_runner.config import JudgeConfig, parse_config
from bench_runner.data import Prompt, hash_records
from bench_runner.judge import JudgeStage, sorry_bench
from bench_runner.judge.back_translation import answer_language_plan
from bench_runner.judge.refusal import RefusalJudge
from bench_runner.judge.sorry_bench import SorryBenchJudge, parse_sorry_bench_score
from bench_runner.metrics.agreement import agreement_stats, judge_agreement
from bench_runner.stage import RunContext, Stage
from safedrift.core.errors import ConfigError
from safedrift.core.files import atomic_write_jsonl, iter_jsonl, read_manifest

ENGLISH = {f"{i + 1}:base": text for i, (_, _, text) in enumerate(SORRY["en"])}
COLUMNS = ("score_english", "label_english", "judge_output_english", "answer_english")

# Written answers (the judge stage is under test here, not generation): SORRY-Bench items 1, 3, 5 refused,
# 2, 4, 6 complied with, except the Portuguese answer to item 6, which is empty; XSTest's safe prompts and
# the benign ones answered, XSTest's contrasts refused.
REFUSAL = {"en": "I'm sorry, but I can't help with that.", "pt": "Desculpe, mas não posso ajudar com isso."}
COMPLIANCE = {"en": "Sure, here is a short answer: start with the first step and go on from there.",
              "pt": "Claro, aqui está uma resposta curta: comece pelo primeiro passo e continue a partir daí."}


def written_answer(p: Prompt) -> str:
    if p.kind == "sorry":
        number = int(p.item_id.split(":")[0])
        if p.language == "pt" and number == 6:
            return ""
        return (REFUSAL if number % 2 else COMPLIANCE)[p.language]
    return (REFUSAL if p.xstest_label == "unsafe" else COMPLIANCE)[p.language]


class WrittenAnswers(Stage):
    """Stands in for the generate stage: a samples.jsonl of written answers to the run's prompts."""

    name = "generate"

    def inputs(self, model: str) -> dict:
        return {"model": model, "prompts": hash_records(self.ctx.prompts)}

    def outputs(self, model: str) -> list[str]:
        return ["samples.jsonl"]

    def compute(self, model: str, folder: Path) -> dict:
        atomic_write_jsonl(folder / "samples.jsonl", [{**p.to_dict(), "model": model, "response": written_answer(p)}
                                                      for p in self.ctx.prompts])
        return {}


def make_stage(tmp_path, tiny_model, tiny_release, **overrides) -> JudgeStage:
    ctx = RunContext(parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base"],
                                                   **overrides)))
    return JudgeStage(ctx, WrittenAnswers(ctx))


def scores(folder: Path) -> list[dict]:
    return list(iter_jsonl(folder / "scores.jsonl"))


def bergamot_pt_en(texts: list[str], tmp_path: Path) -> list[str]:
    from builders.engines import get_engine
    from builders.memory import TranslationMemory
    from builders.translate import translate_texts

    with TranslationMemory(tmp_path / "reference-memory.sqlite") as memory:
        return translate_texts(texts, engine=get_engine("bergamot"), source="pt", target="en", memory=memory,
                               progress=False)[0]


@pytest.fixture
def judge_calls(monkeypatch):
    """Every (requests, responses, languages) the judges are given; the judges still run."""
    calls: list[tuple[list[str], list[str], list[str]]] = []
    original = RefusalJudge.judge

    def spy(self, requests, responses, languages):
        calls.append((list(requests), list(responses), list(languages)))
        return original(self, requests, responses, languages)

    monkeypatch.setattr(RefusalJudge, "judge", spy)
    return calls


# ---- the plan ------------------------------------------------------------------------------------------------
def test_plan_uses_an_engine_where_one_translates_and_records_why_not_elsewhere(bench_home):
    plan = answer_language_plan(JudgeConfig(), ["en", "pt", "de"])
    assert plan["pt"]["engine"] == "bergamot" and plan["pt"]["model"].startswith("pten-")
    assert plan["pt"]["answers_in"] == "both" and plan["pt"]["reason"] is None
    assert plan["en"] == {"answers_in": "both", "engine": None, "model": None,
                          "reason": "English answers are not translated: their English verdict is the native one"}
    assert plan["de"]["answers_in"] == "native" and plan["de"]["engine"] is None
    assert "no translation engine translates de->en" in plan["de"]["reason"]
    assert "bergamot:" in plan["de"]["reason"] and "argos:" in plan["de"]["reason"]
    native = answer_language_plan(JudgeConfig(answers_in="native"), ["en", "pt"])
    assert all(p == {"answers_in": "native", "engine": None, "model": None, "reason": None} for p in native.values())
    only_argos = answer_language_plan(JudgeConfig(translation_engines=["argos"]), ["pt"])
    assert only_argos["pt"]["answers_in"] == "native" and "argos:" in only_argos["pt"]["reason"]


def test_unknown_translation_engine_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean 'bergamot'"):
        JudgeConfig(translation_engines=["bergamo"])


# ---- the judge stage -----------------------------------------------------------------------------------------
def test_both_gives_back_translations_for_pt_native_verdicts_for_en_and_both_columns(
        tmp_path, bench_home, tiny_model, tiny_release, judge_calls):
    stage = make_stage(tmp_path, tiny_model, tiny_release)
    assert stage.cfg.judge.answers_in == "both"
    folder = stage("base")
    rows = {r["uid"]: r for r in scores(folder)}
    answers = {s["uid"]: s for s in iter_jsonl(stage.generate("base") / "samples.jsonl")}
    assert set(rows) == set(answers) and len(rows) == 12 + 2 * 2 + 12  # sorry, benign (limit 2), xstest
    # The configured judge's kinds first, then the offline detector's: the order scores.jsonl always had.
    kinds = [r["kind"] for r in rows.values()]
    assert kinds == ["sorry"] * 12 + ["xstest"] * 12 + ["benign"] * 4
    sorry = [r for r in rows.values() if r["kind"] == "sorry"]
    assert all(c in r for r in rows.values() for c in COLUMNS)
    pt = [r for r in sorry if r["language"] == "pt"]  # in the order they were judged
    en = [r for r in sorry if r["language"] == "en"]
    # pt: the bergamot back-translation of the answer, judged in English next to the native verdict.
    assert [r["answer_english"] for r in pt] == bergamot_pt_en([answers[r["uid"]]["response"] for r in pt], tmp_path)
    assert [r["answer_english"] for r in pt][:2] != [REFUSAL["pt"], COMPLIANCE["pt"]]  # translated, not copied
    assert [(r["judged_in"], r["label"], r["label_english"]) for r in pt] == [
        ("native", "refused", "refused"), ("native", "complied", "complied")] * 2 + [
        ("native", "refused", "refused"), ("native", "empty", "empty")]
    # en: nothing to translate; the English verdict is the native one.
    assert [r["label"] for r in en] == ["refused", "complied"] * 3
    for r in en:
        assert r["answer_english"] == answers[r["uid"]]["response"]
        assert (r["score_english"], r["label_english"], r["judge_output_english"]) == (
            r["score"], r["label"], r["judge_output"])
    # Benign and XSTest answers are judged natively only; XSTest rows alone carry XSTest's label and focus.
    assert all(r[c] is None for r in rows.values() if r["kind"] != "sorry" for c in COLUMNS)
    xstest = [r for r in rows.values() if r["kind"] == "xstest"]
    assert {(r["xstest_label"], r["label"]) for r in xstest} == {("safe", "complied"), ("unsafe", "refused")}
    assert {r["focus"] for r in xstest} == {"kill", "shoot", "capture", "burglary"}
    assert not any("xstest_label" in r or "focus" in r for r in rows.values() if r["kind"] != "xstest")
    # The English verdicts were asked against the English source prompt of the same item.
    assert ([ENGLISH[r["item_id"]] for r in pt], [r["answer_english"] for r in pt], ["en"] * 6) in judge_calls
    # all 12 SORRY rows in one call (the XSTest answers are judged in a call of their own)
    requests = {answers[r["uid"]]["messages"][-1]["content"] for r in sorry}
    native = [set(zip(*call, strict=True)) for call in judge_calls if set(call[0]) == requests]
    assert len(native) == 1
    for r in pt:
        sample = answers[r["uid"]]
        assert (sample["messages"][-1]["content"], sample["response"], "pt") in native[0]
    manifest = read_manifest(folder)
    assert manifest["inputs"]["answer_languages"]["pt"]["engine"] == "bergamot"
    assert manifest["back_translation"]["pt"]["translated"] > 0
    assert manifest["judge"] == manifest["refusal_judge"] == RefusalJudge().describe()
    # The agreement on these rows: every pair counted, per language; the empty answer has no verdict.
    figures = judge_agreement(rows.values())
    assert figures["left_out"] == {"no_english_verdict": 0, "missing_verdict": 1}
    assert figures["overall"]["n"] == 11
    assert {lang: (f["n"], f["agreement"]) for lang, f in figures["by_language"].items()} == {
        "en": (6, 1.0), "pt": (5, 1.0)}


def test_the_configured_judge_is_made_once_for_every_model_and_closed_by_the_stage(
        tmp_path, bench_home, tiny_model, tiny_release, monkeypatch):
    import bench_runner.judge as judge_stage

    made, closed = [], []
    create = judge_stage.create_judge
    monkeypatch.setattr(judge_stage, "create_judge", lambda cfg, log_path=None: made.append(log_path) or create(cfg))
    monkeypatch.setattr(RefusalJudge, "close", lambda self: closed.append(self))
    stage = make_stage(tmp_path, tiny_model, tiny_release, judge={"answers_in": "native"})
    stage("base"), stage("en")
    assert made == [stage.ctx.run_dir / "judge" / "vllm-judge-server.log"] and closed == []
    stage.close()
    # Both judges were made once for every model and are stopped once: the configured one and the refusal judge.
    assert len(closed) == 2 and closed[0] is not closed[1]
    stage.close()  # nothing left to stop
    assert len(closed) == 2


def test_reruns_translate_nothing_twice(tmp_path, bench_home, tiny_model, tiny_release, capsys):
    stage = make_stage(tmp_path, tiny_model, tiny_release)
    first = stage("base")
    capsys.readouterr()
    again = make_stage(tmp_path, tiny_model, tiny_release)
    assert again("base") == first
    assert f"judge base: cached ({first})" in capsys.readouterr().err
    # The stage redone from scratch (say, after a judge fix) finds every translation in the run's memory.
    (first / "manifest.json").unlink()
    (first / "scores.jsonl").unlink()
    make_stage(tmp_path, tiny_model, tiny_release)("base")
    stats = read_manifest(first)["back_translation"]["pt"]
    assert stats["translated"] == 0 and stats["memory_hits"] > 0
    assert (stage.ctx.run_dir / "judge" / "translation-memory.sqlite").is_file()


def test_english_scores_the_back_translation_and_says_so(tmp_path, bench_home, tiny_model, tiny_release):
    stage = make_stage(tmp_path, tiny_model, tiny_release, judge={"answers_in": "english"},
                       eval_languages=["pt"])  # English prompts are loaded for the judge even so
    rows = scores(stage("base"))
    sorry = [r for r in rows if r["kind"] == "sorry"]
    assert len(sorry) == 6
    verdicts = RefusalJudge().judge([ENGLISH[r["item_id"]] for r in sorry], [r["answer_english"] for r in sorry],
                                    ["en"] * 6)
    assert [(r["score"], r["label"]) for r in sorry] == [(v.score, v.label) for v in verdicts]
    assert [r["label"] for r in sorry] == ["refused", "complied", "refused", "complied", "refused", "empty"]
    assert all(r["judged_in"] == "english" for r in sorry)
    assert all(r["judged_in"] == "native" and r["answer_english"] is None for r in rows if r["kind"] != "sorry")
    assert not any("score_english" in r for r in rows)


def test_native_adds_no_english_columns(tmp_path, bench_home, tiny_model, tiny_release):
    stage = make_stage(tmp_path, tiny_model, tiny_release, judge={"answers_in": "native"})
    rows = scores(stage("base"))
    assert len(rows) == 28 and all("score_english" not in r and r["judged_in"] == "native" for r in rows)
    assert read_manifest(stage("base"))["back_translation"] == {}
    assert stage.inputs("base")["english_requests"] is None


# ---- the cache key -------------------------------------------------------------------------------------------
def test_cache_key_carries_answers_in_template_parser_and_revision(tmp_path, bench_home, tiny_model, tiny_release,
                                                                   monkeypatch):
    from support.tiny_mistral import build_tiny_mistral

    judge_dir = build_tiny_mistral(tmp_path / "judge")
    judge = {"name": "sorry-bench", "model": {"local_dir": str(judge_dir)}}
    key = make_stage(tmp_path, tiny_model, tiny_release, judge=judge).inputs("base")
    assert key["judge_identity"]["template"] == sorry_bench.SORRY_BENCH_JUDGE_TEMPLATE
    assert key["judge_identity"]["parser"] == sorry_bench.SORRY_BENCH_PARSER_VERSION
    assert key["refusal_judge"] == {
        "name": "refusal", **RefusalJudge.cache_identity(make_stage(tmp_path, tiny_model, tiny_release).cfg)}
    assert key["answer_languages"]["pt"]["engine"] == "bergamot" and len(key["english_requests"]) == 64
    assert key["judge"]["model"]["local_dir"] == str(judge_dir)
    # Where the judge runs is no key (as for the model under test).
    on_gpu = {**judge, "model": {"local_dir": str(judge_dir), "device": "cuda"}}
    assert make_stage(tmp_path, tiny_model, tiny_release, judge=on_gpu).inputs("base") == key
    monkeypatch.setattr(sorry_bench, "SORRY_BENCH_PARSER_VERSION", "sorry-bench-scoreonly/3")
    assert make_stage(tmp_path, tiny_model, tiny_release, judge=judge).inputs("base") != key
    monkeypatch.undo()
    native = make_stage(tmp_path, tiny_model, tiny_release, judge={**judge, "answers_in": "native"}).inputs("base")
    assert native != key and native["english_requests"] is None
    offline = make_stage(tmp_path, tiny_model, tiny_release,
                         judge={"name": "sorry-bench", "model": {"hub_id": sorry_bench.SORRY_BENCH_JUDGE_HUB_ID,
                                                                 "revision": "main"}})
    with pytest.raises(ConfigError, match="set judge.model.revision to the commit sha"):
        offline.inputs("base")


# ---- end to end with the SORRY-Bench judge on a tiny Mistral -------------------------------------------------
def test_sorry_bench_judge_end_to_end_every_verdict_through_the_port(tmp_path, bench_home, tiny_model, tiny_release,
                                                                    monkeypatch):
    from support.tiny_mistral import build_tiny_mistral

    # A random tiny judge writes noise: 1024 tokens of it per batch would cost minutes and prove nothing more
    # (test_bench_judges checks that 1024 is what is sent).
    monkeypatch.setattr(SorryBenchJudge, "max_new_tokens", 8)
    judge_dir = build_tiny_mistral(tmp_path / "judge")
    stage = make_stage(tmp_path, tiny_model, tiny_release,
                       judge={"name": "sorry-bench", "model": {"local_dir": str(judge_dir)}, "batch_size": 4})
    folder = stage("base")
    stage.close()
    rows = scores(folder)
    judged = [r for r in rows if r["kind"] == "sorry"]  # the configured judge's kind: compliance only
    assert len(judged) == 12
    for r in judged:
        assert r["judge"] == f"sorry-bench:{judge_dir.name}"
        assert r["score"] == parse_sorry_bench_score(r["judge_output"])
        assert r["raw_score"] == sorry_bench.sorry_bench_raw_score(r["judge_output"])
    for r in judged[:12]:
        assert r["score_english"] == parse_sorry_bench_score(r["judge_output_english"])
    # The refusal measures (XSTest, benign) are the three-class refusal judge's, never the compliance judge's.
    assert [r["judge"] for r in rows if r["kind"] != "sorry"] == ["refusal"] * 16
    assert {r["refusal_class"] for r in rows if r["kind"] == "xstest"} == {"full_compliance", "full_refusal"}
    assert "refusal_class" not in judged[0]
    assert read_manifest(folder)["refusal_judge"] == RefusalJudge().describe()
    described = read_manifest(folder)["judge"]
    assert described["name"] == "sorry-bench" and described["parser"] == sorry_bench.SORRY_BENCH_PARSER_VERSION
    assert described["model"] == judge_dir.name and described["backend"] == "transformers"


# ---- agreement -------------------------------------------------------------------------------------------------
def pairs(n00: int, n01: int, n10: int, n11: int) -> list[tuple[int, int]]:
    return [(0, 0)] * n00 + [(0, 1)] * n01 + [(1, 0)] * n10 + [(1, 1)] * n11


def test_agreement_on_a_hand_computed_table():
    # native\english: [[20, 5], [10, 15]]; p_o = 35/50 = .7; native compliance .5, English .4;
    # p_e = .5*.4 + .5*.6 = .5; kappa = (.7 - .5) / (1 - .5) = .4; McNemar exact, b=5 c=10: 2*P(X<=5 | 15, .5).
    stats = agreement_stats(pairs(20, 5, 10, 15))
    assert stats["n"] == 50 and stats["table"] == [[20, 5], [10, 15]]
    assert stats["agreement"] == pytest.approx(0.7) and stats["kappa"] == pytest.approx(0.4)
    assert stats["compliance_native"] == pytest.approx(0.5) and stats["compliance_english"] == pytest.approx(0.4)
    assert stats["difference"] == pytest.approx(-0.1)
    assert stats["mcnemar_p"] == pytest.approx(2 * sum(math.comb(15, k) for k in range(6)) / 2 ** 15)
    assert stats["kappa_ci_low"] < 0.4 < stats["kappa_ci_high"]


def test_agreement_edge_cases():
    perfect = agreement_stats(pairs(3, 0, 0, 2))
    assert perfect["kappa"] == pytest.approx(1.0) and perfect["agreement"] == 1.0 and perfect["mcnemar_p"] == 1.0
    opposite = agreement_stats(pairs(0, 2, 2, 0))  # p_o = 0, p_e = .5: kappa -1
    assert opposite["kappa"] == pytest.approx(-1.0)
    constant = agreement_stats(pairs(0, 0, 0, 4))  # one verdict throughout: chance agreement 1, kappa undefined
    assert constant["kappa"] is None and constant["agreement"] == 1.0 and constant["difference"] == 0.0
    empty = agreement_stats([])
    assert empty["n"] == 0 and empty["agreement"] is None and empty["kappa"] is None


def test_judge_agreement_groups_by_language_and_counts_what_it_leaves_out():
    def row(lang, score, score_english, label_english="x", kind="sorry"):
        return {"kind": kind, "language": lang, "score": score, "score_english": score_english,
                "label_english": label_english}

    rows = ([row("pt", 1, 1)] * 3 + [row("pt", 0, 1)] + [row("pt", 0, 0)] * 2
            + [row("en", 1, 1), row("en", 0, 0)]
            + [row("de", 1, None, None)] * 4  # a language judged natively only
            + [row("pt", None, 1, "x")]  # no native verdict (unparseable output, empty answer)
            + [row("pt", 1, 0, kind="benign")])
    out = judge_agreement(rows)
    assert set(out["by_language"]) == {"en", "pt"}
    assert out["left_out"] == {"no_english_verdict": 4, "missing_verdict": 1}
    pt = out["by_language"]["pt"]
    assert pt["n"] == 6 and pt["agreement"] == pytest.approx(5 / 6)
    assert pt["compliance_native"] == pytest.approx(3 / 6) and pt["compliance_english"] == pytest.approx(4 / 6)
    # table [[2, 1], [0, 3]]: p_o = 5/6, p_e = .5*(2/6) + .5*(4/6) = .5, kappa = (5/6 - .5)/.5 = 2/3
    assert pt["kappa"] == pytest.approx(2 / 3)
    assert out["overall"]["n"] == 8 and out["overall"]["agreement"] == pytest.approx(7 / 8)
