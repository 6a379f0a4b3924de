"""Drift per fine-tune language, and whether English moves the representations more than language L.

The unit is the probe: each cell's headline (debiased CKA over content tokens, top third of the layers) carries
bootstrap replicates drawn with the same probe resamples for every model on one eval language, so a fine-tune
language's drift (1 - the mean over eval languages) and the difference between two fine-tune languages are
computed replicate by replicate: a paired percentile bootstrap. It measures how sure the probe set makes us about
these adapters; adapter-to-adapter (seed) variation is not in it, which is what the seed noise floor is for.
"""

from __future__ import annotations

import numpy as np

# The estimator the aggregates and the English-vs-L test use: debiased CKA over content tokens, top third.
HEADLINE = "dcka_content_top"
# The per-layer curves of the seed noise floor (bench_runner.representation.drift.seed_floor).
FLOOR_KEYS = ("dcka_content", "dcka_last", "cosine_content")
ENGLISH = "en"
AGGREGATE_METHOD = (
    f"drift = 1 - {HEADLINE} (debiased CKA over content tokens, top third of layers), averaged over eval languages "
    "and the language's adapters (training seeds) per fine-tune language; CI: percentile bootstrap over probes with the same draws for every model (paired), so "
    "English-vs-L differences are paired bootstrap differences; p: two-sided bootstrap p, Holm over the L's "
    "(statsmodels); probes are the unit, so seed-to-seed variation of the adapters is not in these intervals"
)
NO_SEEDS = ("the run has one adapter per fine-tune language; the noise floor needs two seeds of one language "
            "(training.seeds)")


def language_of(label: str, cells: dict[tuple[str, str], dict]) -> str:
    """The fine-tune language of an adapter label ("en", "en-seed1"), as the stage recorded it."""
    adapter = next((s.get("adapter") for (ft, _), s in cells.items() if ft == label and s.get("adapter")), None)
    return adapter["language"] if adapter else label


def _drift_replicates(cells: dict[tuple[str, str], dict], labels: list[str], evals: list[str]) -> tuple[float, np.ndarray]:
    """1 - the headline, averaged over a language's adapters (seeds) and the eval languages, and its replicates."""
    point = 1.0 - float(np.mean([cells[(ft, ev)][HEADLINE] for ft in labels for ev in evals]))
    reps = np.array([cells[(ft, ev)]["bootstrap"][HEADLINE] for ft in labels for ev in evals], dtype=float)
    return point, 1.0 - reps.mean(axis=0)


def noise_floor(cells: dict[tuple[str, str], dict]) -> dict:
    """The seed noise floor: 1 - the headline between two seeds' adapters of one language (mean over the replicate
    pairs and eval languages), per layer too; null with the reason when the run has one seed."""
    floors = [s["seed_floor"] for s in cells.values() if s.get("seed_floor")]
    values = [f[HEADLINE] for f in floors if f.get(HEADLINE) is not None]
    if not values:
        return {"drift": None, "reason": NO_SEEDS}
    per_layer = {key: [float(1.0 - np.mean(v)) for v in zip(*[f["per_layer"][key] for f in floors], strict=True)]
                 for key in FLOOR_KEYS if all(key in f["per_layer"] and None not in f["per_layer"][key]
                                              for f in floors)}
    return {"drift": float(1.0 - np.mean(values)), "reason": None, "pairs": len(values),
            "drift_per_layer": per_layer}


def _ci(reps: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    finite = reps[np.isfinite(reps)]
    if not len(finite):
        return None, None
    alpha = 100 * (1 - confidence) / 2
    return float(np.percentile(finite, alpha)), float(np.percentile(finite, 100 - alpha))


def _two_sided_p(reps: np.ndarray) -> float | None:
    finite = reps[np.isfinite(reps)]
    if not len(finite):
        return None
    below, above = (1 + np.sum(finite <= 0)) / (len(finite) + 1), (1 + np.sum(finite >= 0)) / (len(finite) + 1)
    return float(min(1.0, 2 * min(below, above)))


def aggregate_drift(cells: dict[tuple[str, str], dict]) -> dict:
    """{"aggregate_method", "confidence", "aggregate": per fine-tune language drift + CI (its seeds' adapters
    averaged), "english_vs": English minus L} from cells that carry bootstrap replicates of the headline."""
    from statsmodels.stats.multitest import multipletests

    confidence = float(next(iter(cells.values())).get("confidence", 0.95))
    evals = list(dict.fromkeys(ev for _, ev in cells))
    usable = [ft for ft in dict.fromkeys(ft for ft, _ in cells)
              if all(cells.get((ft, ev), {}).get(HEADLINE) is not None and "bootstrap" in cells[(ft, ev)]
                     for ev in evals)]
    adapters: dict[str, list[str]] = {}
    for ft in usable:
        adapters.setdefault(language_of(ft, cells), []).append(ft)
    drift = {lang: _drift_replicates(cells, labels, evals) for lang, labels in adapters.items()}
    aggregate = [{"finetune_language": lang, "adapters": adapters[lang], "eval_languages": evals, "drift": point,
                  "ci_low": _ci(reps, confidence)[0], "ci_high": _ci(reps, confidence)[1]}
                 for lang, (point, reps) in drift.items()]
    english_vs = []
    if ENGLISH in drift:
        for ft in [x for x in drift if x != ENGLISH]:
            diff = drift[ENGLISH][1] - drift[ft][1]
            low, high = _ci(diff, confidence)
            english_vs.append({"language": ft, "diff": drift[ENGLISH][0] - drift[ft][0], "ci_low": low,
                               "ci_high": high, "p_value": _two_sided_p(diff),
                               "english_drifts_more": low is not None and low > 0})
        tested = [t for t in english_vs if t["p_value"] is not None]
        if tested:
            adjusted = multipletests([t["p_value"] for t in tested], method="holm")[1]
            for t, p in zip(tested, adjusted, strict=True):
                t["p_adjusted"] = float(p)
    return {"aggregate_method": AGGREGATE_METHOD, "confidence": confidence, "aggregate": aggregate,
            "english_vs": english_vs}
