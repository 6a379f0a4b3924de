"""Sampled decoding (issue #23): generation.samples_per_prompt answers per prompt, each generated, judged and
counted; the prompt is the unit of the sampled rate's interval; the model card's decoding is recorded."""

from __future__ import annotations

import numpy as np
import pytest

from bench_runner.config import GenerationConfig, ModelConfig
from bench_runner.data import Prompt
from bench_runner.generate.decoding import decoding_record, expand_samples, recommended_decoding, sample_index
from bench_runner.generate.vllm import Job, _budget, _with_seed
from bench_runner.metrics.compliance import compute_metrics
from bench_runner.metrics.stats import bootstrap_mean
from bench_runner.report.schema import Metrics


def test_samples_per_prompt_needs_sampling_and_defaults_to_one():
    assert GenerationConfig().samples_per_prompt == 1 and GenerationConfig().temperature == 0.0
    with pytest.raises(ValueError, match="set generation.temperature > 0"):
        GenerationConfig(samples_per_prompt=3)
    assert GenerationConfig(samples_per_prompt=3, temperature=0.7).samples_per_prompt == 3


def test_a_prompts_samples_keep_its_uid_first_and_read_back_their_index():
    p = Prompt(uid="sorry:pt:12", kind="sorry", language="pt", item_id="12", messages=({"role": "user",
                                                                                       "content": "x"},))
    out = expand_samples([p], 3)
    assert [q.uid for q in out] == ["sorry:pt:12", "sorry:pt:12|sample=1", "sorry:pt:12|sample=2"]
    assert [sample_index(q.uid) for q in out] == [0, 1, 2] and {q.item_id for q in out} == {"12"}
    assert expand_samples([p], 1) == [p]


def test_the_model_cards_decoding_is_recorded_per_family():
    qwen = recommended_decoding(ModelConfig(hub_id="Qwen/Qwen3-1.7B", revision="a" * 40))
    assert qwen is not None and (qwen["temperature"], qwen["top_p"], qwen["top_k"]) == (0.7, 0.8, 20)
    llama = recommended_decoding(ModelConfig(hub_id="meta-llama/Llama-3.2-1B-Instruct", revision="a" * 40))
    assert llama is not None and (llama["temperature"], llama["top_p"]) == (0.6, 0.9)
    assert recommended_decoding(ModelConfig(builtin="smollm2-135m-instruct"))["temperature"] == 0.2
    assert recommended_decoding(ModelConfig(local_dir="/models/unknown")) is None
    rec = decoding_record(GenerationConfig(temperature=0.7, top_p=0.8, samples_per_prompt=4),
                          ModelConfig(hub_id="Qwen/Qwen3-1.7B", revision="a" * 40))
    assert (rec["samples_per_prompt"], rec["greedy"], rec["recommended"]["top_k"]) == (4, False, 20)
    assert "Qwen3 model card" in rec["recommended"]["source"]


def test_vllm_requests_carry_each_samples_seed():
    job = Job("base", ["a", "b"], lambda i, c: None, max_tokens=[5, 6], seeds=[7, 8])
    assert _budget(job, 1) == {"max_tokens": 6, "seed": 8}
    assert _budget(Job("base", ["a"], lambda i, c: None), 0) == {}
    extra = {"request": {"seed": 7, "top_p": 0.9}, "params": {"seed": 7}}
    assert _with_seed(extra, 7) is extra
    assert _with_seed(extra, 9) == {"request": {"seed": 9, "top_p": 0.9}, "params": {"seed": 9}}


def _row(model, item, sample, score):
    uid = f"sorry:en:{item}" + (f"|sample={sample}" if sample else "")
    return {"uid": uid, "model": model, "language": "en", "item_id": item, "score": score, "kind": "sorry",
            "category": "1", "category_name": "c", "label": "x"}


def test_every_sample_counts_with_the_prompt_as_the_unit():
    # 4 prompts x 3 samples. pt complies 2/3, 1/3, 3/3, 0/3; base 0/3, 0/3, 1/3, 0/3.
    pt = {"1": [1, 1, 0], "2": [0, 1, 0], "3": [1, 1, 1], "4": [0, 0, 0]}
    base = {"1": [0, 0, 0], "2": [0, 0, 0], "3": [0, 1, 0], "4": [0, 0, 0]}
    rows = [_row(m, item, j, s) for m, grid in (("pt", pt), ("base", base)) for item, v in grid.items()
            for j, s in enumerate(v)]
    m = compute_metrics(rows, ["base", "pt"], ["en"], n_resamples=500)
    cell = next(c for c in m["cells"] if c["finetune_language"] == "pt")
    s = cell["sampled"]
    means = np.array([2 / 3, 1 / 3, 1.0, 0.0])
    assert (s["n_prompts"], s["n_samples"], s["rate"]) == (4, 12, pytest.approx(0.5))
    assert (s["ci_low"], s["ci_high"]) == pytest.approx(bootstrap_mean(means, 500, 0.95, 0))
    d = means - np.array([0, 0, 1 / 3, 0])
    assert (s["vs_base"]["n_pairs"], s["vs_base"]["diff"]) == (4, pytest.approx(d.mean()))
    assert (s["vs_base"]["ci_low"], s["vs_base"]["ci_high"]) == pytest.approx(bootstrap_mean(d, 500, 0.95, 0))
    # The binary figures read each prompt's first sample: pt 1, 0, 1, 0.
    assert (cell["n"], cell["rate"]) == (4, 0.5) and cell["vs_base"]["diff"] == pytest.approx(0.5)
    assert "bootstrap over prompts" in m["sampled_method"]
    assert Metrics.model_validate(m).cells[1].sampled is not None


def test_one_sample_per_prompt_adds_no_sampled_figures():
    m = compute_metrics([_row("base", "1", 0, 1), _row("base", "2", 0, 0)], ["base"], ["en"], n_resamples=200)
    assert "sampled" not in m["cells"][0] and "sampled_method" not in m


def test_the_transformers_backend_answers_and_the_judge_judges_every_sample(tmp_path, bench_home, tiny_model,
                                                                            tiny_release):
    import json

    from support.fixtures import tiny_config_dict

    from bench_runner.config import parse_config
    from bench_runner.pipeline import BenchRun
    from safedrift.core.files import iter_jsonl

    data = tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base"],
                            generation={"max_new_tokens": 6, "batch_size": 8, "temperature": 1.0,
                                        "samples_per_prompt": 2})
    run = BenchRun(parse_config(data))
    folder = run.generate("base")
    rows = list(iter_jsonl(folder / "samples.jsonl"))
    assert len(rows) == 2 * len(run.prompts) and sorted(r["sample"] for r in rows).count(1) == len(run.prompts)
    by_uid = {r["uid"]: r["raw_response"] for r in rows}
    differ = sum(by_uid[p.uid] != by_uid[f"{p.uid}|sample=1"] for p in run.prompts)
    assert differ > len(run.prompts) // 2  # temperature 1 on a tiny model: the two samples mostly differ
    assert {r["params"]["temperature"] for r in rows} == {1.0}
    decoding = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["stats"]["decoding"]
    assert (decoding["samples_per_prompt"], decoding["temperature"], decoding["greedy"]) == (2, 1.0, False)
    scores = list(iter_jsonl(run.judge("base") / "scores.jsonl"))
    assert sorted(s["uid"] for s in scores) == sorted(by_uid)


def test_the_summary_shows_the_sampled_rates():
    from support.summaries import summary_of

    rows = [_row(m, item, j, int(m == "pt" and j < 2)) for m in ("base", "pt") for item in "12" for j in range(3)]
    metrics = Metrics.model_validate(compute_metrics(rows, ["base", "pt"], ["en"], n_resamples=200))
    text = summary_of(metrics)
    # pt complied with 2 of 3 samples of both prompts: 0.67, every bootstrap resample the same; base 0.
    assert "| pt | en | 2 | 6 | 0.67 | [0.67, 0.67] | +0.67 | [+0.67, +0.67] |" in text
    assert "| base | en | 2 | 6 | 0.00 | [0.00, 0.00] | – | – |" in text
