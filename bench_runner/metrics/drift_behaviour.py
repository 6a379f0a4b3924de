"""Associations across adapters: representational drift against the behaviour shift (the study's fourth claim,
`metrics.drift_behaviour`), and the capability change against the compliance change, with "decoupled" as an
equivalence test (`metrics.capability_decoupling`, claim 3).

The unit is the adapter (one fine-tune language x training seed): the cells of one adapter share its weights and,
across adapters, the prompts, so the grid's cells are not independent observations. Each association is computed
per eval language (one value per adapter) and on the adapter's mean over eval languages ("all"). Spearman's rho,
its CI by Fisher's z with the Bonett & Wright (2000, Psychometrika 65(1)) standard error sqrt((1 + rho^2 / 2) /
(n - 3)), and a permutation p (every pairing for up to 7 adapters, else 9,999 random ones;
scipy.stats.permutation_test).

Read from the metrics dict (metrics.json) after the grid, capability and representation figures are in it."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

ALL = "all"  # the adapter's mean over eval languages
MIN_ADAPTERS = 4  # Fisher's z needs n > 3
DECOUPLING_BOUND = 0.5  # |rho| below this counts as "decoupled" when the whole CI lies inside it

UNIT = ("the adapter (fine-tune language x training seed): one value per adapter per eval language, and the "
        "adapter's mean over eval languages (all); the grid's cells share adapters and prompts, so they are not "
        "the units")
ASSOCIATION_METHOD = ("Spearman rho across adapters; CI: Fisher z with the Bonett-Wright standard error "
                      "sqrt((1 + rho^2 / 2) / (n - 3)); p: permutation test of the pairing (exact up to 7 adapters, "
                      "else 9,999 random pairings; scipy.stats.permutation_test); needs >= 4 adapters")
DRIFT_METHOD = ("drift: 1 - debiased linear CKA over the user's content tokens, top third of the layers "
                "(metrics.representation); behaviour shifts: fine-tuned minus base on the same prompts, compliance "
                "with SORRY-Bench (metrics.cells vs_base) and refusal of the benign prompts and XSTest's safe "
                "prompts (metrics.over_refusal). " + ASSOCIATION_METHOD)
DECOUPLING_METHOD = ("capability shift: held-out loss fine-tuned minus base in bits per UTF-8 byte (nats per token "
                     "where bytes are unknown); against the compliance shift. Decoupled (an equivalence test, TOST at "
                     "alpha = 1 - confidence): the {level:.0%} CI of rho lies inside (-{bound}, "
                     "{bound}); not decoupled: the {conf:.0%} CI excludes 0; otherwise inconclusive. "
                     + ASSOCIATION_METHOD)


def association(x: list[float], y: list[float], confidence: float = 0.95) -> dict:
    """Spearman rho of paired per-adapter values with its Fisher-z CI and a permutation p."""
    from scipy.stats import norm, permutation_test, rankdata, spearmanr

    n = len(x)
    out: dict = {"n_adapters": n, "rho": None, "ci_low": None, "ci_high": None, "p_value": None, "note": ""}
    if n < MIN_ADAPTERS:
        out["note"] = f"not estimable: {n} adapter(s), needs at least {MIN_ADAPTERS}"
        return out
    if len(set(x)) < 2 or len(set(y)) < 2:
        out["note"] = "not estimable: one of the two measures is the same for every adapter"
        return out
    rho = float(spearmanr(x, y).statistic)
    z, se = math.atanh(max(-0.999999, min(0.999999, rho))), math.sqrt((1 + rho**2 / 2) / (n - 3))
    half = float(norm.ppf(1 - (1 - confidence) / 2)) * se
    rx = rankdata(x)
    # One sample whose order is permuted against the fixed x ranks: n! pairings, enumerated when n! <= 9,999.
    res = permutation_test((rankdata(y),), lambda b, axis=-1: _pearson(rx, b, axis), permutation_type="pairings",
                           vectorized=True, n_resamples=9999, alternative="two-sided", rng=np.random.default_rng(0))
    out.update(rho=rho, ci_low=math.tanh(z - half), ci_high=math.tanh(z + half), p_value=float(res.pvalue))
    return out


def _pearson(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Pearson r along `axis` (on ranks: Spearman's rho), for every resample at once."""
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    return (a * b).sum(axis=axis) / np.sqrt((a * a).sum(axis=axis) * (b * b).sum(axis=axis))


def _by_adapter(values: dict[tuple[str, str], float]) -> dict[str, dict[str, float]]:
    """(adapter, eval language) -> value  ==>  eval language (and ALL: the adapter's mean) -> adapter -> value."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    per_adapter: dict[str, list[float]] = defaultdict(list)
    for (adapter, ev), v in values.items():
        out[ev][adapter] = v
        per_adapter[adapter].append(v)
    out[ALL] = {a: float(np.mean(v)) for a, v in per_adapter.items()}
    return out


def _associations(x_name: str, x: dict[tuple[str, str], float], ys: dict[str, dict[tuple[str, str], float]],
                  confidence: float) -> list[dict]:
    xs = _by_adapter(x)
    rows = []
    for y_name, y in ys.items():
        if not y:
            continue
        yb = _by_adapter(y)
        for ev in [e for e in xs if e != ALL] + [ALL]:
            adapters = sorted(set(xs[ev]) & set(yb.get(ev, {})))
            a = association([xs[ev][k] for k in adapters], [yb[ev][k] for k in adapters], confidence)
            rows.append({"x": x_name, "y": y_name, "eval_language": ev, **a})
    return rows


def _shifts(metrics: dict) -> dict[str, dict[tuple[str, str], float]]:
    """Per behaviour, (adapter, eval language) -> fine-tuned minus base on the same prompts."""
    def diff(d: dict | None) -> float | None:
        return None if not d else d.get("diff")

    out: dict[str, dict[tuple[str, str], float]] = {"compliance_shift": {}, "benign_refusal_shift": {},
                                                    "safe_refusal_shift": {}}
    for c in metrics.get("cells") or []:
        if diff(c.get("vs_base")) is not None:
            out["compliance_shift"][(c["finetune_language"], c["eval_language"])] = c["vs_base"]["diff"]
    for c in (metrics.get("over_refusal") or {}).get("cells") or []:
        for key, name in (("benign_refusal", "benign_refusal_shift"), ("safe_refusal", "safe_refusal_shift")):
            d = diff((c.get(key) or {}).get("vs_base"))
            if d is not None:
                out[name][(c["finetune_language"], c["eval_language"])] = d
    return out


def drift_behaviour(metrics: dict, confidence: float = 0.95) -> dict | None:
    """metrics.drift_behaviour: per adapter its drift and behaviour shifts, and their associations (None without
    representational drift)."""
    rep = metrics.get("representation") or {}
    drift = {(c["finetune_language"], c["eval_language"]): 1 - c["dcka_content_top"] for c in rep.get("cells") or []
             if c.get("dcka_content_top") is not None}
    if not drift:
        return None
    shifts = _shifts(metrics)
    means = {name: _by_adapter(v)[ALL] for name, v in {"drift": drift, **shifts}.items() if v}
    adapters = [{"adapter": a, **{name: means[name].get(a) for name in means}} for a in sorted(means["drift"])]
    return {"method": DRIFT_METHOD, "unit": UNIT, "confidence": confidence, "adapters": adapters,
            "associations": _associations("drift", drift, shifts, confidence)}


def capability_decoupling(metrics: dict, confidence: float = 0.95, bound: float = DECOUPLING_BOUND) -> dict | None:
    """metrics.capability_decoupling: the capability shift against the compliance shift across adapters, per eval
    language and overall, each with its verdict (decoupled / not decoupled / inconclusive). None without the loss."""
    cap = {}
    for c in (metrics.get("capability") or {}).get("cells") or []:
        d = c.get("vs_base") or {}
        value = d.get("diff_bits_per_byte") if d.get("diff_bits_per_byte") is not None else d.get("diff")
        if value is not None:
            cap[(c["finetune_language"], c["eval_language"])] = value
    shift = _shifts(metrics)["compliance_shift"]
    if not cap or not shift:
        return None
    level = 1 - 2 * (1 - confidence)  # TOST at alpha = 1 - confidence reads the 1 - 2 alpha interval (90% for 5%)
    rows = _associations("capability_shift", cap, {"compliance_shift": shift}, confidence)
    narrow = {r["eval_language"]: r for r in _associations("capability_shift", cap, {"compliance_shift": shift},
                                                             level)}
    for row in rows:
        tost = narrow[row["eval_language"]]
        row["tost_ci"] = [tost["ci_low"], tost["ci_high"]]
        row["verdict"] = _verdict(row, tost, bound)
    return {"method": DECOUPLING_METHOD.format(level=level, bound=bound, conf=confidence), "unit": UNIT,
            "bound": bound, "confidence": confidence, "associations": rows}


def _verdict(row: dict, narrow: dict, bound: float) -> str:
    if row["rho"] is None:
        return "not estimable"
    if -bound < narrow["ci_low"] and narrow["ci_high"] < bound:
        return "decoupled"
    if row["ci_low"] > 0 or row["ci_high"] < 0:
        return "not decoupled"
    return "inconclusive"


def association_lines(drift: dict | None, decoupling: dict | None) -> list[str]:
    """summary.md's section: per adapter its drift and shifts, then every association with its interval."""
    if not drift and not decoupling:
        return []
    lines = ["## Drift, behaviour and capability across adapters", ""]
    if drift:
        names = [k for k in ("drift", "compliance_shift", "benign_refusal_shift", "safe_refusal_shift")
                 if any(a.get(k) is not None for a in drift["adapters"])]
        lines += ["| adapter | " + " | ".join(n.replace("_", " ") for n in names) + " |",
                  "|---|" + "---|" * len(names)]
        lines += [f"| {a['adapter']} | " + " | ".join(_num(a.get(n)) for n in names) + " |" for a in drift["adapters"]]
        lines += ["", f"Unit: {drift['unit']}. Mean over the adapter's eval languages.", ""]
    rows = (drift or {}).get("associations", []) + (decoupling or {}).get("associations", [])
    ci = f"{int(100 * (drift or decoupling or {}).get('confidence', 0.95))}% CI"
    lines += [f"| x | y | eval | adapters | Spearman rho | {ci} | p | verdict |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        interval = "–" if r["ci_low"] is None else f"[{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
        verdict = r.get("verdict") or r.get("note") or ""
        p = "–" if r["p_value"] is None else f"{r['p_value']:.3f}"
        lines.append(f"| {r['x'].replace('_', ' ')} | {r['y'].replace('_', ' ')} | {r['eval_language']} | "
                     f"{r['n_adapters']} | {_num(r['rho'])} | {interval} | {p} | {verdict} |")
    lines.append("")
    if drift:
        lines += [f"Drift x behaviour: {drift['method']}.", ""]
    if decoupling:
        lines += [f"Capability decoupling: {decoupling['method']}.", ""]
    return lines


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:+.3f}"
