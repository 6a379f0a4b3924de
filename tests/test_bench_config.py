"""Run configs: every file under configs/bench loads; unknown keys and bad values are one-sentence errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench_runner.config import load_config, parse_config
from safedrift.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
BENCH_CONFIGS = sorted((REPO / "configs" / "bench").glob("*.yaml"))
MINIMAL = {"run_id": "r", "model": {"local_dir": "m"}}


@pytest.mark.parametrize("path", BENCH_CONFIGS, ids=lambda p: p.name)
def test_every_bench_config_loads_and_starts_with_its_command(path):
    cfg = load_config(path)
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# make bench") or first.startswith("# python -m bench_runner run")
    assert "base" in cfg.finetune_languages and cfg.eval_languages


def test_sample_config_is_the_offline_smollm2_default():
    cfg = load_config(REPO / "configs/bench/sample.yaml")
    assert cfg.model.builtin == "smollm2-135m-instruct"
    # Written relative; resolved against the config's folder, then the working directory (a Hub id if neither).
    from bench_runner.config import config_locations

    where = config_locations(cfg)
    assert where["datasets.benign"].given == "release/Multilingual-Benign-Tune"
    assert where["datasets.sorry"].given == "release/SORRY-Bench-Multilingual"
    assert cfg.datasets.sorry == where["datasets.sorry"].value
    assert cfg.finetune_languages == ["base", "en", "pt"] and cfg.eval_languages == ["en", "pt"]
    assert cfg.judge.name == "refusal" and cfg.tracking.comet == "offline"


def test_defaults_and_label():
    cfg = parse_config({"run_id": "r", "model": {"hub_id": "org/model", "revision": "abc123"}})
    assert cfg.model.label == "org/model@abc123"
    assert cfg.training.lr == 2e-4 and cfg.generation.temperature == 0.0
    assert cfg.run_dir == Path("runs/r")


@pytest.mark.parametrize(
    "patch, needle",
    [
        ({"surprise": 1}, "surprise: unknown key"),
        ({"training": {"lr": 0.1, "warmup": 3}}, "training.warmup: unknown key"),
        ({"model": {"hub_id": "a/b", "local_dir": "c"}}, "exactly one of model.hub_id"),
        ({"model": {}}, "exactly one of model.hub_id"),
        ({"eval_languages": ["en", "klingon"]}, "unknown language 'klingon'"),
        ({"finetune_languages": ["base", "pt", "pt"]}, "listed twice"),
        ({"judge": {"name": "refusals"}}, "did you mean 'refusal'"),
        ({"generation": {"backend": "vlm"}}, "did you mean 'vllm'"),
        ({"training": {"lr": -1}}, "training.lr"),
        ({"comet": "maybe"}, "comet"),
        ({"run_id": "../escape"}, "run_id"),
    ],
)
def test_bad_configs_are_one_sentence(patch, needle):
    with pytest.raises(ConfigError) as err:
        parse_config({**MINIMAL, **patch})
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("run_id: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(MINIMAL))
    assert load_config(good, {"run_id": "other"}).run_id == "other"
