"""Bad input: unknown Hub model offline, a language missing from the release, an empty split, unknown names."""

from __future__ import annotations

import re

import pytest
from support.fixtures import tiny_config_dict
from support.tiny_release import write_release

from bench_runner.config import ModelConfig, parse_config
from bench_runner.data import SORRY, prompts_of, train_data
from bench_runner.models import load_model
from bench_runner.pipeline import BenchRun
from bench_runner.registries import BACKENDS, JUDGES
from safedrift.core.errors import ConfigError, DataError, SafedriftError


def test_unknown_hub_model_offline_names_hf_token_and_offline_mode(bench_home, monkeypatch):
    import huggingface_hub.constants

    # huggingface_hub reads HF_HUB_OFFLINE at import; set the live value too so nothing reaches the network.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(SafedriftError) as err:
        load_model(ModelConfig(hub_id="safedrift-tests/no-such-model", revision="v1", device="cpu"))
    msg = str(err.value)
    assert "HF_TOKEN" in msg and "HF_HUB_OFFLINE" in msg and "model.local_dir" in msg
    assert "\n" not in msg and msg.endswith(".")


def test_local_dir_without_a_model(tmp_path):
    with pytest.raises(ConfigError, match="has no config.json"):
        load_model(ModelConfig(local_dir=str(tmp_path), device="cpu"))
    with pytest.raises(ConfigError, match=r"model.local_dir .*/nowhere does not exist; point it at"):
        load_model(ModelConfig(local_dir=str(tmp_path / "nowhere"), device="cpu"))


def test_missing_gguf_file(tmp_path):
    with pytest.raises(ConfigError, match=r"model.gguf_file .*x.gguf does not exist"):
        load_model(ModelConfig(gguf_file=str(tmp_path / "x.gguf"), device="cpu"))


def test_language_missing_from_the_release(tmp_path, bench_home, tiny_model, tiny_release):
    cfg = parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, eval_languages=["en", "de"]))
    with pytest.raises(DataError, match="language 'de' is not in the release .*make release"):
        BenchRun(cfg).prompts  # noqa: B018


def test_empty_split(tmp_path, bench_home):
    benign, sorry = write_release(tmp_path / "rel", empty_train=("pt",))
    cfg = parse_config({"run_id": "r", "model": {"local_dir": "m"},
                        "datasets": {"benign": str(benign), "sorry": str(sorry)}})
    assert len(train_data(cfg.datasets, "en")[0]) == 5
    with pytest.raises(DataError, match="the 'train' split of .* for 'pt' is empty"):
        train_data(cfg.datasets, "pt")[0]


def test_release_folder_missing(tmp_path, bench_home):
    cfg = parse_config({"run_id": "r", "model": {"local_dir": "m"},
                        "datasets": {"sorry": str(tmp_path / "nowhere")}})
    with pytest.raises(DataError, match="make release"):
        prompts_of(SORRY, cfg.datasets, "en")


def test_prompt_style_filter_leaving_nothing(tmp_path, bench_home, tiny_release):
    cfg = parse_config({"run_id": "r", "model": {"local_dir": "m"},
                        "datasets": {"sorry": str(tiny_release[1]), "prompt_styles": ["slang"]}})
    with pytest.raises(DataError, match="no SORRY-Bench prompts left"):
        prompts_of(SORRY, cfg.datasets, "en")


def test_unknown_judge_and_backend():
    with pytest.raises(ConfigError, match="did you mean 'refusal'"):
        JUDGES.get("refusl")
    with pytest.raises(ConfigError, match="did you mean 'refusal'"):
        parse_config({"run_id": "r", "model": {"local_dir": "m"}, "judge": {"name": "refusl"}})
    with pytest.raises(ConfigError, match="known generation backends: transformers, vllm"):
        BACKENDS.get("tgi")


def test_vllm_backend_names_its_extra(tiny_model, tmp_path):
    # vLLM runs as a server from its own environment (generation.vllm.python); the backend's own check names
    # the fixes when it is missing (preflight asks it before anything runs).
    from bench_runner.generate.vllm import VllmBackend
    from bench_runner.plugin import Findings

    cfg = parse_config({"run_id": "r", "model": {"local_dir": str(tiny_model)},
                        "generation": {"backend": "vllm",
                                       "vllm": {"python": str(tmp_path / "no-venv" / "bin" / "python")}}})
    found = Findings()
    VllmBackend.check(cfg, found)
    assert len(found.problems) == 1
    assert re.search(r"pip install 'safedrift\[vllm\]'.*`make vllm-env`", found.problems[0])


def test_two_release_folders_never_share_cached_rows(tmp_path, bench_home):
    # datasets keys a local folder's cache without its contents; the runner must not read stale rows.
    _, sorry_a = write_release(tmp_path / "a")
    _, sorry_b = write_release(tmp_path / "b", n_test=1)
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = sorry_b / "data" / "en" / "test-00000-of-00001.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(0, 2).set_column(
        table.schema.get_field_index("turns"), "turns", pa.array([["first own prompt"], ["second own prompt"]])), path)
    cfg_a = parse_config({"run_id": "r", "model": {"local_dir": "m"}, "datasets": {"sorry": str(sorry_a)}})
    cfg_b = parse_config({"run_id": "r", "model": {"local_dir": "m"}, "datasets": {"sorry": str(sorry_b)}})
    assert len(prompts_of(SORRY, cfg_a.datasets, "en")) == 6
    prompts_b = prompts_of(SORRY, cfg_b.datasets, "en")
    assert [p.messages[0]["content"] for p in prompts_b] == ["first own prompt", "second own prompt"]
