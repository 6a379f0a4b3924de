"""Training and the grid at study scale: TRL training, `accelerate launch` over two CPU processes (gloo), and the
grid as Ray tasks on a local two-CPU cluster."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
import yaml
from conftest import REPO
from support.fixtures import tiny_config_dict

from bench_runner.config import launched_processes, parse_config
from bench_runner.executor import run_grid
from bench_runner.pipeline import BenchRun
from bench_runner.report.schema import Results
from safedrift.core.errors import ConfigError
from safedrift.core.files import read_manifest


def test_training_keys_and_the_executor_are_config(tmp_path, tiny_model, tiny_release):
    cfg = parse_config(tiny_config_dict(
        tmp_path, tiny_model, tiny_release, executor="ray", ray={"num_cpus": 2, "num_gpus_per_task": 0},
        training={"grad_accum": 4, "scheduler": "linear", "warmup_ratio": 0.1, "packing": True,
                  "grad_checkpointing": True, "max_grad_norm": 0.5, "liger": False}))
    t = cfg.training
    assert (t.grad_accum, t.scheduler, t.warmup_ratio, t.packing, t.grad_checkpointing, t.max_grad_norm) == (
        4, "linear", 0.1, True, True, 0.5)
    assert cfg.executor == "ray" and cfg.ray.num_cpus == 2 and cfg.ray.address is None
    from bench_runner.finetune.trainer import sft_config

    args = sft_config(t, str(tmp_path / "scratch"), use_cpu=True, bf16=False)
    assert (args.gradient_accumulation_steps, args.lr_scheduler_type.value, args.warmup_steps) == (4, "linear", 0.1)
    assert args.packing and args.packing_strategy == "bfd" and args.completion_only_loss
    assert args.gradient_checkpointing and args.max_grad_norm == 0.5 and not args.bf16 and args.use_cpu
    assert args.per_device_train_batch_size == 2 and args.max_steps == 4 and args.learning_rate == 0.05
    for bad in ({"scheduler": "step"}, {"warmup_ratio": 1.0}, {"grad_accum": 0}):
        with pytest.raises(Exception, match="training"):
            parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, training=bad))


def test_the_global_batch_is_kept_under_accelerate_launch_or_the_config_is_refused(tmp_path, tiny_model, tiny_release,
                                                                                      monkeypatch):
    """WORLD_SIZE=2 (as `accelerate launch --num_processes 2` sets it): a per-process batch_size would double the
    global batch and is refused with the fix; training.global_batch_size derives each process's batch."""
    from bench_runner.finetune.trainer import sft_config
    from bench_runner.preflight import preflight

    per_process = parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release))
    data = tiny_config_dict(tmp_path, tiny_model, tiny_release)
    data["training"] = {**{k: v for k, v in data["training"].items() if k != "batch_size"}, "global_batch_size": 4}
    fixed = parse_config(data)
    assert "global_batch_size" not in per_process.training.model_dump()  # old configs keep their fine-tune keys
    assert fixed.training.model_dump()["global_batch_size"] == 4 and "batch_size" not in fixed.training.model_dump()
    assert preflight(per_process).problems == [] and preflight(fixed).problems == []
    assert sft_config(fixed.training, str(tmp_path), True, False).per_device_train_batch_size == 4

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert preflight(per_process).problems == [
        "under 2 processes training.batch_size 2 is per process, so the global batch would be 4, not the 2 of one "
        "process; set training.global_batch_size: 2 in place of batch_size (each process then takes 2 / (grad_accum "
        "x 2))."]
    assert preflight(fixed).problems == []
    assert launched_processes() == 2 and fixed.training.micro_batch(2) == 2  # what sft_config asks for
    # Only base to evaluate: nothing trains, nothing to refuse.
    assert preflight(per_process, ["base"]).problems == []
    odd = fixed.training.model_copy(update={"global_batch_size": 6, "grad_accum": 2})
    with pytest.raises(ConfigError, match="global_batch_size 6 does not split over grad_accum 2 x 2 processes; make "
                                          "it a multiple of 4"):
        odd.micro_batch(2)
    with pytest.raises(Exception, match="training.global_batch_size .* or training.batch_size .* not both"):
        parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, training={"global_batch_size": 4}))


def test_packing_trains_padding_free_with_the_loss_on_answers_only(tmp_path, tiny_model):
    """Packed rows (best-fit decreasing) on sdpa: one row per step holds several examples, each attending to
    itself; the prompt tokens still carry no loss, so the trained tokens equal the unpacked run's per example."""
    from support.tiny_release import BENIGN

    from bench_runner.config import LoraConfig, ModelConfig, TrainingConfig
    from bench_runner.finetune.trainer import train_lora
    from bench_runner.models import load_model

    conversations = [[{"role": "user", "content": i}, {"role": "assistant", "content": o}] for i, _, o in BENIGN["en"]]
    stats = {}
    for packing in (False, True):
        loaded = load_model(ModelConfig(local_dir=str(tiny_model), device="cpu"))
        # batch 1 x 512: packed, every example fits in the one row; unpacked, one example a step.
        training = TrainingConfig(lr=0.05, epochs=1, batch_size=1 if packing else len(conversations),
                                  max_length=512, packing=packing)
        stats[packing] = train_lora(loaded.model, loaded.tokenizer, conversations, LoraConfig(r=4, alpha=8), training,
                                    tmp_path / f"adapter-{packing}")
    assert stats[True]["steps"] == stats[False]["steps"] == 1
    assert stats[True]["trained_tokens"] == stats[False]["trained_tokens"] > 0
    assert stats[True]["tokens"] == stats[False]["tokens"]  # no padding either way: one batch, lengths differ
    # Same examples, same weights, each example masked to itself: the same loss.
    assert stats[True]["loss"][0] == pytest.approx(stats[False]["loss"][0], abs=2e-3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_config(root, model_dir, release, training: dict) -> dict:
    """A one-language config trained on four rows at a global batch of four."""
    data = tiny_config_dict(root, model_dir, release, finetune_languages=["base", "pt"], datasets={"train_limit": 4})
    data["training"] = {**training, "global_batch_size": 4}
    return data


def launch_finetune(path, env: dict, timeout: int = 900) -> subprocess.CompletedProcess:
    """`accelerate launch` of `safedrift bench finetune CONFIG --language pt` on two CPU processes (gloo)."""
    return subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "--main_process_port", str(free_port()), "-m", "safedrift", "bench", "finetune", str(path),
         "--language", "pt"],
        cwd=REPO, env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=timeout)


def test_an_error_on_the_main_process_ends_every_rank_at_once(tmp_path, isolated_env, tiny_model, tiny_release,
                                                             monkeypatch):
    """The main process fails writing the stage while the other rank waits for it at the barrier: the launch ends
    with the main process's error in seconds, not after the distributed timeout (30 minutes); nothing is marked
    finished."""
    import time

    data = launch_config(tmp_path, tiny_model, tiny_release, {"lr": 0.05, "max_steps": 2, "max_length": 64})
    path = tmp_path / "fail.yaml"
    path.write_text(yaml.safe_dump(data))
    with monkeypatch.context() as env:  # the folder the 2-process launch writes (the process count is in the key)
        env.setenv("WORLD_SIZE", "2")
        folder = BenchRun(parse_config(data)).finetune.folder("pt")
    (folder / "train_stats.json").mkdir(parents=True)  # the main process's write fails; the other rank's has none
    start = time.monotonic()
    proc = launch_finetune(path, isolated_env, timeout=600)
    seconds = time.monotonic() - start
    assert proc.returncode != 0 and "train_stats.json" in proc.stderr, proc.stderr[-4000:]
    assert seconds < 240, f"the launch took {seconds:.0f} s to end after the main process failed"
    assert not (folder / "manifest.json").exists()


def test_finetune_under_accelerate_launch_on_two_cpu_processes(tmp_path, isolated_env, tiny_release, monkeypatch):
    """`safedrift bench finetune` under `accelerate launch` (DDP over gloo) on SmolLM2 trains the adapter a single
    process trains from the same global batch (2 processes x 2 examples = 1 x 4), and only the main process
    writes the stage."""
    import torch
    from safetensors.torch import load_file

    from bench_runner.assets import ensure_smollm2

    ensure_smollm2()
    training = {"lr": 2e-3, "max_steps": 2, "max_length": 96, "warmup_ratio": 0.0, "scheduler": "constant"}

    def config(name: str) -> dict:
        # Four rows, a global batch of four (each of two processes takes two): every step is one whole epoch, so no
        # process sees a short batch.
        data = launch_config(tmp_path / name, tmp_path, tiny_release, training)
        data["model"] = {"builtin": "smollm2-135m-instruct", "device": "cpu"}
        return data

    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(config("two")))
    proc = launch_finetune(path, isolated_env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    with monkeypatch.context() as env:  # as launched: the process count is in the fine-tune key
        env.setenv("WORLD_SIZE", "2")
        two = BenchRun(parse_config(config("two"))).finetune("pt")  # cached: the launched run wrote it
    # Both processes return the one stage folder (their lines may interleave).
    assert proc.stdout.count("/finetune/pt-") == proc.stdout.count(str(two)) == 2
    stats = json.loads((two / "train_stats.json").read_text())
    assert (stats["processes"], stats["global_batch"], stats["steps"]) == (2, 4, 2)
    assert read_manifest(two)["stage"] == "finetune"

    one = BenchRun(parse_config(config("one"))).finetune("pt")
    assert one.name != two.name  # the same global batch over one process: its own cache folder
    single = json.loads((one / "train_stats.json").read_text())
    assert (single["processes"], single["global_batch"]) == (1, 4)
    assert stats["loss"] == pytest.approx(single["loss"], abs=1e-4)
    assert stats["trained_tokens"] == single["trained_tokens"]
    a, b = load_file(two / "adapter/adapter_model.safetensors"), load_file(one / "adapter/adapter_model.safetensors")
    assert a.keys() == b.keys()
    moved = [k for k in a if "lora_B" in k and b[k].abs().max() > 0]
    assert moved  # the adapters trained (LoRA B starts at zero)
    # Gradients summed in another order differ in the last bits, and Adam's first steps (update ~ lr * sign) blow
    # that up for entries whose gradient is near zero: compare each tensor as a whole (measured: at most 0.2 %).
    for k in a:
        assert float((a[k] - b[k]).norm() / b[k].norm().clamp(min=1e-12)) < 1e-2, k
    assert not torch.equal(a[moved[0]], torch.zeros_like(a[moved[0]]))


@pytest.mark.slow
def test_the_grid_on_ray_gives_the_local_figures(tmp_path, bench_home, tiny_model, tiny_release, local_ray):
    """executor: ray on a local two-CPU cluster: the same stage keys and figures in results.json as executor: local,
    and a grid submitted again finds every stage cached."""
    def run(executor: str) -> BenchRun:
        return BenchRun(parse_config(tiny_config_dict(
            tmp_path / executor, tiny_model, tiny_release, finetune_languages=["base", "pt"], tracking={"comet": "off"},
            executor=executor, ray={"num_cpus": 2})))

    local, ray_run = run("local"), run("ray")
    run_grid(local)
    run_grid(ray_run)
    mine, theirs = (Results.model_validate_json((r.run_dir / "results.json").read_text()) for r in (local, ray_run))
    assert theirs.stage_keys == mine.stage_keys
    assert theirs.metrics == mine.metrics
    assert theirs.finetune["pt"].loss == mine.finetune["pt"].loss
    assert theirs.versions["ray"] and theirs.config["executor"] == "ray"
    # Submitted again: every stage is found in its cache, nothing is rewritten.
    stages = sorted(ray_run.run_dir.glob("*/*/manifest.json"))
    before = {p: p.stat().st_mtime_ns for p in stages}
    run_grid(ray_run)
    assert {p: p.stat().st_mtime_ns for p in stages} == before
