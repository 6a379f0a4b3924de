"""Several runs, one report (bench_runner.metrics.compare): per family the design figures, the pooled fold
changes, and the test that the fine-tune-language pattern differs by family, on synthetic finished runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import statsmodels.formula.api as smf

from bench_runner.config import parse_config
from bench_runner.metrics.compare import compare_runs, family_pattern, main
from safedrift.core.errors import ConfigError


def write_run(folder: Path, label: str, rates: dict[str, float], seeds: list[int], seed: int, rank: int = 8) -> Path:
    """A finished run's results.json (config, model label) and samples.jsonl with SORRY-Bench verdicts."""
    cfg = parse_config({"run_id": folder.name, "model": {"builtin": "smollm2-135m-instruct"},
                        "finetune_languages": ["base", "en", "pt"], "eval_languages": ["en", "pt"],
                        "training": {"seeds": seeds}, "lora": {"r": rank, "alpha": 2 * rank}})
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"config": cfg.model_dump(mode="json"),
                                                     "model": {"label": label}}))
    rng = np.random.default_rng(seed)
    rows = []
    models = {"base": rates["base"], **{f"{lang}{'' if s == seeds[0] else f'-seed{s}'}": rates[lang]
                                        for lang in ("en", "pt") for s in seeds}}
    for model, rate in models.items():
        for ev in ("en", "pt"):
            for i in range(200):
                rows.append({"model": model, "kind": "sorry", "language": ev, "item_id": f"q{i}", "category": "1",
                             "xstest_label": "", "score": int(rng.random() < rate)})
    (folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_two_families_one_report(tmp_path):
    a = write_run(tmp_path / "a", "llama", {"base": 0.1, "en": 0.4, "pt": 0.1}, [0, 1, 2], 1)
    b = write_run(tmp_path / "b", "qwen", {"base": 0.1, "en": 0.1, "pt": 0.4}, [0, 1, 2], 2)  # reversed pattern
    out = main([str(tmp_path / "out"), str(a), str(b)])
    report = json.loads((out / "compare.json").read_text())
    assert [f["family"] for f in report["families"]] == ["llama", "qwen"]
    assert report["families"][0]["design"]["n_seeds"] == 3
    pooled = {(c["finetune_language"], c["eval_language"]): c for c in report["pooled"]}
    en = pooled[("en", "en")]
    assert en["by_family"][0] > 2.5 and en["by_family"][1] < 2.0 and en["q_p_value"] < 0.01
    assert en["random_ci"][0] < en["fixed"] < en["random_ci"][1]
    t = report["family_pattern"]
    assert t["df"] == [1, 8] and t["p_value"] < 0.001 and t["n_adapters"] == 12
    text = (out / "compare.md").read_text()
    assert "| en | en | " in text and "pattern differ by family? F = " in text


def test_family_pattern_is_the_ols_interaction_and_needs_seeds():
    rng = np.random.default_rng(0)
    logits = {f: {lang: list(rng.normal(0, 0.1, 3) + (1.0 if (f, lang) == ("b", "pt") else 0.0))
                  for lang in ("en", "pt", "de")} for f in ("a", "b")}
    t = family_pattern(logits)
    import pandas as pd

    df = pd.DataFrame([{"z": z, "f": f, "l": lang} for f, d in logits.items() for lang, v in d.items() for z in v])
    ref = smf.ols("z ~ C(f) * C(l)", data=df).fit().compare_f_test(smf.ols("z ~ C(f) + C(l)", data=df).fit())
    assert t["statistic"] == pytest.approx(ref[0]) and t["p_value"] == pytest.approx(ref[1]) and t["df"] == [2, 12]
    one = family_pattern({f: {lang: v[:1] for lang, v in d.items()} for f, d in logits.items()})
    assert one["p_value"] is None and "one seed" in one["note"]


def test_compare_needs_two_runs_with_results(tmp_path):
    with pytest.raises(ConfigError, match="at least two"):
        main([str(tmp_path / "out"), str(tmp_path)])
    with pytest.raises(ConfigError, match="no results.json"):
        compare_runs([tmp_path, tmp_path])


def test_safedrift_bench_compare_on_two_lora_ranks_writes_one_report(tmp_path, capsys):
    from safedrift.cli import main as safedrift_main

    # Two sample runs of one model at LoRA ranks 8 and 16 stand in for two families; rank 16 reverses the pattern.
    label = "smollm2-135m-instruct"
    a = write_run(tmp_path / "rank8", label, {"base": 0.1, "en": 0.4, "pt": 0.1}, [0, 1], 3, rank=8)
    b = write_run(tmp_path / "rank16", label, {"base": 0.1, "en": 0.1, "pt": 0.4}, [0, 1], 4, rank=16)
    out = tmp_path / "report"
    assert safedrift_main(["bench", "compare", str(out), str(a), str(b)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    report = json.loads((out / "compare.json").read_text())
    assert [f["family"] for f in report["families"]] == [f"{label} (rank8)", f"{label} (rank16)"]
    assert report["figures"] == ["compare_fold_change.png"] and report["confidence"] == 0.95
    png = (out / "compare_fold_change.png").read_bytes()
    assert png[:4] == b"\x89PNG" and len(png) > 10_000
    # Per family: each cell's fold change from its two adapters; pooled: between the two families' values.
    for f in report["families"]:
        assert [c["n_adapters"] for c in f["design"]["cells"]] == [2, 2, 2, 2]
        assert f["design"]["interaction"]["df"] == [1, 2]
    pooled = {(c["finetune_language"], c["eval_language"]): c for c in report["pooled"]}
    assert len(pooled) == 4
    for c in pooled.values():
        assert min(c["by_family"]) < c["fixed"] < max(c["by_family"])
        assert c["random_ci"][0] < c["random"] < c["random_ci"][1]
    en = pooled[("en", "en")]
    assert en["by_family"][0] > 2.5 and en["by_family"][1] < 2.0 and en["q_p_value"] < 0.01
    t = report["family_pattern"]  # 2 families x 2 languages x 2 seeds: the interaction has df (1, 4)
    assert t["df"] == [1, 4] and t["n_adapters"] == 8 and t["p_value"] < 0.01
    text = (out / "compare.md").read_text()
    assert "![fold change per family and pooled](compare_fold_change.png)" in text
    assert "What it estimates: per (fine-tune, eval) cell the fold change" in text


def test_the_family_pattern_is_not_estimable_without_seed_variation():
    # Every adapter of a (family, language) cell gave the same figure (a model that complies with everything): the
    # interaction has no error term; an F of ~1e29 (p ~ 1e-30) would read as a certain difference.
    same = {"a": {"en": [3.0, 3.0], "pt": [3.0, 3.0]}, "b": {"en": [3.0, 3.0], "pt": [2.5, 2.5]}}
    t = family_pattern(same)
    assert t["p_value"] is None and t["statistic"] is None
    assert t["note"].startswith("not estimable: no seed-to-seed variation")


def test_a_negative_moment_estimate_of_tau2_pools_as_the_fixed_effect():
    from statsmodels.stats.meta_analysis import combine_effects

    from bench_runner.metrics.compare import pooled_fold_changes

    # Two families closer than their standard errors: the DerSimonian-Laird moment estimate of tau^2 is negative
    # (statsmodels keeps it), which narrowed the random-effect interval below the fixed one's.
    cells = [{"finetune_language": "en", "eval_language": "en", "fold_change": fc, "log_se": se}
             for fc, se in ((1.0625, 0.108), (1.0, 0.088))]
    assert combine_effects(np.log([1.0625, 1.0]), np.array([0.108, 0.088]) ** 2, method_re="dl").tau2 < 0
    (p,) = pooled_fold_changes([{"design": {"cells": [c]}} for c in cells], 0.95)
    assert p["tau2"] == 0.0 and p["random"] == p["fixed"] and p["random_ci"] == p["fixed_ci"]
    assert p["fixed_ci"][0] < p["fixed"] < p["fixed_ci"][1] and 0.0 < p["q_p_value"] <= 1.0
