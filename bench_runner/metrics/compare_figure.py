"""compare_fold_change.png: the fold change against base of every (fine-tune, eval) cell, per family and pooled
over families, one panel per eval language (bench_runner.metrics.compare writes it beside compare.json).

The metrics package sits below the report in the runner's layers, so this figure draws with matplotlib directly
(headless, written atomically) rather than through bench_runner.report.plotting."""

from __future__ import annotations

import io
from pathlib import Path

from safedrift.core.files import atomic_write_bytes

COMPARE_FIGURE = "compare_fold_change.png"
COMPARE_ESTIMATES = (
    "per (fine-tune, eval) cell the fold change of compliance, fine-tuned over base on the same prompts: one marker "
    "per family (its adapters, the seeds, pooled; interval: the per-cell interval with the seed variance in it, "
    "unadjusted) and the families pooled by inverse-variance weights (DerSimonian-Laird random effect, its interval "
    "counting the between-family variation). Unit of replication: the adapter and the prompt within a family, the "
    "family across them. The title's test (family x fine-tune language, adapters as replicates) is the one test "
    "drawn; no stars, so no family of tests to adjust over"
)


def plot_compare(report: dict, path: Path) -> Path:
    """The figure of a compare report (compare.json's dict)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = [f["family"] for f in report["families"]]
    fts, evals = report["finetune_languages"], report["eval_languages"]
    cells = {(f["family"], c["finetune_language"], c["eval_language"]): c
             for f in report["families"] for c in f["design"]["cells"]}
    pooled = {(c["finetune_language"], c["eval_language"]): c for c in report["pooled"]}
    colors = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(evals), figsize=(1.5 + 0.9 * len(fts) * max(1, len(evals)), 3.8), sharey=True,
                             squeeze=False)
    width = 0.7 / (len(families) + 1)
    for ax, ev in zip(axes[0], evals, strict=True):
        for i, ft in enumerate(fts):
            for j, fam in enumerate(families):
                c = cells.get((fam, ft, ev)) or {}
                if c.get("fold_change") is not None:
                    x = i - 0.35 + width * (j + 0.5)
                    ax.errorbar(x, c["fold_change"], yerr=[[c["fold_change"] - c["ci_low"]],
                                                           [c["ci_high"] - c["fold_change"]]],
                                fmt="o", ms=4, color=colors(j), capsize=2, elinewidth=0.8,
                                label=fam if (i, ev) == (0, evals[0]) else None)
            p = pooled.get((ft, ev))
            if p is not None and None not in (p["random"], *p["random_ci"]):  # undefined pooling: not drawn
                x = i - 0.35 + width * (len(families) + 0.5)
                lo, hi = p["random_ci"]
                ax.errorbar(x, p["random"], yerr=[[p["random"] - lo], [hi - p["random"]]], fmt="D", ms=4,
                            color="black", capsize=2, elinewidth=0.8,
                            label="pooled (random effect)" if (i, ev) == (0, evals[0]) else None)
        ax.axhline(1.0, color="grey", linewidth=0.6)
        ax.set_yscale("log")
        ax.set_xticks(range(len(fts)), fts)
        ax.set_xlabel("fine-tune language")
        ax.set_title(f"eval {ev}", fontsize=8)
    axes[0][0].set_ylabel("compliance fold change vs base (log scale)")
    axes[0][0].legend(fontsize=6)
    t = report["family_pattern"]
    test = (f"F = {t['statistic']:.2f}, df {t['df']}, p = {t['p_value']:.3g}" if t["p_value"] is not None
            else t["note"])
    fig.suptitle(f"Fold change against base per family and pooled; {report['confidence']:.0%} intervals per cell\n"
                 f"does the fine-tune-language pattern differ by family? {test}", fontsize=8, y=1.04)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
