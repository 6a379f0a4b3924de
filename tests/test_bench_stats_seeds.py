"""Replicate adapters: training.seeds (training.seed its one-seed alias), one adapter label per (fine-tune
language, seed), a one-seed run's labels and finetune cache key unchanged, and the metrics stage's study figures
taking each language's adapters as its replicates."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bench_runner.config import TrainingConfig, parse_config
from bench_runner.finetune import FinetuneStage
from bench_runner.metrics.study import study_figures
from bench_runner.pipeline import BenchRun
from bench_runner.stage import RunContext

# TrainingConfig().model_dump() before training.seeds existed: a one-seed run's finetune key is made of exactly this.
TRAINING_BEFORE_SEEDS = {"lr": 2e-4, "epochs": 1.0, "max_steps": None, "batch_size": 8, "max_length": 512, "seed": 0,
                         "grad_accum": 1, "scheduler": "cosine", "warmup_ratio": 0.03, "max_grad_norm": 1.0,
                         "packing": False, "grad_checkpointing": False, "liger": False}


def config(**training):
    return parse_config({"run_id": "t", "model": {"builtin": "smollm2-135m-instruct"},
                         "finetune_languages": ["base", "en", "pt"], "eval_languages": ["en", "pt"],
                         "training": training})


def test_seeds_default_to_the_one_seed_alias_and_are_checked():
    assert TrainingConfig().replicate_seeds == [0]
    assert TrainingConfig(seed=7).replicate_seeds == [7]
    assert TrainingConfig(seeds=[3, 1, 2]).replicate_seeds == [3, 1, 2]
    assert TrainingConfig(seed=3, seeds=[3, 4]).replicate_seeds == [3, 4]
    with pytest.raises(ValidationError, match="not both"):
        TrainingConfig(seed=2, seeds=[0, 1])
    for bad in ([], [1, 1]):
        with pytest.raises(ValidationError, match="distinct seeds"):
            TrainingConfig(seeds=bad)


def test_one_seed_keeps_the_labels_and_the_finetune_key():
    ctx = RunContext(config())
    assert ctx.models == ["base", "en", "pt"] and ctx.adapters == {"en": ["en"], "pt": ["pt"]}
    assert ctx.adapter("pt") == ("pt", 0)
    stage = FinetuneStage(ctx)
    ctx.__dict__["model_identity"] = {"spec": "m", "fingerprint": "f"}  # no model is read for the key
    stage.data = lambda language: ([[{"role": "user", "content": language}]], 0)  # type: ignore[method-assign]
    inputs = stage.inputs("en")
    assert inputs["training"] == TRAINING_BEFORE_SEEDS and inputs["language"] == "en"
    same = FinetuneStage(RunContext(config(seeds=[0, 5])))
    same.ctx.__dict__["model_identity"] = ctx.model_identity
    same.data = stage.data  # type: ignore[method-assign]
    # Adding seeds leaves the first seed's adapter where it was: its cache is reused.
    assert same.folder("en") == stage.folder("en")


def test_several_seeds_give_one_adapter_each():
    cfg = config(seeds=[0, 1, 2])
    ctx = RunContext(cfg)
    assert ctx.adapters == {"en": ["en", "en-seed1", "en-seed2"], "pt": ["pt", "pt-seed1", "pt-seed2"]}
    assert ctx.models == ["base", "en", "en-seed1", "en-seed2", "pt", "pt-seed1", "pt-seed2"]
    assert ctx.adapter("pt-seed2") == ("pt", 2)
    with pytest.raises(KeyError, match="not an adapter"):
        ctx.adapter("de")
    stage = FinetuneStage(ctx)
    assert stage.training("en-seed1").seed == 1 and stage.training("en").seed == 0
    ctx.__dict__["model_identity"] = {"spec": "m", "fingerprint": "f"}
    stage.data = lambda language: ([[{"role": "user", "content": language}]], 0)  # type: ignore[method-assign]
    keys = {stage.folder(label).name for label in ctx.finetuned}
    assert len(keys) == 6 and stage.inputs("en-seed2")["language"] == "en"
    assert "seeds" not in stage.inputs("en-seed2")["training"]
    run = BenchRun(cfg)
    assert run.labels("finetune", ["pt"]) == ["pt", "pt-seed1", "pt-seed2"]
    assert run.labels("generate", ["base", "en-seed1"]) == ["base", "en-seed1"]
    assert run.labels("finetune") == ctx.finetuned and run.labels("metrics") == ["all"]


def test_study_figures_use_each_languages_adapters_as_replicates():
    scores = []
    rates = {"base": 0.1, "en": 0.5, "en-seed1": 0.45, "pt": 0.2, "pt-seed1": 0.25}
    for model, rate in rates.items():
        for ev in ("en", "pt"):
            for i in range(40):
                scores.append({"model": model, "language": ev, "kind": "sorry", "item_id": str(i),
                               "category": "1" if i < 10 else "2", "score": int(i < rate * 40), "label": "",
                               "raw_score": None})
    scores[0] = {**scores[0], "score": None, "raw_score": 0.5}  # base, en, item 0: a number other than 0/1
    out = study_figures(scores, {"en": ["en", "en-seed1"], "pt": ["pt", "pt-seed1"]}, ["en", "pt"],
                        config().metrics)
    d = out["design"]
    assert d["n_seeds"] == 2 and d["heterogeneity"]["df"] == [1, 2]
    assert d["heterogeneity"]["min_p"] == pytest.approx(1 / 3)  # 2 languages x 2 seeds: 3 splits
    cell = d["cells"][0]
    assert cell["seed_spread"]["rates"] == [0.5, 0.45] and cell["n_adapters"] == 2
    assert cell["n_pairs"] == 39  # base's item 0 has no 0/1 verdict in en
    assert d["largest"]["finetune_language"] == "en"
    official = {(c["finetune_language"], c["eval_language"]): c for c in out["official"]["cells"]}
    base_en = official[("base", "en")]
    assert (base_en["non_binary"], base_en["no_number"], base_en["n"], base_en["official_n"]) == (1, 0, 39, 40)
    en = official[("en", "en")]
    # 20 of 40 comply: all 10 of category 1, 10 of the 30 of category 2.
    assert en["micro"] == pytest.approx(0.5) and en["macro"] == pytest.approx((1 + 1 / 3) / 2)
    assert en["official"] == en["macro"] and en["n_categories"] == 2
    # Base complied with items 0-3, all in category 1; item 0 read 0.5, counted as 0.5 as the official code does.
    assert base_en["official"] == pytest.approx((3.5 / 10 + 0 / 30) / 2) and base_en["macro"] == pytest.approx(3 / 9 / 2)


@pytest.mark.slow
def test_two_seeds_end_to_end_on_a_tiny_model(tmp_path, bench_home, tiny_model, tiny_release):
    import json

    from support.fixtures import tiny_config_dict

    from bench_runner.metrics import STUDY

    cfg = parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base", "en", "pt"],
                                        training={"seeds": [0, 1]}, capability={"heldout_loss": False},
                                        representation={"enabled": False}))
    run = BenchRun(cfg)
    study = json.loads((run.metrics() / STUDY).read_text(encoding="utf-8"))
    run.run()  # the report: results.json carries the study's figures with values
    results = json.loads((run.run_dir / "results.json").read_text(encoding="utf-8"))
    assert results["training_seeds"] == [0, 1]
    assert results["metrics"]["design"] == study["design"] and results["metrics"]["official"] == study["official"]
    # The tiny model leaves 3 of pt's 6 English answers without a verdict: the cell pairs 3 prompts.
    assert [c["n_pairs"] for c in study["design"]["cells"]] == [6, 6, 3, 6]
    for c in study["design"]["cells"]:  # per cell: fold change with its interval, and the seed spread
        assert c["ci_low"] <= c["fold_change"] <= c["ci_high"]
        rates = c["seed_spread"]["rates"]
        assert len(rates) == 2 and c["seed_spread"]["range"] == pytest.approx(abs(rates[0] - rates[1]))
    inter = study["design"]["interaction"]  # 2 languages x 2 seeds x 2 eval languages: df (1, 2)
    assert inter["df"] == [1, 2] and inter["min_p"] == pytest.approx(1 / 3) and inter["n_adapters"] == 4
    for c in study["official"]["cells"]:  # macro beside micro, over the answers with a verdict
        assert c["n"] == (3 if (c["finetune_language"], c["eval_language"]) == ("pt", "en") else 6)
        assert 0.0 <= c["macro"] <= 1.0 and 0.0 <= c["micro"] <= 1.0
    folders = {m: run.finetune(m) for m in run.ctx.finetuned}
    assert sorted(f.name.split("-")[0] for f in folders.values()) == ["en", "en", "pt", "pt"]
    assert len({f.name for f in folders.values()}) == 4  # one adapter per (language, seed), each its own cache
    stats = {m: json.loads((f / "train_stats.json").read_text())["loss"] for m, f in folders.items()}
    assert stats["en"] != stats["en-seed1"]  # another seed trained another adapter
    d = study["design"]
    assert d["adapters"] == {"en": ["en", "en-seed1"], "pt": ["pt", "pt-seed1"]} and d["n_seeds"] == 2
    assert [c["seed_spread"]["n_seeds"] for c in d["cells"]] == [2, 2, 2, 2]
    assert all(c["n_adapters"] == 2 and c["fold_change"] is not None for c in d["cells"])
    assert d["heterogeneity"]["df"] == [1, 2] and d["heterogeneity"]["min_p"] == pytest.approx(1 / 3)
    assert {(c["finetune_language"], c["eval_language"]) for c in study["official"]["cells"]} == {
        (m, ev) for m in run.models for ev in ("en", "pt")}
    # A rerun finds every stage in its cache: the same folder, nothing retrained.
    again = BenchRun(cfg)
    assert {m: again.finetune(m) for m in again.ctx.finetuned} == folders


def test_summary_says_what_each_study_figure_estimates():
    from bench_runner.report.summary import study_lines

    scores = [{"model": m, "language": ev, "kind": "sorry", "item_id": str(i), "category": "1", "label": "",
               "score": int(i < {"base": 2, "en": 8, "en-seed1": 6, "pt": 3, "pt-seed1": 4}[m]), "raw_score": None}
              for m in ("base", "en", "en-seed1", "pt", "pt-seed1") for ev in ("en", "pt") for i in range(20)]
    study = study_figures(scores, {"en": ["en", "en-seed1"], "pt": ["pt", "pt-seed1"]}, ["en", "pt"],
                          config().metrics)
    text = "\n".join(study_lines(study["design"], study["official"], "95%"))
    # (8 + 6 + 2) / (22 x 2) over (2 + 1) / 22 with the pseudo-pairs: 8 / 3; seeds 0.40 and 0.30: sd 0.0707.
    assert "| en | en | 2.67 | [" in text and "| 2 | 0.071 |" in text
    assert "Largest fold change: en → " in text
    assert "beyond seed-to-seed variation? F = " in text and "smallest possible 0.333" in text
    assert "| base | en | 0.10 | 0.10 | 0.10 | 1 | 0 | 0 |" in text
    assert study_lines(None, None, "95%") == []
