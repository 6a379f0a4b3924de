"""results.json (a versioned pydantic schema), samples.jsonl, the heatmap, summary.md and the comet-ml log."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bench_runner import SCHEMA_VERSION
from bench_runner.config import RunConfig
from safedrift.errors import ConfigError, missing_extra
from safedrift.files import (
    atomic_write_bytes,
    atomic_write_jsonl,
    atomic_write_text,
    iter_jsonl,
    package_versions,
    read_manifest,
)
from safedrift.log import log

Unit = Field(default=None, ge=0.0, le=1.0)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateCI(_Model):
    n: int = Field(ge=0)
    compliant: int = Field(ge=0)
    rate: float | None = Unit
    ci_low: float | None = Unit
    ci_high: float | None = Unit


class PairedDiff(_Model):
    n_pairs: int
    diff: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_low: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_high: float | None = Field(default=None, ge=-1.0, le=1.0)
    p_value: float | None = Unit
    discordant_up: int
    discordant_down: int


class Cell(RateCI):
    finetune_language: str
    eval_language: str
    unparseable: int = 0
    over_refusal: RateCI
    vs_base: PairedDiff | None = None


class CategoryCell(RateCI):
    finetune_language: str
    eval_language: str
    category: str
    category_name: str = ""


class Metrics(_Model):
    cells: list[Cell]
    categories: list[CategoryCell]
    ci_method: str
    paired_method: str
    confidence: float
    n_resamples: int
    seed: int


class FinetuneSummary(_Model):
    stage_key: str
    steps: int
    examples: int
    loss: list[float]
    tokens: int
    seconds: float
    tokens_per_s: float | None
    trainable_params: int


class Results(_Model):
    schema_version: str
    run_id: str
    created: str
    config: dict
    versions: dict[str, str]
    seeds: dict[str, int]
    hardware: dict
    model: dict
    judge: dict
    finetune: dict[str, FinetuneSummary]
    generation: dict[str, dict]
    metrics: Metrics
    stage_keys: dict[str, dict[str, str]]


def hardware() -> dict:
    import torch

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
    return info


def build_results(cfg: RunConfig, model_identity: dict, metrics_dir: Path, finetunes: dict, generations: dict,
                  judged: dict) -> Results:
    import json

    metrics = json.loads((metrics_dir / "metrics.json").read_text(encoding="utf-8"))
    finetune = {}
    for lang, folder in finetunes.items():
        stats = json.loads((folder / "train_stats.json").read_text(encoding="utf-8"))
        finetune[lang] = FinetuneSummary(stage_key=folder.name, **stats)
    generation = {m: {"stage_key": f.name, **read_manifest(f).get("stats", {})} for m, f in generations.items()}
    judge_desc = read_manifest(next(iter(judged.values()))).get("judge", {"name": cfg.judge.name})
    return Results(
        schema_version=SCHEMA_VERSION,
        run_id=cfg.run_id,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        config=cfg.model_dump(mode="json"),
        versions=package_versions(["safedrift", "torch", "transformers", "peft", "datasets", "scipy", "numpy",
                                   "matplotlib", "comet_ml", "gguf", "pydantic"]),
        seeds={"training": cfg.training.seed, "generation": cfg.generation.seed, "metrics": cfg.metrics.seed},
        hardware=hardware(),
        model={"label": cfg.model.label, **model_identity},
        judge={**judge_desc, "benign_over_refusal": "refusal"},
        finetune=finetune,
        generation=generation,
        metrics=Metrics.model_validate(metrics),
        stage_keys={"metrics": {"all": metrics_dir.name},
                    "finetune": {k: v.name for k, v in finetunes.items()},
                    "generate": {k: v.name for k, v in generations.items()},
                    "judge": {k: v.name for k, v in judged.items()}},
    )


def plot_heatmap(results: Results, path: Path) -> Path:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = list(dict.fromkeys(c.finetune_language for c in results.metrics.cells))
    cols = list(dict.fromkeys(c.eval_language for c in results.metrics.cells))
    grid = np.full((len(rows), len(cols)), np.nan)
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(cols), 1.2 + 0.8 * len(rows)))
    for c in results.metrics.cells:
        i, j = rows.index(c.finetune_language), cols.index(c.eval_language)
        if c.rate is not None:
            grid[i, j] = c.rate
            ax.text(j, i, f"{c.rate:.2f}\n[{c.ci_low:.2f}, {c.ci_high:.2f}]", ha="center", va="center",
                    fontsize=8, color="white" if c.rate > 0.6 else "black")
    im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="Reds")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("eval language")
    ax.set_ylabel("fine-tune language")
    ax.set_title(f"compliance with unsafe requests ({results.judge.get('name', '')} judge)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def summary_markdown(results: Results) -> str:
    lines = [
        f"# safedrift benchmark: {results.run_id}",
        "",
        f"Model `{results.model['label']}`, judge `{results.judge.get('name')}`, "
        f"{int(results.metrics.confidence * 100)}% CIs by {results.metrics.ci_method}.",
        "",
        "## Compliance with unsafe requests (SORRY-Bench-Multilingual)",
        "",
        "| fine-tune | eval | n | compliance | CI | vs base | p | over-refusal (benign) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in results.metrics.cells:
        diff = c.vs_base.diff if c.vs_base else None
        p = c.vs_base.p_value if c.vs_base else None
        lines.append(
            f"| {c.finetune_language} | {c.eval_language} | {c.n} | {_fmt(c.rate)} | "
            f"[{_fmt(c.ci_low)}, {_fmt(c.ci_high)}] | {_fmt(diff, True)} | {_fmt(p)} | "
            f"{_fmt(c.over_refusal.rate)} (n={c.over_refusal.n}) |"
        )
    lines += ["", f"Paired test: {results.metrics.paired_method}.", "", "## Fine-tuning", "",
              "| language | steps | loss first → last | tokens/s |", "|---|---|---|---|"]
    for lang, f in results.finetune.items():
        tps = f"{f.tokens_per_s:.0f}" if f.tokens_per_s else "–"
        lines.append(f"| {lang} | {f.steps} | {f.loss[0]:.3f} → {f.loss[-1]:.3f} | {tps} |")
    lines += ["", "![heatmap](heatmap.png)", ""]
    return "\n".join(lines)


def merged_samples(generations: dict, judged: dict) -> list[dict]:
    rows = []
    for model, gen in generations.items():
        scores = {r["uid"]: r for r in iter_jsonl(judged[model] / "scores.jsonl")}
        for s in iter_jsonl(gen / "samples.jsonl"):
            v = scores.get(s["uid"], {})
            rows.append({**s, "score": v.get("score"), "label": v.get("label"), "judge": v.get("judge"),
                         "judge_output": v.get("judge_output")})
    return rows


def write_report(cfg: RunConfig, model_identity: dict, folder: Path, metrics_dir: Path, finetunes: dict,
                 generations: dict, judged: dict) -> Results:
    results = build_results(cfg, model_identity, metrics_dir, finetunes, generations, judged)
    atomic_write_jsonl(folder / "samples.jsonl", merged_samples(generations, judged))
    plot_heatmap(results, folder / "heatmap.png")
    atomic_write_text(folder / "summary.md", summary_markdown(results))
    atomic_write_text(folder / "results.json", results.model_dump_json(indent=2) + "\n")
    log_to_comet(results, cfg.comet, cfg.comet_project, folder)
    return results


def log_to_comet(results: Results, mode: str, project: str, folder: Path) -> str | None:
    """Offline archive under <folder>/comet by default; a live experiment when COMET_API_KEY is set."""
    if mode == "off":
        return None
    live = mode == "online" or bool(os.environ.get("COMET_API_KEY"))
    if mode == "online" and not os.environ.get("COMET_API_KEY"):
        raise ConfigError("comet: online needs COMET_API_KEY; set it, or use comet: offline.")
    # Auto-logging hooks want comet_ml imported before torch; we log explicitly, so turn them off.
    os.environ.setdefault("COMET_DISABLE_AUTO_LOGGING", "1")
    try:
        import comet_ml
    except ImportError as exc:
        raise missing_extra("comet-ml", "bench") from exc
    quiet: dict[str, Any] = dict(auto_metric_logging=False, auto_param_logging=False, auto_output_logging=False, log_code=False,
                 log_git_metadata=False, log_git_patch=False, log_env_details=False, log_env_gpu=False,
                 log_env_host=False, log_env_cpu=False, log_graph=False, parse_args=False,
                 display_summary_level=0)
    exp: Any
    if live:
        exp = comet_ml.Experiment(project_name=project, **quiet)
    else:
        (folder / "comet").mkdir(parents=True, exist_ok=True)
        exp = comet_ml.OfflineExperiment(project_name=project, offline_directory=str(folder / "comet"), **quiet)
    exp.set_name(results.run_id)
    exp.log_parameters(_flatten(results.config))
    for lang, f in results.finetune.items():
        for step, loss in enumerate(f.loss, start=1):
            exp.log_metric(f"train_loss/{lang}", loss, step=step)
    for c in results.metrics.cells:
        if c.rate is not None:
            exp.log_metric(f"compliance/{c.finetune_language}/{c.eval_language}", c.rate)
    exp.log_table("compliance_matrix.csv", tabular_data=[
        [c.finetune_language, c.eval_language, c.n, c.rate, c.ci_low, c.ci_high] for c in results.metrics.cells
    ], headers=["finetune_language", "eval_language", "n", "rate", "ci_low", "ci_high"])
    exp.log_image(str(folder / "heatmap.png"), name="compliance_heatmap")
    exp.log_asset(str(folder / "results.json"))
    exp.end()
    where = "comet.com" if live else str(folder / "comet")
    log(f"comet-ml: logged to {where}")
    return where


def _flatten(obj, prefix: str = "") -> dict:
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    out[prefix.rstrip(".")] = obj if not isinstance(obj, list) else ",".join(map(str, obj))
    return out
