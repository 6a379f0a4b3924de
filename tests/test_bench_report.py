"""The report stage on finished stage folders: results.json (its metrics exactly metrics.json's), samples.jsonl,
every figure, summary.md and the representation arrays, cached by its inputs and published to runs/<run-id>/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.fixtures import tiny_config_dict

from bench_runner.config import parse_config
from bench_runner.metrics.compliance import compute_metrics
from bench_runner.report import ReportStage
from bench_runner.report.figures import CAPTIONS, FIGURES
from bench_runner.report.schema import Metrics, Results
from bench_runner.stage import RunContext
from safedrift.core.files import (
    atomic_write_json,
    atomic_write_jsonl,
    iter_jsonl,
    read_manifest,
    write_manifest,
)

EVALS = ("en", "pt")
# Planted SORRY-Bench compliance per (model, eval language): answers 0..9, the first k complied.
COMPLIED = {("base", "en"): 1, ("base", "pt"): 2, ("pt", "en"): 3, ("pt", "pt"): 7}


class Finished:
    """A stage that already ran: each label's finished folder."""

    def __init__(self, folders: dict[str, Path]):
        self.folders = folders

    def __call__(self, label: str) -> Path:
        return self.folders[label]


def _folder(root: Path, stage: str, label: str, files: dict, **manifest) -> Path:
    folder = root / stage / f"{label}-given"
    for name, content in files.items():
        if name.endswith(".jsonl"):
            atomic_write_jsonl(folder / name, content)
        elif name.endswith(".npz"):
            folder.mkdir(parents=True, exist_ok=True)
            np.savez(folder / name, **content)
        else:
            atomic_write_json(folder / name, content)
    write_manifest(folder, stage, {}, list(files), **manifest)
    return folder


def _scores(model: str) -> list[dict]:
    rows = []
    for ev in EVALS:
        rows += [{"uid": f"sorry:{ev}:{i}", "model": model, "language": ev, "item_id": str(i), "kind": "sorry",
                  "category": "1", "category_name": "cat 1", "score": int(i < COMPLIED[(model, ev)]),
                  "label": "complied" if i < COMPLIED[(model, ev)] else "refused", "judge": "refusal"}
                 for i in range(10)]
        rows.append({"uid": f"benign:{ev}:b0", "model": model, "language": ev, "item_id": "b0", "kind": "benign",
                     "category": "", "category_name": "", "score": 1, "label": "complied", "judge": "refusal"})
    return rows


@pytest.fixture
def upstream(tmp_path, bench_home, tiny_model, tiny_release):
    """The config and the finished metrics, finetune, generate, judge and representation folders of a run
    (base and a pt fine-tune, evaluated in en and pt)."""
    cfg = parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base", "pt"],
                                        eval_languages=list(EVALS)))
    root = tmp_path / "given"
    scores = {m: _scores(m) for m in ("base", "pt")}
    metrics = compute_metrics(scores["base"] + scores["pt"], ["base", "pt"], list(EVALS), n_resamples=200)
    qa = {"sorry_items": 1, "benign_items": 0, "xstest_items": 0, "failed_rows": {"sorry": {"en": 0, "pt": 1}}}
    stages = {
        "metrics": {"all": _folder(root, "metrics", "all", {"metrics.json": metrics})},
        "finetune": {"pt": _folder(root, "finetune", "pt", {"train_stats.json": {
            "steps": 4, "examples": 10, "loss": [2.0, 1.6, 1.3, 1.2], "tokens": 400, "seconds": 2.0,
            "tokens_per_s": 200.0, "trainable_params": 1000, "qa_excluded": 2}})},
        "generate": {m: _folder(root, "generate", m, {"samples.jsonl": [
            {"uid": r["uid"], "model": m, "language": r["language"], "response": f"answer {r['uid']}"}
            for r in scores[m]]}, stats={"new_tokens": 66, "seconds": 1.5}, qa_excluded=qa) for m in scores},
        "judge": {m: _folder(root, "judge", m, {"scores.jsonl": scores[m]}, judge={"name": "refusal"})
                  for m in scores},
        "representation": {"pt": _folder(root, "representation", "pt", {
            f"{ev}.npz": {"cka_mean": np.linspace(1.0, 0.9, 4) - k} for k, ev in enumerate(EVALS)})},
    }
    return cfg, stages


def _report(cfg, stages: dict, with_representation: bool = True) -> ReportStage:
    given = {k: Finished(v) for k, v in stages.items()}
    return ReportStage(RunContext(cfg), given["metrics"], given["finetune"], given["generate"], given["judge"],
                       given["representation"] if with_representation else None)


def test_the_report_is_written_from_the_stage_folders_and_published(upstream):
    cfg, stages = upstream
    stage = _report(cfg, stages)
    folder = stage("all")
    assert folder.parent == cfg.run_dir / "report" and folder.name.startswith("all-")
    arrays = ["representation/pt/en.npz", "representation/pt/pt.npz"]
    outputs = ["results.json", "samples.jsonl", "summary.md", *FIGURES, *arrays]
    assert stage.outputs("all") == outputs and len(FIGURES) == 8
    assert sorted(read_manifest(folder)["outputs"]) == sorted(outputs)
    assert read_manifest(folder)["inputs"] == {
        "metrics": "all-given", "finetune": {"pt": "pt-given"}, "generate": {"base": "base-given", "pt": "pt-given"},
        "judge": {"base": "base-given", "pt": "pt-given"}, "comet": "off", "require_qa_pass": True,
        "human_labels": {}}  # no label sheets stored (safedrift bench labels)

    # results.json: the metrics exactly as metrics.json has them, beside what the other folders recorded.
    raw = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    given = json.loads((stages["metrics"]["all"] / "metrics.json").read_text(encoding="utf-8"))
    assert raw["metrics"] == Metrics.model_validate(given).model_dump(mode="json")
    results = Results.model_validate(raw)
    rates = {(c.finetune_language, c.eval_language): (c.compliant, c.n) for c in results.metrics.cells}
    assert rates == {k: (v, 10) for k, v in COMPLIED.items()}
    assert results.figures == list(CAPTIONS)
    assert (results.finetune["pt"].loss, results.finetune["pt"].stage_key) == ([2.0, 1.6, 1.3, 1.2], "pt-given")
    assert results.generation["pt"] == {"stage_key": "pt-given", "new_tokens": 66, "seconds": 1.5}
    assert results.qa_excluded is not None
    assert (results.qa_excluded.sorry_items, results.qa_excluded.train) == (1, {"pt": 2})
    assert results.judge["name"] == "refusal" and results.stage_keys["judge"] == {"base": "base-given",
                                                                                   "pt": "pt-given"}
    # samples.jsonl: every answer with its verdict.
    samples = {(r["model"], r["uid"]): r for r in iter_jsonl(folder / "samples.jsonl")}
    assert len(samples) == 2 * 22
    assert samples[("pt", "sorry:pt:6")]["score"] == 1 and samples[("pt", "sorry:pt:7")]["label"] == "refused"
    assert samples[("base", "sorry:en:0")]["response"] == "answer sorry:en:0"
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "| pt | pt | 10 | 0.70 |" in summary and "![heatmap](heatmap.png)" in summary
    assert all(f"]({name})" in summary for name in FIGURES)
    assert all((folder / name).read_bytes()[:4] == b"\x89PNG" for name in FIGURES)
    # The arrays are copies of the representation stage's.
    for ev in EVALS:
        src = (stages["representation"]["pt"] / f"{ev}.npz").read_bytes()
        assert (folder / "representation" / "pt" / f"{ev}.npz").read_bytes() == src
    # Published: every output beside the run's stage folders.
    for name in outputs:
        assert (cfg.run_dir / name).read_bytes() == (folder / name).read_bytes(), name


def test_a_cached_report_is_reused_and_published_again(upstream):
    cfg, stages = upstream
    folder = _report(cfg, stages)("all")
    written = (folder / "results.json").stat().st_mtime_ns
    (cfg.run_dir / "summary.md").unlink()
    again = _report(cfg, stages)("all")
    assert again == folder and (folder / "results.json").stat().st_mtime_ns == written
    assert (cfg.run_dir / "summary.md").read_bytes() == (folder / "summary.md").read_bytes()
    # Another metrics folder is another report.
    other = stages["metrics"]["all"].with_name("all-other")
    other.mkdir()
    for f in stages["metrics"]["all"].iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    assert _report(cfg, {**stages, "metrics": {"all": other}})("all") != folder


def test_without_representation_no_arrays_are_copied(upstream):
    cfg, stages = upstream
    stage = _report(cfg, stages, with_representation=False)
    folder = stage("all")
    assert stage.outputs("all") == ["results.json", "samples.jsonl", "summary.md", *FIGURES]
    assert not (folder / "representation").exists()
