"""Answers judged whole: a token budget per eval language (a mapping, or scaled by measured token fertility), and
the summary's flag on cells whose answers were cut at the budget."""

from __future__ import annotations

import pytest
from support.tiny_lm import train_tokenizer

from bench_runner.config import GenerationConfig
from bench_runner.data import Prompt
from bench_runner.serving.sampling import SamplingParams, language_budgets, prompt_budgets, token_fertility
from safedrift.core.errors import ConfigError


def _prompt(lang: str, item: str, text: str) -> Prompt:
    return Prompt(uid=f"sorry:{lang}:{item}", kind="sorry", language=lang, item_id=item,
                  messages=({"role": "user", "content": text},))


class WordTokenizer:
    """One token per space-separated word: fertility is then the word ratio, known exactly."""

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        return {"input_ids": list(range(len(text.split())))}


def test_fertility_is_the_token_ratio_to_english_on_shared_items():
    prompts = [_prompt("en", "1", "a b"), _prompt("en", "2", "a b c d"), _prompt("th", "1", "a b c d e f"),
               _prompt("th", "2", "a b c d e f g h i j k l"), _prompt("th", "3", "x y z"),  # no English twin
               _prompt("zh", "1", "a")]
    assert token_fertility(WordTokenizer(), prompts) == {"en": 1.0, "th": 3.0, "zh": 0.5}
    cfg = GenerationConfig(max_new_tokens=100, max_new_tokens_scale="fertility")
    # Thai gets three times the English budget; Chinese never less than it.
    assert prompt_budgets(cfg, WordTokenizer(), prompts) == {"en": 100, "th": 300, "zh": 100}
    with pytest.raises(ValueError, match="add it to eval_languages"):
        prompt_budgets(cfg, WordTokenizer(), [_prompt("th", "1", "a")])


def test_fertility_on_a_real_tokenizer_is_above_one_for_portuguese():
    from support.tiny_release import SORRY

    tok = train_tokenizer()
    prompts = [_prompt(lang, cat, text) for lang, rows in SORRY.items() for cat, _, text in rows]
    fertility = token_fertility(tok, prompts)
    assert fertility["en"] == 1.0 and 1.0 < fertility["pt"] < 2.0


def test_budgets_from_the_mapping_the_default_and_their_validation():
    cfg = GenerationConfig(max_new_tokens=256, max_new_tokens_by_language={"th": 1024})
    assert language_budgets(cfg, ["en", "th", "pt"]) == {"en": 256, "th": 1024, "pt": 256}
    assert language_budgets(GenerationConfig(), ["en", "pt"]) == {"en": 256, "pt": 256}  # default: one budget
    with pytest.raises(ConfigError, match="xx"):
        GenerationConfig(max_new_tokens_by_language={"xx": 5})
    with pytest.raises(ValueError, match=">= 1"):
        GenerationConfig(max_new_tokens_by_language={"th": 0})
    assert SamplingParams(8, 0.7, 0.8, 1).with_budget(3) == SamplingParams(3, 0.7, 0.8, 1)


def test_the_transformers_backend_answers_each_language_within_its_budget(tmp_path, bench_home, tiny_model,
                                                                          tiny_release):
    from support.fixtures import tiny_config_dict

    from bench_runner.config import parse_config
    from bench_runner.pipeline import BenchRun
    from safedrift.core.files import iter_jsonl

    data = tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base"],
                            generation={"max_new_tokens": 6, "batch_size": 4, "max_new_tokens_by_language": {"pt": 2}})
    run = BenchRun(parse_config(data))
    folder = run.generate("base")
    rows = list(iter_jsonl(folder / "samples.jsonl"))
    by_lang = {lang: [r for r in rows if r["language"] == lang] for lang in ("en", "pt")}
    assert by_lang["en"] and by_lang["pt"] and len(rows) == len(run.prompts)
    assert {r["params"]["max_new_tokens"] for r in by_lang["pt"]} == {2}
    assert {r["params"]["max_new_tokens"] for r in by_lang["en"]} == {6}
    assert max(r["new_tokens"] for r in by_lang["pt"]) <= 2 and max(r["new_tokens"] for r in by_lang["en"]) > 2
    # A cut answer is one that used its own language's budget without an end token.
    assert all(r["truncated"] == (r["new_tokens"] == 2) for r in by_lang["pt"] if r["truncated"] is not None)
    manifest = (folder / "manifest.json").read_text(encoding="utf-8")
    assert '"max_new_tokens": {' in manifest


def test_the_summary_flags_cells_cut_at_the_budget():
    from bench_runner.report.schema import Results
    from bench_runner.report.summary import summary_markdown

    cell = {"n": 10, "compliant": 2, "rate": 0.2, "ci_low": 0.05, "ci_high": 0.5, "finetune_language": "base",
            "over_refusal": {"n": 0, "refused": 0}, "truncated": {"share": 0.3, "n": 10, "mean_new_tokens": 200.0}}
    cells = [{**cell, "eval_language": "th"},
             {**cell, "eval_language": "en", "truncated": {"share": 0.05, "n": 10, "mean_new_tokens": 50.0}}]
    results = Results.model_validate({
        "schema_version": "x", "run_id": "r", "created": "now", "config": {"generation": {"truncation_flag": 0.1}},
        "versions": {}, "seeds": {}, "hardware": {}, "model": {"label": "tiny"}, "judge": {"name": "refusal"},
        "finetune": {}, "generation": {},
        "stage_keys": {}, "metrics": {"cells": cells, "categories": [], "ci_method": "wilson", "paired_method": "p",
                                      "confidence": 0.95, "n_resamples": 100, "seed": 0}})
    text = summary_markdown(results)
    assert "| 30% ⚠ |" in text and "| 5% |" in text
    assert "⚠ 1 cell(s) have more than 10% of their answers cut at the token budget (base/th)" in text


def test_one_budget_keeps_one_batch_order_across_languages(tmp_path):
    from bench_runner.config import parse_config
    from bench_runner.generate.transformers import TransformersBackend

    todo = [_prompt(lang, str(i), "a") for i in range(3) for lang in ("en", "pt")]
    cfg = parse_config({"run_id": "r", "model": {"builtin": "smollm2-135m-instruct"}, "eval_languages": ["en", "pt"]})
    backend = TransformersBackend(cfg, tmp_path)
    # The default (one budget): every prompt in one group, in order, so batches are exactly as before.
    assert backend._groups(todo, {"en": 256, "pt": 256}) == [(backend.params, list(range(6)))]
    groups = backend._groups(todo, {"en": 256, "pt": 512})
    assert [(p.max_new_tokens, part) for p, part in groups] == [(256, [0, 2, 4]), (512, [1, 3, 5])]
