"""The report's figures (PNG, matplotlib), drawn from results.json's data (a plain dict, Results.model_dump()).

Every figure in FIGURES is always written, so the report stage's outputs are known before it runs; a measurement
that is switched off or could not be made draws a panel saying so instead of silently leaving the file out.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from bench_runner.report.layers import curves_by_language, finetune_language
from bench_runner.report.plotting import (
    Drawn,
    EmptyFigure,
    grouped_bars,
    legend_beside,
    model_colors,
    n_text,
    placeholder,
    pyplot,
    save_png,
    short_name,
    stagger,
    stars,
    wrapped,
)
from safedrift.core.specs import SORRY_BENCH_HUB_ID

HEATMAP = "heatmap.png"
LOSS_CURVE = "loss_curve.png"
# The study's figures: captioned in summary.md's Figures section and listed in results.json `figures` (the heatmap
# and the loss curve have sections of their own there).
CAPTIONS = {
    "delta_compliance.png": "Compliance with unsafe requests, fine-tuned minus base, per cell (significance: Holm)",
    "over_refusal.png": "Exaggerated refusal and exaggerated compliance: XSTest safe / contrast prompts, benign prompts",
    "capability_vs_safety.png": "Capability vs safety: change in held-out loss (bits per byte) vs change in compliance, "
                                "per cell, one panel per eval language",
    "drift_per_layer.png": "Representational drift per layer (debiased CKA and cosine over the user's content tokens "
                           "and at the last token, base vs fine-tuned, with the seed noise floor)",
    "sorry_domains.png": "SORRY-Bench compliance by category, grouped into its four domains",
    "xstest_types.png": "XSTest by prompt type: refusal on safe types, compliance on contrast types",
}
# What each figure estimates, in words, under it in summary.md: the estimand, the unit of replication, the interval
# and the family its stars or intervals are adjusted over. A model label is one adapter (fine-tune language x training
# seed); metrics.design (summary.md's fold-change section) is where adapters of one language are replicates.
ESTIMATES = {
    HEATMAP: "per (model, eval language) cell the share of SORRY-Bench prompts complied with, pooled over prompts "
             "(micro); beside it the paired difference to base on the same prompts. Unit: the prompt, given the "
             "model's one adapter. Intervals: Wilson for the rate; for the difference Agresti-Min at the Bonferroni "
             "level over the grid's cell-vs-base tests, the family the Holm-adjusted McNemar p-values use",
    LOSS_CURVE: "the training loss of every adapter per optimizer step; no interval (one run per adapter)",
    "delta_compliance.png": "per cell the compliance difference fine-tuned minus base on the same prompts. Unit: the "
                            "prompt, given the adapter. Intervals: Agresti-Min, simultaneous over the grid's "
                            "cell-vs-base tests (Bonferroni); stars: exact McNemar p after Holm over the same family",
    "over_refusal.png": "per cell the refusal rate of XSTest's safe prompts, the compliance rate of its unsafe "
                        "contrasts and the refusal rate of the benign prompts. Unit: the prompt. Intervals: Wilson per "
                        "rate, unadjusted; stars: the paired McNemar test against base after Holm over each panel's "
                        "cell-vs-base tests (the same family the table's shift labels use)",
    "capability_vs_safety.png": "per cell the change in held-out loss (bits per byte) against the change in compliance, "
                                "both fine-tuned minus base. Unit: the example / the prompt. Intervals: bootstrap "
                                "(loss) and percentile bootstrap (compliance) per cell, unadjusted: no test is drawn",
    "drift_per_layer.png": "per layer the similarity of base and fine-tuned hidden states (debiased CKA, cosine), "
                           "averaged over eval languages and seeds; band: min-max over them; dashed: the seed noise "
                           "floor. Unit: the probe prompt; no interval drawn (results.json has the bootstrap CIs)",
    "sorry_domains.png": "compliance per SORRY-Bench category and per domain, pooled over eval languages. Unit: the "
                         "prompt. Intervals: Wilson per domain rate, unadjusted, descriptive (no test)",
    "xstest_types.png": "refusal (safe types) and compliance (contrast types) per XSTest type, pooled over eval "
                        "languages. Unit: the prompt; no interval (a handful of prompts per type)",
}
# SORRY-Bench's four domains and the category numbers in each (Xie et al., SORRY-Bench, ICLR 2025, Table 5), per
# release: sorry-bench-202406 has 45 categories (12 = Impersonation); sorry-bench-202503 removed Impersonation and
# numbered the rest 1-44, so every category after 11 moved down by one (25 = Advice on Adult Content opens the
# Inappropriate Topics, 40 = Medical Advice the Unqualified Advice). The figure uses the release the SORRY-Bench spec
# names (safedrift.core.specs.SORRY_BENCH_HUB_ID).
SORRY_BENCH_DOMAINS_BY_RELEASE = {
    "sorry-bench/sorry-bench-202406": (
        ("Hate Speech Generation", 1, 5),
        ("Assistance with Crimes or Torts", 6, 25),
        ("Potentially Inappropriate Topics", 26, 40),
        ("Potentially Unqualified Advice", 41, 45),
    ),
    "sorry-bench/sorry-bench-202503": (
        ("Hate Speech Generation", 1, 5),
        ("Assistance with Crimes or Torts", 6, 24),
        ("Potentially Inappropriate Topics", 25, 39),
        ("Potentially Unqualified Advice", 40, 44),
    ),
}
SORRY_BENCH_DOMAINS = SORRY_BENCH_DOMAINS_BY_RELEASE[SORRY_BENCH_HUB_ID]


def sorry_domain(category: str) -> str | None:
    if not category.isdigit():
        return None
    c = int(category)
    return next((name for name, lo, hi in SORRY_BENCH_DOMAINS if lo <= c <= hi), None)


# ---- the compliance heatmap --------------------------------------------------------------------------------------

def plot_heatmap(results: dict, path: Path) -> Drawn:
    """Compliance per (fine-tune, eval) cell with its CI and counts, and the paired difference to the base model."""
    cells = results["metrics"]["cells"]
    rows = list(dict.fromkeys(c["finetune_language"] for c in cells))
    cols = list(dict.fromkeys(c["eval_language"] for c in cells))
    grid = np.full((len(rows), len(cols)), np.nan)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(cols), 1.2 + 1.3 * len(rows)))
    adjusted = adjusted_vs_base(cells, results["metrics"]["confidence"])
    for c in cells:
        i, j = rows.index(c["finetune_language"]), cols.index(c["eval_language"])
        text = cell_counts(c)
        if c["rate"] is not None:
            grid[i, j] = c["rate"]
            text = f"{c['rate']:.2f}\n[{c['ci_low']:.2f}, {c['ci_high']:.2f}]\n{text}"
        d = c.get("vs_base")
        if d is not None and d["diff"] is not None:  # the paired difference to the base model, with its CI
            lo, hi = adjusted[(c["finetune_language"], c["eval_language"])]
            text += f"\nvs base {d['diff']:+.2f}\n[{_signed(lo)}, {_signed(hi)}]"
        ax.text(j, i, text, ha="center", va="center", fontsize=7,
                color="white" if (c["rate"] or 0.0) > 0.6 else "black")
    im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="Reds")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("eval language")
    ax.set_ylabel("fine-tune language")
    ci = int(results["metrics"]["confidence"] * 100)
    ax.set_title(f"compliance with unsafe requests\n({results['judge'].get('name', '')} judge, {ci}% Wilson CI; "
                 f"vs base: paired difference, {ci}% CI simultaneous over {len(adjusted)} cells)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return save_png(fig, path, dpi=120, bbox_inches=None)


def adjusted_vs_base(cells: list[dict], confidence: float) -> dict[tuple[str, str], tuple[float, float]]:
    """Per (fine-tune, eval) cell with a difference to base: its interval adjusted over the Holm family of those
    cells (bench_runner.metrics.stats.adjusted_paired_ci), so the drawn intervals match the starred tests."""
    from bench_runner.metrics.stats import adjusted_paired_ci

    tested = [c for c in cells if c.get("vs_base") and c["vs_base"]["diff"] is not None]
    return {(c["finetune_language"], c["eval_language"]): adjusted_paired_ci(
        c["vs_base"]["discordant_up"], c["vs_base"]["discordant_down"], c["vs_base"]["n_pairs"], len(tested),
        confidence) for c in tested}


def cell_counts(c: dict) -> str:
    """ "n=40, 2 unparsed, 1 empty": the denominator and the answers the judge could not score."""
    parts = [f"n={c['n']}"]
    if c.get("unparseable"):
        parts.append(f"{c['unparseable']} unparsed")
    if c.get("empty"):
        parts.append(f"{c['empty']} empty")
    return ", ".join(parts)


def _signed(x: float | None) -> str:
    return "–" if x is None else f"{x:+.2f}"


# ---- the training loss -------------------------------------------------------------------------------------------

def plot_loss_curves(results: dict, path: Path) -> Drawn:
    """One small figure: the training loss of every fine-tune by step."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    for lang, f in results["finetune"].items():
        ax.plot(range(1, len(f["loss"]) + 1), f["loss"], label=lang, linewidth=1.2)
    if results["finetune"]:
        ax.legend(title="fine-tune language", fontsize=7, title_fontsize=7)
    else:
        ax.text(0.5, 0.5, "no fine-tune in this run", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(f"training loss: {results['model'].get('label', '')}", fontsize=9)
    fig.tight_layout()
    return save_png(fig, path, dpi=110, bbox_inches=None)


# ---- 1. Δ compliance vs base ------------------------------------------------------------------------------------

def plot_delta_compliance(results: dict, path: Path) -> Drawn:
    cells = [c for c in results["metrics"]["cells"] if c.get("vs_base") and c["vs_base"]["diff"] is not None]
    title = "Compliance with unsafe requests: fine-tuned minus base"
    if not cells:
        return placeholder(path, title, "no fine-tuned model with a base to compare (finetune_languages needs base)")
    evals = list(dict.fromkeys(c["eval_language"] for c in cells))
    fts = list(dict.fromkeys(c["finetune_language"] for c in cells))
    by = {(c["finetune_language"], c["eval_language"]): c["vs_base"] for c in cells}
    adjusted = adjusted_vs_base(cells, results["metrics"]["confidence"])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(4.5, 1.6 + 0.35 * len(evals) * max(2, len(fts))), 4.2))
    grouped_bars(ax, evals, fts, lambda s, g: by[(s, g)]["diff"] if (s, g) in by else None,
                  lambda s, g: adjusted[(s, g)], lambda s, g: stars(by[(s, g)]["p_adjusted"]))
    ci = int(results["metrics"]["confidence"] * 100)
    ax.set_xlabel("eval language")
    ax.set_ylabel("Δ compliance vs base (percentage points)")
    ax.set_title(wrapped(f"{title}\n{ci}% CIs simultaneous over the {len(by)} cells (Bonferroni, Agresti-Min); "
                         f"* / ** / *** Holm-adjusted McNemar p < .05 / .01 / .001 over the same {len(by)} tests; "
                         f"{n_text([d['n_pairs'] for d in by.values()])} prompt pairs per cell",
                         fig.get_figwidth() - 0.8, 8), fontsize=8)
    legend_beside(ax, "fine-tune language")  # beside the axes: the PNG grows to the right by the legend's width
    return save_png(fig, path)


# ---- 2. over-refusal ----------------------------------------------------------------------------------------------

def plot_over_refusal(results: dict, path: Path) -> Drawn:
    o = results["metrics"].get("over_refusal") or {}
    cells = o.get("cells") or []
    panels = [("safe_refusal", "XSTest safe prompts:\nrefusal (%) — exaggerated refusal"),
              ("contrast_compliance", "XSTest unsafe contrasts:\ncompliance (%) — exaggerated compliance"),
              ("benign_refusal", "held-out benign prompts:\nrefusal (%)")]
    if not cells:
        return placeholder(path, "Over-refusal", "no XSTest or benign prompts in the eval set")
    evals = list(dict.fromkeys(c["eval_language"] for c in cells))
    models = list(dict.fromkeys(c["finetune_language"] for c in cells))
    by = {(c["finetune_language"], c["eval_language"]): c for c in cells}
    plt = pyplot()
    width = max(2.8, min(6.0, 1.2 + 0.22 * len(evals) * len(models)))  # per panel
    # constrained layout keeps the three panel titles, the figure title and the legend (beside the panels) apart.
    fig, axes = plt.subplots(1, 3, figsize=(3 * width + 1.0, 4.4), sharey=True, layout="constrained")
    for ax, (key, label) in zip(axes, panels, strict=True):
        def value(m, ev, key=key):
            return by[(m, ev)][key]["rate"] if (m, ev) in by else None

        def err(m, ev, key=key):
            r = by[(m, ev)][key]
            return (r["ci_low"], r["ci_high"])

        def mark(m, ev, key=key):
            d = by[(m, ev)][key].get("vs_base")
            return stars(d["p_adjusted"]) if d else ""

        ns = [by[(m, ev)][key]["n"] for m in models for ev in evals if (m, ev) in by]
        if any(ns):
            grouped_bars(ax, evals, models, value, err, mark)
        else:
            ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center", va="center", fontsize=9)
        ax.set_title(wrapped(f"{label} ({n_text(ns)})", width - 0.4, 8), fontsize=8)
        ax.set_xlabel("eval language")
        ax.set_ylim(0, 110)
    axes[0].set_ylabel("rate (%), Wilson CI")
    handles = max((ax.get_legend_handles_labels() for ax in axes), key=lambda hl: len(hl[0]))
    fig.legend(*handles, title="model", fontsize=7, title_fontsize=7, loc="outside lower center",
               ncol=min(6, len(models)))
    tested = {key: sum(1 for c in cells if (c[key].get("vs_base") or {}).get("p_value") is not None)
              for key, _ in panels}
    family = ", ".join(f"{n}" for n in tested.values())
    fig.suptitle(wrapped("Over-refusal and contrast compliance; bars: rates with Wilson CIs; * / ** / *** exact McNemar p vs "
                         f"base < .05 / .01 / .001 after Holm over each panel's cell-vs-base tests ({family} tests)",
                         fig.get_figwidth(), 9), fontsize=9)
    return save_png(fig, path)


# ---- 3. capability vs safety -------------------------------------------------------------------------------------

def plot_capability_vs_safety(results: dict, path: Path) -> Drawn:
    """One panel per eval language (cells of different languages share prompts and adapters, and nats per token
    differ up to 7.5x between languages, so one pooled cloud and its correlation would mislead): Δ held-out loss in
    bits per UTF-8 byte (nats per token for results without bytes) against Δ compliance, each with its CI."""
    cap = results["metrics"].get("capability") or {}
    title = "Capability vs safety per (fine-tune, eval) cell"
    loss = {(c["finetune_language"], c["eval_language"]): c["vs_base"] for c in cap.get("cells") or []
            if c.get("vs_base") and c["vs_base"]["diff"] is not None}
    comp = {(c["finetune_language"], c["eval_language"]): c["vs_base"] for c in results["metrics"]["cells"]
            if c.get("vs_base") and c["vs_base"]["diff"] is not None}
    keys = [k for k in comp if k in loss]
    if not keys:
        return placeholder(path, title, "needs the held-out loss (capability.heldout_loss) and a base model")
    per_byte = all(loss[k].get("diff_bits_per_byte") is not None for k in keys)
    x_key, lo_key, hi_key = ("diff_bits_per_byte", "bpb_ci_low", "bpb_ci_high") if per_byte else (
        "diff", "ci_low", "ci_high")
    fts = list(dict.fromkeys(k[0] for k in keys))
    evals = list(dict.fromkeys(k[1] for k in keys))
    colors = model_colors(fts)
    plt = pyplot()
    fig, axes = plt.subplots(1, len(evals), figsize=(3.2 * len(evals) + 1.0, 3.8), sharey=True, squeeze=False)
    for ax, ev in zip(axes[0], evals, strict=True):
        for ft in [f for f in fts if (f, ev) in keys]:
            x, y = loss[(ft, ev)], comp[(ft, ev)]
            lo, hi = x.get(lo_key), x.get(hi_key)
            ax.errorbar(x[x_key], 100 * y["diff"],
                        xerr=None if lo is None or hi is None else [[x[x_key] - lo], [hi - x[x_key]]],
                        yerr=[[100 * (y["diff"] - y["ci_low"])], [100 * (y["ci_high"] - y["diff"])]],
                        fmt="o", color=colors[ft], ms=5, elinewidth=0.6, capsize=2, label=f"fine-tune {ft}")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(f"eval {ev}", fontsize=8)
        ax.set_xlabel("Δ held-out loss vs base (" + ("bits / byte" if per_byte else "nats / token") + "; > 0 = worse)",
                      fontsize=7)
    axes[0][0].set_ylabel("Δ compliance vs base (percentage points)")
    legend_beside(axes[0][-1], "", fontsize=6)
    n_loss = n_text([loss[k]["n_pairs"] for k in keys])
    fig.suptitle(f"{title}\n{len(keys)} cells, loss {n_loss} examples per cell; one panel per eval language (cells "
                 "share prompts and adapters: no pooled correlation)", fontsize=8, y=1.04)
    return save_png(fig, path)


# ---- 4. drift per layer ------------------------------------------------------------------------------------------

def plot_drift_per_layer(results: dict, path: Path) -> Drawn:
    rep = results["metrics"].get("representation") or {}
    cells = rep.get("cells") or []
    title = "Representational drift per layer (base vs fine-tuned)"
    if not cells:
        return placeholder(path, title, "representation.enabled is off or there is no fine-tuned model")
    # One line per fine-tune language: its adapters (one per training seed) and eval languages together.
    fts = list(dict.fromkeys(finetune_language(c) for c in cells))
    colors = model_colors(fts)
    plt = pyplot()
    panels = [("dcka_content", "debiased CKA, user content tokens"), ("dcka_last", "debiased CKA, last token"),
              ("cosine_content", "cosine similarity, user content tokens")]
    if not all(key in cells[0]["per_layer"] for key, _ in panels):  # a run from before debiased CKA
        panels = [("cka_mean", "linear CKA, mean-pooled"), ("cka_last", "linear CKA, last token"),
                  ("cosine_last", "cosine similarity, last token")]
    floor = rep.get("noise_floor") or {}
    fig, axes = plt.subplots(1, len(panels), figsize=(12, 3.8), sharex=True)
    for ax, (key, label) in zip(axes, panels, strict=True):
        for ft in fts:
            curves = curves_by_language(cells, key)[ft]
            layers = np.arange(1, curves.shape[1] + 1)
            ax.plot(layers, np.nanmean(curves, axis=0), color=colors[ft], label=f"{ft} ({len(curves)} cells)")
            if len(curves) > 1:
                ax.fill_between(layers, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0), color=colors[ft],
                                alpha=0.15, linewidth=0)
        top = cells[0]["top_layers"]
        ax.axvspan(min(top) - 0.5, max(top) + 0.5, color="grey", alpha=0.1)
        floor_curve = (floor.get("drift_per_layer") or {}).get(key)
        if floor_curve:  # seeds alone move the states this much: drift above it is the fine-tune language's
            ax.plot(np.arange(1, len(floor_curve) + 1), 1.0 - np.asarray(floor_curve), color="black",
                    linestyle="--", linewidth=0.9, label="seed noise floor")
        ax.set_xlabel("layer (transformer block)")
        ax.set_title(label, fontsize=8)
    axes[0].set_ylabel("similarity to the base model (1 = unchanged)")
    legend_beside(axes[-1], "fine-tune language", fontsize=6)
    probes = n_text([c["n_probes"] for c in cells])
    floor_text = ("dashed: the seed noise floor (two seeds of one language compared with each other)"
                  if floor.get("drift") is not None
                  else f"seed noise floor: not measured ({floor['reason']})" if floor.get("reason") else "")
    fig.suptitle(f"{title}\nline: mean over eval languages and seeds, band: min–max; {probes} probes per language; "
                 f"grey: the top third of layers (summarised in results.json)\n{floor_text}", fontsize=9, y=1.08)
    return save_png(fig, path)


# ---- 5. SORRY-Bench categories by domain -------------------------------------------------------------------------

def plot_sorry_domains(results: dict, path: Path) -> Drawn:
    from bench_runner.metrics.stats import wilson_ci

    cats = results["metrics"]["categories"]
    title = "SORRY-Bench compliance by category and domain (pooled over eval languages)"
    if not cats:
        return placeholder(path, title, "no SORRY-Bench verdicts")
    models = list(dict.fromkeys(c["finetune_language"] for c in results["metrics"]["cells"]))
    k: dict[tuple[str, str], int] = defaultdict(int)
    n: dict[tuple[str, str], int] = defaultdict(int)
    for c in cats:
        k[(c["finetune_language"], c["category"])] += c["compliant"]
        n[(c["finetune_language"], c["category"])] += c["n"]
    categories = sorted({c["category"] for c in cats}, key=lambda x: (0, int(x), "") if x.isdigit() else (1, 0, x))
    grid = np.full((len(models), len(categories)), np.nan)
    for i, m in enumerate(models):
        for j, cat in enumerate(categories):
            if n[(m, cat)]:
                grid[i, j] = k[(m, cat)] / n[(m, cat)]
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(max(7.0, 0.22 * len(categories) + 3), 2.0 + 0.5 * len(models) + 4.4),
                                 gridspec_kw={"height_ratios": [max(1, len(models)), 3]}, layout="constrained")
    im = ax.imshow(100 * grid, vmin=0, vmax=100, cmap="Reds", aspect="auto")
    category_names = {c["category"]: c.get("category_name") or "" for c in cats}
    ax.set_xticks(range(len(categories)), [f"{c} {short_name(category_names[c])}".strip() for c in categories],
                  fontsize=6, rotation=90 if any(category_names.values()) else 0)
    ax.set_yticks(range(len(models)), models, fontsize=7)
    ax.set_xlabel("SORRY-Bench category")
    ax.set_ylabel("model (fine-tune language)")
    fig.colorbar(im, ax=ax, fraction=0.03, label="compliance (%)")
    # Domain brackets above the heatmap.
    domains = [(name, [j for j, c in enumerate(categories) if sorry_domain(c) == name])
               for name, _, _ in SORRY_BENCH_DOMAINS]
    labels = []
    for d, (name, cols) in enumerate(domains):
        if not cols:
            continue
        if d:
            ax.axvline(min(cols) - 0.5, color="black", linewidth=1.0)
        labels.append(ax.annotate(domain_short(name), ((min(cols) + max(cols)) / 2, 1.0),
                                  xycoords=("data", "axes fraction"), xytext=(0, 3), textcoords="offset points",
                                  ha="center", va="bottom", fontsize=6))
    rows = stagger(fig, labels, step=9.0)
    per_cat = n_text([n[(m, c)] for m in models for c in categories])
    ax.set_title(f"{title}\n{per_cat} answers per category and model", fontsize=8, pad=6 + 9 * rows)
    # Per-domain rates with Wilson CIs.
    names = [name for name, cols in domains if cols]
    short = [domain_short(name) for name in names]
    rates: dict[tuple[str, str], tuple[float, float, float, int]] = {}
    confidence = results["metrics"]["confidence"]
    for m in models:
        for name, cols in domains:
            kk = sum(k[(m, categories[j])] for j in cols)
            nn = sum(n[(m, categories[j])] for j in cols)
            if nn:
                lo, hi = wilson_ci(kk, nn, confidence)
                rates[(m, name)] = (kk / nn, lo, hi, nn)
    grouped_bars(bx, names, models, lambda m, g: rates[(m, g)][0] if (m, g) in rates else None,
                  lambda m, g: rates[(m, g)][1:3])
    bx.set_xticks(range(len(names)), [f"{s}\n({n_text([rates[(m, nm)][3] for m in models if (m, nm) in rates])})"
                                      for s, nm in zip(short, names, strict=True)], fontsize=7)
    bx.set_ylabel(f"compliance (%), {int(confidence * 100)}% Wilson CI")
    bx.set_xlabel("SORRY-Bench domain (answers per model)")
    bx.set_ylim(0, 105)
    legend_beside(bx, "model", fontsize=6)
    return save_png(fig, path)


def domain_short(name: str) -> str:
    return name.replace("Potentially ", "").replace("Assistance with ", "")


# ---- 6. XSTest by type -------------------------------------------------------------------------------------------

def plot_xstest_types(results: dict, path: Path) -> Drawn:
    o = results["metrics"].get("over_refusal") or {}
    cells = [c for c in o.get("cells") or [] if c.get("by_type")]
    title = "XSTest by prompt type (pooled over eval languages)"
    if not cells:
        return placeholder(path, title, "no XSTest prompts in the eval set (datasets.xstest)")
    models = list(dict.fromkeys(c["finetune_language"] for c in cells))
    k: dict[tuple[str, str], int] = defaultdict(int)
    n: dict[tuple[str, str], int] = defaultdict(int)
    labels: dict[str, str] = {}
    for c in cells:
        for t in c["by_type"]:
            k[(c["finetune_language"], t["type"])] += t["count"]
            n[(c["finetune_language"], t["type"])] += t["n"]
            labels[t["type"]] = t["label"]
    types = sorted(labels, key=lambda t: (labels[t] != "safe", t))
    grid = np.array([[k[(m, t)] / n[(m, t)] if n[(m, t)] else np.nan for t in types] for m in models])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2.5 + 0.5 * len(types), 1.8 + 0.45 * len(models)))
    im = ax.imshow(100 * grid, vmin=0, vmax=100, cmap="Purples", aspect="auto")
    for i in range(len(models)):
        for j in range(len(types)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{100 * grid[i, j]:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if grid[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(types)), [t.replace("_", " ") for t in types], rotation=60, ha="right", fontsize=6)
    ax.set_yticks(range(len(models)), models, fontsize=7)
    safe = sum(labels[t] == "safe" for t in types)
    if 0 < safe < len(types):
        ax.axvline(safe - 0.5, color="black", linewidth=1.0)
    ax.set_xlabel("XSTest type (left: safe prompts, % refused; right: unsafe contrasts, % complied)")
    ax.set_ylabel("model (fine-tune language)")
    fig.colorbar(im, ax=ax, fraction=0.03, label="rate (%)")
    ax.set_title(f"{title}; {n_text([n[(m, t)] for m in models for t in types])} prompts per type and model",
                 fontsize=8)
    return save_png(fig, path)


PLOTS = {HEATMAP: plot_heatmap, LOSS_CURVE: plot_loss_curves, "delta_compliance.png": plot_delta_compliance,
         "over_refusal.png": plot_over_refusal, "capability_vs_safety.png": plot_capability_vs_safety,
         "drift_per_layer.png": plot_drift_per_layer, "sorry_domains.png": plot_sorry_domains,
         "xstest_types.png": plot_xstest_types}
FIGURES = tuple(PLOTS)  # every PNG the report writes, beside results.json


def write_figures(results: dict, folder: Path) -> dict[str, str]:
    """Every figure of FIGURES into `folder`; returns the ones with nothing to plot and why (run warnings)."""
    drawn = {name: plot(results, Path(folder) / name) for name, plot in PLOTS.items()}
    return {name: d.reason for name, d in drawn.items() if isinstance(d, EmptyFigure)}
