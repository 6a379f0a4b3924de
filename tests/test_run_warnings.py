"""Runs that refuse to lie: a model whose answers are all empty (or all the same), a rising training loss and thin
cells are named in results.json `warnings` and summary.md; `safedrift bench --strict` then exits 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support.fixtures import tiny_config_dict

from bench_runner.config import parse_config
from bench_runner.metrics.compliance import compute_metrics
from bench_runner.report import ReportStage
from bench_runner.report.schema import FinetuneSummary
from bench_runner.report.warnings import answer_warnings, loss_warnings
from bench_runner.stage import RunContext
from safedrift.cli import main
from safedrift.core.files import atomic_write_json, atomic_write_jsonl, write_manifest

EVALS = ("en", "pt")


def _folder(root: Path, stage: str, label: str, files: dict, **manifest) -> Path:
    folder = root / stage / f"{label}-given"
    for name, content in files.items():
        (atomic_write_jsonl if name.endswith(".jsonl") else atomic_write_json)(folder / name, content)
    write_manifest(folder, stage, {}, list(files), **manifest)
    return folder


def _scores(model: str, complied: int) -> list[dict]:
    return [{"uid": f"sorry:{ev}:{i}", "model": model, "language": ev, "item_id": str(i), "kind": "sorry",
             "category": "1", "category_name": "cat 1", "score": int(i < complied),
             "label": "complied" if i < complied else "refused", "judge": "refusal"}
            for ev in EVALS for i in range(10)]


class Finished:
    def __init__(self, folders: dict[str, Path]):
        self.folders = folders

    def __call__(self, label: str) -> Path:
        return self.folders[label]


@pytest.fixture
def empty_base_run(tmp_path, bench_home, tiny_model, tiny_release):
    """Finished stage folders of a run whose base model answered every prompt with an empty string, and whose
    pt fine-tune's loss rose; 10 verdicts per cell under metrics.min_verdicts: 12."""
    data = tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base", "pt"],
                            eval_languages=list(EVALS), metrics={"n_resamples": 200, "min_verdicts": 12})
    data.pop("comet", None)
    data["tracking"] = {"comet": "off"}
    cfg = parse_config(data)
    scores = {"base": _scores("base", 0), "pt": _scores("pt", 3)}
    answers = {"base": lambda uid: "", "pt": lambda uid: f"answer {uid}"}
    root = tmp_path / "given"
    qa = {"sorry_items": 0, "benign_items": 0, "xstest_items": 0, "failed_rows": {}}
    stages = {
        "metrics": {"all": _folder(root, "metrics", "all", {"metrics.json": compute_metrics(
            scores["base"] + scores["pt"], ["base", "pt"], list(EVALS), n_resamples=200)})},
        "finetune": {"pt": _folder(root, "finetune", "pt", {"train_stats.json": {
            "steps": 8, "examples": 10, "loss": [1.0, 1.1, 1.2, 1.4, 1.5, 1.7, 1.9, 2.3], "tokens": 400,
            "seconds": 2.0, "tokens_per_s": 200.0, "trainable_params": 1000}})},
        "generate": {m: _folder(root, "generate", m, {"samples.jsonl": [
            {"uid": r["uid"], "model": m, "language": r["language"], "response": answers[m](r["uid"])}
            for r in scores[m]]}, stats={}, qa_excluded=qa) for m in scores},
        "judge": {m: _folder(root, "judge", m, {"scores.jsonl": scores[m]}, judge={"name": "refusal"})
                  for m in scores},
    }
    given = {k: Finished(v) for k, v in stages.items()}
    report = ReportStage(RunContext(cfg), given["metrics"], given["finetune"], given["generate"], given["judge"],
                         None)
    return data, cfg, report


def test_all_empty_answers_rising_loss_and_thin_cells_are_warned(empty_base_run):
    _, cfg, report = empty_base_run
    report("all")
    results = json.loads((cfg.run_dir / "results.json").read_text())
    got = {(w["kind"], w["subject"]): w["message"] for w in results["warnings"]}
    figures = {subject: got.pop((kind, subject)) for kind, subject in list(got) if kind == "empty_figure"}
    assert set(got) == {("empty_answers", "base"), ("loss_rose", "pt"), ("thin_cells", "SORRY-Bench compliance")}
    # figures with nothing to plot are warned with the reason their placeholder panel shows
    assert figures["xstest_types.png"] == ("xstest_types.png has nothing to plot: no XSTest prompts in the eval set "
                                           "(datasets.xstest)")
    assert "heatmap.png" not in figures and "sorry_domains.png" not in figures
    assert got[("empty_answers", "base")].startswith("every answer of the base model is empty (20 answers)")
    assert got[("loss_rose", "pt")].startswith(
        "the pt fine-tune's training loss rose: 1.0500 (steps 1-2) -> 2.1000 (the last 2 of 8)")
    assert got[("thin_cells", "SORRY-Bench compliance")].startswith(
        "SORRY-Bench compliance: 4 cells with fewer than 12 verdicts (base/en n=10, base/pt n=10, pt/en n=10, "
        "pt/pt n=10)")
    summary = (cfg.run_dir / "summary.md").read_text()
    assert "## Warnings\n\n- **empty_answers** (base): every answer of the base model is empty" in summary
    assert summary.index("## Warnings") < summary.index("## Compliance with unsafe requests")


def test_strict_exits_non_zero_on_warnings_and_the_run_says_so(empty_base_run, tmp_path, monkeypatch, capsys):
    data, cfg, report = empty_base_run
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(data))

    class Checked:
        checked: list = []
        warnings: list = []

    class StubRun:  # the report stage on the given folders; the other stages are finished (the fixture)
        def __init__(self, cfg):
            self.models = ["base", "pt"]

        def preflight(self, chosen):
            return Checked()

        def labels(self, stage, chosen):
            return ["all"]

        def stage(self, name):
            return report

        def close(self):
            pass

    monkeypatch.setattr("bench_runner.pipeline.BenchRun", StubRun)
    assert main(["bench", "report", str(config)]) == 0
    err = capsys.readouterr().err
    assert "safedrift WARNING empty_answers (base): every answer of the base model is empty" in err
    # 3 from the stages + 3 figures with nothing to plot (no XSTest, capability or representation here)
    assert "6 warning(s): results.json `warnings` and summary.md list them; with --strict the run fails" in err
    assert main(["bench", "report", str(config), "--strict"]) == 1
    assert "--strict: exit status 1." in capsys.readouterr().err


def test_identical_answers_and_a_falling_loss(tmp_path):
    same = _folder(tmp_path, "generate", "en", {"samples.jsonl": [{"uid": str(i), "response": " I can't. "}
                                                                   for i in range(4)]})
    varied = _folder(tmp_path, "generate", "pt", {"samples.jsonl": [{"uid": str(i), "response": f"a{i}"}
                                                                    for i in range(4)]})
    warned = answer_warnings({"en": same, "pt": varied})
    assert [(w.kind, w.subject) for w in warned] == [("identical_answers", "en")]
    assert "(4 answers: \"I can't.\")" in warned[0].message
    falling = FinetuneSummary(stage_key="k", steps=4, examples=4, loss=[2.0, 2.1, 1.5, 1.4], tokens=1, seconds=1.0,
                              tokens_per_s=None, trainable_params=1)
    assert loss_warnings({"en": falling}) == []  # a noisy step up inside a falling curve is not a rise
