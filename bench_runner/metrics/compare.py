"""Several finished runs (model families) on the same datasets, one report: per family the study-design figures
(design.py), the fold changes pooled over families, and the test that the fine-tune-language pattern differs by
family.

    .venv/bin/python -m bench_runner.metrics.compare OUT_DIR RUN_DIR RUN_DIR [...]

(or `safedrift bench compare OUT_DIR RUN_DIR RUN_DIR [...]`) reads each run's results.json (its config: fine-tune
languages, seeds, eval languages) and samples.jsonl (every answer with its verdict), and writes
OUT_DIR/compare.json, OUT_DIR/compare.md and OUT_DIR/compare_fold_change.png (compare_figure.py).

Pooled fold change: the families' log fold changes of a cell combined by inverse-variance weights
(statsmodels combine_effects; fixed effect beside the DerSimonian-Laird random effect, whose interval also counts
the between-family variation, and Cochran's Q of the families' disagreement). Family pattern: per adapter the mean
over eval languages of its empirical logit; a two-way layout family x fine-tune language with the seeds as
replicates; F test of the interaction (statsmodels OLS, nested models) against the seed-to-seed variation: "the
ranking of fine-tune languages differs by family". With one seed per language there is nothing to test it
against, and the test says so."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench_runner.config import BASE, MetricsConfig, parse_config
from bench_runner.data import COMPLIANCE, kind_of
from bench_runner.metrics.compare_figure import COMPARE_ESTIMATES, COMPARE_FIGURE, plot_compare
from bench_runner.metrics.design import adapter_logits, design_figures, verdict_cube
from bench_runner.metrics.official import common_items, on_common_set
from bench_runner.metrics.over_refusal import values_by_measure
from bench_runner.stage import RunContext
from safedrift.core.errors import ConfigError
from safedrift.core.files import atomic_write_json, atomic_write_text, iter_jsonl

PATTERN_METHOD = (
    "per adapter the mean over eval languages of its empirical logit; OLS of family x fine-tune language with the "
    "seeds as replicates; F test of the interaction against the within-cell (seed) variation (statsmodels "
    "compare_f_test of the nested models)"
)
POOLED_METHOD = ("log fold changes of the families combined by inverse-variance weights (statsmodels "
                 "combine_effects): fixed effect, and DerSimonian-Laird random effect with Cochran's Q across families")


def read_run(run_dir: Path) -> dict:
    """A finished run: its model label, adapters, eval languages and answers with verdicts."""
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise ConfigError(f"{run_dir} has no results.json; run `safedrift bench` on its config first.")
    results = json.loads(results_path.read_text(encoding="utf-8"))
    cfg = parse_config(results["config"], results_path)
    return {"run": str(run_dir), "model": results["model"]["label"], "adapters": RunContext(cfg).adapters,
            "eval_languages": cfg.eval_languages, "rows": list(iter_jsonl(run_dir / "samples.jsonl"))}


def family_pattern(logits: dict[str, dict[str, list[float]]]) -> dict:
    """logits: family -> fine-tune language -> one value per adapter (seed). The interaction F test."""
    import pandas as pd
    import statsmodels.formula.api as smf

    rows = [{"z": z, "family": f, "lang": lang, "cell": f"{f}|{lang}"}
            for f, by_lang in logits.items() for lang, values in by_lang.items() for z in values]
    df = pd.DataFrame(rows)
    out: dict = {"method": PATTERN_METHOD, "statistic": None, "df": None, "p_value": None,
                 "n_families": len(logits), "n_adapters": len(df), "note": ""}
    n_cells = df["cell"].nunique() if len(df) else 0
    if len(logits) < 2 or df["lang"].nunique() < 2:
        out["note"] = "not estimable: needs at least two families and two fine-tune languages"
        return out
    if len(df) <= n_cells:
        out["note"] = ("not estimable with one seed per fine-tune language: family x language and seed effects are "
                       "confounded (set training.seeds to at least two seeds)")
        return out
    additive = smf.ols("z ~ C(family) + C(lang)", data=df).fit()
    full = smf.ols("z ~ C(cell)", data=df).fit()  # every family x language cell its own mean
    if full.ssr <= 1e-12 * max(1.0, float(((df["z"] - df["z"].mean()) ** 2).sum())):
        # Every adapter of a cell gave the same figure (e.g. every answer complied): no error term, and an F of
        # ~1e29 would read as a certain difference.
        out["note"] = ("not estimable: no seed-to-seed variation within any family x fine-tune language cell (every "
                       "adapter of a cell gave the same compliance), so the interaction has no error term")
        return out
    f, p, df_diff = full.compare_f_test(additive)
    out.update(statistic=float(f), df=[int(df_diff), int(full.df_resid)], p_value=float(p))
    return out


def pooled_fold_changes(families: list[dict], confidence: float) -> list[dict]:
    """Per (fine-tune, eval) cell present in every family: the families' log fold changes combined."""
    from statsmodels.stats.meta_analysis import combine_effects

    cells: dict[tuple[str, str], list[dict]] = {}
    for fam in families:
        for c in fam["design"]["cells"]:
            if c.get("fold_change") is not None and c.get("log_se"):
                cells.setdefault((c["finetune_language"], c["eval_language"]), []).append(c)
    out = []
    for (ft, ev), found in cells.items():
        if len(found) != len(families):
            continue
        effects = np.log([c["fold_change"] for c in found])
        variances = np.array([c["log_se"] for c in found]) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):  # Q = 0 (identical families): I2 undefined, not used
            res = combine_effects(effects, variances, method_re="dl", alpha=1 - confidence)
            fe_lo, fe_hi = res.conf_int(alpha=1 - confidence, use_t=False)[0]
            re_lo, re_hi = res.conf_int(alpha=1 - confidence, use_t=False)[1]
            q, q_p = res.test_homogeneity()[:2]
        re_mean, tau2 = res.mean_effect_re, float(res.tau2)
        if not tau2 > 0:
            # DerSimonian-Laird truncates tau^2 at 0 (statsmodels leaves the moment estimate negative, which shrinks
            # or breaks the interval): no between-family variance, so the random effect is the fixed one.
            re_mean, re_lo, re_hi, tau2 = res.mean_effect_fe, fe_lo, fe_hi, 0.0
        out.append({"finetune_language": ft, "eval_language": ev,
                    "by_family": [float(np.exp(e)) for e in effects],
                    "fixed": _exp(res.mean_effect_fe), "fixed_ci": [_exp(fe_lo), _exp(fe_hi)],
                    "random": _exp(re_mean), "random_ci": [_exp(re_lo), _exp(re_hi)], "tau2": tau2,
                    "q": _finite(q), "q_p_value": _finite(q_p)})
    return out


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _exp(x: float) -> float | None:
    """exp of a pooled log fold change; None where the pooling is undefined (a family with zero variance)."""
    return float(np.exp(x)) if np.isfinite(x) else None


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "–" if x is None else format(x, spec)


def compare_runs(run_dirs: list[Path], m: MetricsConfig | None = None) -> dict:
    """compare.json: per family the design figures, the pooled fold changes and the family-pattern test."""
    m = m or MetricsConfig()
    runs = [read_run(Path(d)) for d in run_dirs]
    evals = [ev for ev in runs[0]["eval_languages"] if all(ev in r["eval_languages"] for r in runs)]
    langs = [x for x in runs[0]["adapters"] if all(x in r["adapters"] for r in runs)]
    if not evals or not langs:
        raise ConfigError("the runs share no eval language or no fine-tune language; compare runs of one study.")
    families, logits = [], {}
    for i, r in enumerate(runs):
        name = f"{r['model']} ({Path(r['run']).name})" if sum(x["model"] == r["model"] for x in runs) > 1 else r["model"]
        adapters = {lang: r["adapters"][lang] for lang in langs}
        headline = [row for row in r["rows"] if kind_of(row).headline]
        grid = on_common_set(values_by_measure(r["rows"])[COMPLIANCE.name], common_items(headline, evals))
        has_base = any(row["model"] == BASE for row in r["rows"])
        design = design_figures(grid, adapters, evals, BASE if has_base else None, m.n_resamples, m.confidence,
                                m.seed + i)
        labels = [lab for lang in langs for lab in adapters[lang]]
        z, _ = adapter_logits(verdict_cube(grid, labels, evals)[1])
        per_adapter = dict(zip(labels, z.mean(axis=1).tolist(), strict=True))
        logits[name] = {lang: [per_adapter[lab] for lab in adapters[lang]] for lang in langs}
        families.append({"family": name, "run": r["run"], "design": design})
    return {"families": families, "finetune_languages": langs, "eval_languages": evals,
            "pooled_method": POOLED_METHOD, "pooled": pooled_fold_changes(families, m.confidence),
            "family_pattern": family_pattern(logits), "confidence": m.confidence, "figures": [COMPARE_FIGURE]}


def compare_markdown(report: dict) -> str:
    lines = ["# safedrift: several model families, one report", "",
             f"Families: {', '.join(f['family'] for f in report['families'])}; fine-tune languages "
             f"{', '.join(report['finetune_languages'])}; eval languages {', '.join(report['eval_languages'])}.", "",
             "## Fold change against base, per family and pooled", "",
             "| fine-tune | eval | " + " | ".join(f["family"] for f in report["families"])
             + " | pooled (fixed) | pooled (random) | Q p |",
             "|---|---|" + "---|" * (len(report["families"]) + 3)]
    for c in report["pooled"]:
        (flo, fhi), (lo, hi) = c["fixed_ci"], c["random_ci"]
        lines.append(f"| {c['finetune_language']} | {c['eval_language']} | "
                     + " | ".join(f"{v:.2f}" for v in c["by_family"])
                     + f" | {_fmt(c['fixed'])} [{_fmt(flo)}, {_fmt(fhi)}] | {_fmt(c['random'])} "
                     f"[{_fmt(lo)}, {_fmt(hi)}] | {_fmt(c['q_p_value'], '.3f')} |")
    t = report["family_pattern"]
    result = (f"F = {t['statistic']:.2f}, df {t['df']}, p = {t['p_value']:.3g}" if t["p_value"] is not None
              else t["note"])
    lines += ["", f"Pooled: {report['pooled_method']}.", "",
              f"Does the fine-tune-language pattern differ by family? {result}. Method: {t['method']}.", "",
              f"![fold change per family and pooled]({COMPARE_FIGURE})", "",
              f"What it estimates: {COMPARE_ESTIMATES}.", ""]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, help="folder for compare.json and compare.md")
    parser.add_argument("runs", type=Path, nargs="+", help="finished run folders (runs/<run-id>)")


def run(args: argparse.Namespace) -> int:
    """`safedrift bench compare OUT RUN_DIR...` (bench_runner/cli.py TOOLS)."""
    print(write_compare(args.out, args.runs))
    return 0


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description="Several finished runs (model families), one report.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return write_compare(args.out, args.runs)


def write_compare(out: Path, runs: list[Path]) -> Path:
    if len(runs) < 2:
        raise ConfigError("compare needs at least two run folders.")
    report = compare_runs(runs)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "compare.json", report)
    atomic_write_text(out / "compare.md", compare_markdown(report))
    plot_compare(report, out / COMPARE_FIGURE)
    return out


if __name__ == "__main__":
    main()
