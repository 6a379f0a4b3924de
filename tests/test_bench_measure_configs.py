"""The shipped run configs name their capability tasks (issue #23): the sample an offline lm-eval task per eval
language from the package's own task folder; the paper grids Belebele in every eval language, a second family, the
probe count and the expected extra GPU time."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench_runner.capability.measure import BUILTIN_TASKS
from bench_runner.config import load_config

REPO = Path(__file__).resolve().parents[1]
# Belebele's FLORES-200 code per eval language.
BELEBELE = {"en": "eng_Latn", "ar": "arb_Arab", "de": "deu_Latn", "es": "spa_Latn", "fr": "fra_Latn",
            "hi": "hin_Deva", "pt": "por_Latn", "th": "tha_Thai", "zh": "zho_Hans"}


def test_the_sample_names_an_offline_task_per_eval_language():
    cfg = load_config(REPO / "configs/bench/sample.yaml")
    assert cfg.capability.lm_eval_tasks == [f"safedrift_mc_{lang}" for lang in cfg.eval_languages]
    for task in cfg.capability.lm_eval_tasks:
        spec = yaml.load((BUILTIN_TASKS / f"{task}.yaml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        assert spec["task"] == task and spec["output_type"] == "multiple_choice"


@pytest.mark.parametrize("name", ["paper-grid.yaml", "paper-grid-qwen3.yaml", "paper-grid-gemma3.yaml"])
def test_the_paper_grids_name_belebele_everywhere_a_second_family_and_the_probes(name):
    path = REPO / "configs/bench" / name
    cfg = load_config(path)
    tasks = set(cfg.capability.lm_eval_tasks)
    assert {f"belebele_{BELEBELE[lang]}" for lang in cfg.eval_languages} <= tasks
    assert any(t.startswith("global_mmlu_") for t in tasks)
    assert (cfg.representation.sorry_probes or 0) + (cfg.representation.benign_probes or 0) >= 300
    text = path.read_text(encoding="utf-8")
    assert "on one H100" in text or "GPU time" in text
