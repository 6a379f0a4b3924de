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

from bench_runner.config import parse_config
from bench_runner.executor import run_grid
from bench_runner.pipeline import BenchRun
from bench_runner.report.schema import Results
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


def test_finetune_under_accelerate_launch_on_two_cpu_processes(tmp_path, isolated_env, tiny_release):
    """`safedrift bench finetune` under `accelerate launch` (DDP over gloo) on SmolLM2 trains the adapter a single
    process trains from the same global batch (2 processes x 2 examples = 1 x 4), and only the main process
    writes the stage."""
    import torch
    from safetensors.torch import load_file

    from bench_runner.assets import ensure_smollm2

    ensure_smollm2()
    training = {"lr": 2e-3, "max_steps": 2, "max_length": 96, "warmup_ratio": 0.0, "scheduler": "constant"}

    def config(name: str, batch_size: int) -> dict:
        # Four rows, a global batch of four: every step is one whole epoch, so no process sees a short batch.
        data = tiny_config_dict(tmp_path / name, tmp_path, tiny_release, finetune_languages=["base", "pt"],
                                datasets={"train_limit": 4}, training={**training, "batch_size": batch_size})
        data["model"] = {"builtin": "smollm2-135m-instruct", "device": "cpu"}
        return data

    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(config("two", 2)))
    proc = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "--main_process_port", str(free_port()), "-m", "safedrift", "bench", "finetune", str(path),
         "--language", "pt"],
        cwd=REPO, env={**isolated_env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    two = BenchRun(parse_config(config("two", 2))).finetune("pt")  # cached: the launched run wrote it
    # Both processes return the one stage folder (their lines may interleave).
    assert proc.stdout.count("/finetune/pt-") == proc.stdout.count(str(two)) == 2
    stats = json.loads((two / "train_stats.json").read_text())
    assert (stats["processes"], stats["global_batch"], stats["steps"]) == (2, 4, 2)
    assert read_manifest(two)["stage"] == "finetune"

    one = BenchRun(parse_config(config("one", 4))).finetune("pt")
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
def test_the_grid_on_ray_gives_the_local_figures(tmp_path, bench_home, tiny_model, tiny_release):
    """executor: ray on a local two-CPU cluster: the same stage keys and figures in results.json as executor: local,
    and a grid submitted again finds every stage cached."""
    def run(executor: str) -> BenchRun:
        return BenchRun(parse_config(tiny_config_dict(
            tmp_path / executor, tiny_model, tiny_release, finetune_languages=["base", "pt"], comet="off",
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
