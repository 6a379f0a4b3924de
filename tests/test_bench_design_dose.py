"""training.equal_dose: every fine-tune language trains on the same example ids (those that passed QA in all of
them) for the same number of optimizer steps; the option is in the fine-tune key only when on."""

from __future__ import annotations

import pytest
from support.tiny_release import write_release

from bench_runner.config import DatasetsConfig, TrainingConfig, parse_config
from bench_runner.data import equal_dose_ids, train_data
from bench_runner.finetune import FinetuneStage
from bench_runner.finetune.trainer import equal_dose_steps
from bench_runner.stage import RunContext
from safedrift.core.errors import DataError


def _datasets(tmp_path, qa_fail, **extra) -> DatasetsConfig:
    benign, sorry = write_release(tmp_path, qa_fail=qa_fail)
    return DatasetsConfig(benign=str(benign), sorry=str(sorry), xstest=None, **extra)


def test_equal_dose_keeps_the_ids_that_passed_qa_in_every_language(tmp_path):
    # Train rows are positions 3-7 (ids tiny-003 ... tiny-007): en fails 3, pt fails 5 and 6.
    cfg = _datasets(tmp_path, {("benign", "en"): (3,), ("benign", "pt"): (5, 6)})
    ids = equal_dose_ids(cfg, ["en", "pt"])
    assert ids == ["tiny-004", "tiny-007"]
    en, en_failed = train_data(cfg, "en", ids)
    pt, pt_failed = train_data(cfg, "pt", ids)
    assert (len(en), len(pt), en_failed, pt_failed) == (2, 2, 1, 2)
    assert [c[0]["content"] for c in en] == ["Suggest a name for a bakery.", "Write a short greeting for a birthday card."]
    assert [c[0]["content"] for c in pt] == ["Sugira um nome para uma padaria.",
                                            "Escreva uma saudação curta para um cartão de aniversário."]
    # Off: each language its own QA-passed rows, a different dose per language.
    assert (len(train_data(cfg, "en")[0]), len(train_data(cfg, "pt")[0])) == (4, 3)


def test_equal_dose_applies_train_limit_to_the_common_ids_and_says_when_none_is_left(tmp_path):
    limited = _datasets(tmp_path / "a", {("benign", "pt"): (3,)}, train_limit=2)
    assert equal_dose_ids(limited, ["en", "pt"]) == ["tiny-004", "tiny-005"]
    none = _datasets(tmp_path / "b", {("benign", "en"): (3, 4, 5), ("benign", "pt"): (6, 7)})
    with pytest.raises(DataError, match="passed translation QA in every fine-tune language"):
        equal_dose_ids(none, ["en", "pt"])


def test_equal_dose_fixes_the_optimizer_steps_from_the_common_examples():
    on = TrainingConfig(equal_dose=True, batch_size=4)
    assert equal_dose_steps(on, 10, processes=1).max_steps == 3  # ceil(10 / 4) batches, one epoch
    assert equal_dose_steps(on.model_copy(update={"epochs": 2.0}), 10, processes=1).max_steps == 6
    assert equal_dose_steps(on.model_copy(update={"grad_accum": 2}), 10, processes=1).max_steps == 2
    assert equal_dose_steps(TrainingConfig(equal_dose=True, global_batch_size=8), 20, processes=2).max_steps == 3
    assert equal_dose_steps(TrainingConfig(batch_size=4), 10, processes=1).max_steps is None  # off: TRL counts
    assert equal_dose_steps(on.model_copy(update={"max_steps": 7}), 10, processes=1).max_steps == 7


def test_equal_dose_is_in_the_finetune_key_only_when_on():
    def training_key(**training):
        cfg = parse_config({"run_id": "t", "model": {"builtin": "smollm2-135m-instruct"},
                            "finetune_languages": ["base", "en"], "training": training})
        return FinetuneStage(RunContext(cfg)).training("en").model_dump(exclude={"seeds"})

    assert "equal_dose" not in training_key() and "equal_dose" not in training_key(equal_dose=False)
    assert training_key(equal_dose=True)["equal_dose"] is True
    assert {k: v for k, v in training_key(equal_dose=True).items() if k != "equal_dose"} == training_key()
