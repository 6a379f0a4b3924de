"""results.json's content, assembled from the finished stage folders: the metrics, every fine-tune's training
summary, generation stats, the judge, what translation QA left out, hardware, versions and provenance; and
samples.jsonl, every answer with its verdict."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

from bench_runner import SCHEMA_VERSION
from bench_runner.config import RunConfig
from bench_runner.metrics.agreement import stored_human_agreement
from bench_runner.provenance import run_provenance
from bench_runner.report.figures import CAPTIONS
from bench_runner.report.schema import FinetuneSummary, Metrics, QaExcluded, Results
from bench_runner.report.warnings import run_warnings
from bench_runner.stage import VERSIONS_REPORTED, versions
from safedrift.core.files import iter_jsonl, read_manifest


def hardware() -> dict:
    import torch

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
    return info


def build_results(cfg: RunConfig, model_identity: dict, metrics_dir: Path, finetunes: dict[str, Path],
                  generations: dict[str, Path], judged: dict[str, Path]) -> Results:
    """results.json from the finished folders of the metrics stage and, per model, the finetune, generate and judge
    stages (fine-tune language -> folder; generate and judge: base first)."""
    metrics = json.loads((metrics_dir / "metrics.json").read_text(encoding="utf-8"))
    study = metrics_dir / "study.json"  # bench_runner.metrics.study: the adapter-level design figures
    if study.is_file():
        metrics.update(json.loads(study.read_text(encoding="utf-8")))
    # People's labels stored in the run by `safedrift bench labels` (annotation/labels/), against these verdicts.
    metrics["human_agreement"] = stored_human_agreement(cfg.run_dir, judged)
    finetune = {}
    for lang, folder in finetunes.items():
        stats = json.loads((folder / "train_stats.json").read_text(encoding="utf-8"))
        finetune[lang] = FinetuneSummary(stage_key=folder.name, **stats)
    manifests = {m: read_manifest(f) for m, f in generations.items()}
    generation = {m: {"stage_key": f.name, **manifests[m].get("stats", {})} for m, f in generations.items()}
    # Every generate stage asked the same prompts, so the first manifest's counts stand for all of them.
    eval_excluded = {**next(iter(manifests.values())).get("qa_excluded", {}),
                     "require_qa_pass": cfg.datasets.require_qa_pass}
    qa_excluded = QaExcluded(**eval_excluded, train={k: v.qa_excluded or 0 for k, v in finetune.items()})
    judge_desc = read_manifest(next(iter(judged.values()))).get("judge", {"name": cfg.judge.name})
    prov = run_provenance(cfg)
    if prov["judge_weights"]:
        judge_desc = {**judge_desc, "weights": prov["judge_weights"]}
    return Results(
        schema_version=SCHEMA_VERSION,
        run_id=cfg.run_id,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        config=cfg.model_dump(mode="json"),
        versions=versions(VERSIONS_REPORTED),
        seeds={"training": cfg.training.seed, "generation": cfg.generation.seed, "metrics": cfg.metrics.seed},
        training_seeds=cfg.training.replicate_seeds,  # one adapter per fine-tune language and seed
        hardware=hardware(),
        model={"label": cfg.model.label, **model_identity, "weights": prov["weights"]},
        judge={**judge_desc, "benign_over_refusal": cfg.judge.refusal_judge, "xstest": cfg.judge.refusal_judge,
               "secondary": cfg.judge.secondary, "headline": cfg.judge.headline},
        finetune=finetune,
        # models brought in (config `models:`): what keyed their folders, as their generate manifests record it
        imported={m: man["inputs"]["imported"] for m, man in manifests.items() if "imported" in man.get("inputs", {})},
        generation=generation,
        metrics=(measured := Metrics.model_validate(metrics)),
        qa_excluded=qa_excluded,
        stage_keys={"metrics": {"all": metrics_dir.name},
                    "finetune": {k: v.name for k, v in finetunes.items()},
                    "generate": {k: v.name for k, v in generations.items()},
                    "judge": {k: v.name for k, v in judged.items()}},
        datasets=prov["datasets"],
        toolkit=prov["toolkit"],
        config_file=prov["config_file"],
        overrides=cfg._overrides,
        warnings=run_warnings(finetune, measured, generations, cfg.metrics.min_verdicts),
        figures=list(CAPTIONS),
    )


def merged_samples(generations: dict[str, Path], judged: dict[str, Path]) -> list[dict]:
    """samples.jsonl: every generated answer with its judge's verdict (None where the judge left it out)."""
    rows = []
    for model, gen in generations.items():
        scores = {r["uid"]: r for r in iter_jsonl(judged[model] / "scores.jsonl")}
        for s in iter_jsonl(gen / "samples.jsonl"):
            v = scores.get(s["uid"], {})
            rows.append({**s, "score": v.get("score"), "label": v.get("label"), "judge": v.get("judge"),
                         "judge_output": v.get("judge_output")})
    return rows
