"""LoRA fine-tuning with TRL's SFTTrainer and peft: the loss on the final assistant turn only.

TRL does the training (schedule with warm-up, accumulation, clipping, bf16 on GPU, gradient checkpointing,
packing / padding-free batches, Liger kernels); accelerate spreads it over the processes of `accelerate launch`
(DDP), where every process trains and the main one writes. This module is the glue: the runner's conversations
as conversational prompt-completion data, the config mapped onto SFTConfig, and what training saw.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_runner.chat import DEFAULT_DATE_STRING, IGNORE_INDEX, encode_for_training, prompt_completion
from bench_runner.config import LoraConfig, TrainingConfig, launched_processes
from bench_runner.stage import versions
from safedrift.core.errors import ConfigError, DataError, missing_extra
from safedrift.core.log import progress

# Recorded with every adapter (train_stats.json) and in results.json.


def sft_config(training: TrainingConfig, output_dir: str, use_cpu: bool, bf16: bool):
    """The run config's training section as TRL's SFTConfig."""
    try:
        from trl import SFTConfig
    except ImportError as exc:
        raise missing_extra("trl", "bench", " (fine-tuning runs through TRL's SFTTrainer)") from exc

    return SFTConfig(
        output_dir=output_dir,
        learning_rate=training.lr,
        num_train_epochs=training.epochs or 1.0,
        max_steps=training.max_steps or -1,
        per_device_train_batch_size=training.micro_batch(launched_processes()),
        gradient_accumulation_steps=training.grad_accum,
        lr_scheduler_type=training.scheduler,
        **_warmup(SFTConfig, training.warmup_ratio),
        max_grad_norm=training.max_grad_norm,
        max_length=training.max_length,
        packing=training.packing,
        packing_strategy="bfd",  # padding-free: every example keeps its own positions and attention
        completion_only_loss=True,
        gradient_checkpointing=training.grad_checkpointing,
        use_liger_kernel=training.liger,
        bf16=bf16,
        use_cpu=use_cpu,
        seed=training.seed,
        data_seed=training.seed,
        logging_steps=1,  # the loss curve, per optimizer step
        save_strategy="no",  # the adapter is saved once, below
        report_to="none",
        disable_tqdm=True,  # the runner's own progress bar (StepProgress)
        dataloader_num_workers=0,
    )


def equal_dose_steps(training: TrainingConfig, n_examples: int, processes: int | None = None) -> TrainingConfig:
    """training.equal_dose: the optimizer steps fixed from the number of examples given (the same ids in every
    fine-tune language), as TRL counts them for `epochs`, so a language whose examples max_length emptied trains
    as many steps as the others (its kept examples cycle). Unchanged when max_steps is set or equal_dose is off."""
    if not training.equal_dose or training.max_steps:
        return training
    processes = processes or launched_processes()
    micro = training.micro_batch(processes)
    per_epoch = math.ceil(math.ceil(n_examples / (micro * processes)) / training.grad_accum)
    return training.model_copy(update={"max_steps": max(1, math.ceil((training.epochs or 1.0) * per_epoch))})


def _warmup(config_class, ratio: float) -> dict:
    """transformers 5 reads a float warmup_steps below 1 as a share of the steps; 4.x has warmup_ratio."""
    fields = getattr(config_class, "__dataclass_fields__", {})
    return {"warmup_ratio": ratio} if "warmup_ratio" in fields else {"warmup_steps": ratio}


def _check_liger(training: TrainingConfig, device_type: str) -> None:
    if not training.liger:
        return
    if importlib.util.find_spec("liger_kernel") is None:
        raise missing_extra("liger-kernel", "liger", " (training.liger: true)")
    if device_type != "cuda":
        raise ConfigError("training.liger needs a CUDA device (Liger's kernels are Triton); set it to false on CPU.")


def _drop_gguf_marker(model) -> None:
    """A GGUF model that bench_runner.models dequantized keeps GGUF's quantization marker though its weights are
    plain tensors; Trainer refuses to train a quantized model, so the marker goes."""
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None and str(quantizer.quantization_config.quant_method) in ("gguf", "QuantizationMethod.GGUF"):
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config


def train_lora(model, tokenizer, conversations: list[list[dict]], lora: LoraConfig, training: TrainingConfig,
               adapter_dir: str | Path, desc: str = "finetune", date_string: str | None = DEFAULT_DATE_STRING,
               on_main: Callable[[dict], None] | None = None) -> dict:
    """Train a LoRA adapter on `model` in place, save it to adapter_dir, return loss curve and throughput.

    Under `accelerate launch` every process calls this: they train together, the main process saves the
    adapter and then runs `on_main(stats)` (the stage's other files), and the others wait for it, so no process
    returns before the stage is finished.

    Also what training saw: `trained_tokens` (tokens that carried loss, summed over the steps and processes,
    after max_length truncation), `examples_truncated` (cut by max_length) and `examples_dropped` (no assistant
    token left after the cut, so not trained on at all), and the versions of the training stack.
    """
    import torch
    from peft import LoraConfig as PeftLoraConfig

    # What max_length leaves of each example, in the runner's own rendering (bench_runner.chat).
    encoded = [encode_for_training(tokenizer, conv, training.max_length, date_string) for conv in conversations]
    kept = [conv for conv, e in zip(conversations, encoded, strict=True) if any(x != IGNORE_INDEX for x in e["labels"])]
    if not kept:
        raise DataError(
            f"no training example keeps an assistant token within max_length={training.max_length}; raise it."
        )
    device = next(model.parameters()).device
    _check_liger(training, device.type)
    _drop_gguf_marker(model)
    from datasets import Dataset

    dataset = Dataset.from_list([prompt_completion(tokenizer, conv, date_string) for conv in kept])
    peft_config = PeftLoraConfig(task_type="CAUSAL_LM", r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                 target_modules=list(lora.target_modules))
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    with tempfile.TemporaryDirectory(prefix="safedrift-sft-") as scratch:  # nothing is saved there
        from transformers import PrinterCallback

        args = sft_config(equal_dose_steps(training, len(conversations)), scratch, device.type == "cpu", bf16)
        trainer = _trainer_class()(model=model, args=args,
                                   train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config)
        trainer.remove_callback(PrinterCallback)  # it prints every step's log dict
        trainer.add_callback(_step_progress(desc, trainer.accelerator.is_main_process))
        start = time.perf_counter()
        trainer.train()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    accelerator = trainer.accelerator
    trained = int(accelerator.reduce(torch.tensor(trainer.trained_tokens, device=accelerator.device), "sum"))
    steps = [h for h in trainer.state.log_history if "loss" in h]
    tokens = int(steps[-1].get("num_tokens", 0)) if steps else 0
    peft_model = accelerator.unwrap_model(trainer.model)
    stats = {
        "steps": trainer.state.global_step,
        "examples": len(kept),
        "loss": [float(h["loss"]) for h in steps],
        "learning_rate": [float(h["learning_rate"]) for h in steps],
        "grad_norm": [float(h["grad_norm"]) for h in steps if h.get("grad_norm") is not None],
        "tokens": tokens,
        "trained_tokens": trained,
        "examples_truncated": sum(e["truncated"] for e in encoded),
        "examples_dropped": len(encoded) - len(kept),
        "seconds": seconds,
        "tokens_per_s": tokens / seconds if seconds > 0 else None,
        "trainable_params": sum(p.numel() for p in peft_model.parameters() if p.requires_grad),
        "processes": accelerator.num_processes,
        "global_batch": args.per_device_train_batch_size * training.grad_accum * accelerator.num_processes,
        "versions": versions(),
    }
    if accelerator.is_main_process:
        peft_model.save_pretrained(str(adapter_dir))
        if on_main is not None:
            on_main(stats)
    accelerator.wait_for_everyone()
    peft_model.eval()
    return stats


@functools.cache
def _trainer_class():
    """SFTTrainer that also counts the tokens that carried loss; built on first use (TRL is imported lazily)."""
    try:
        from trl import SFTTrainer
    except ImportError as exc:
        raise missing_extra("trl", "bench", " (fine-tuning runs through TRL's SFTTrainer)") from exc

    class CountingTrainer(SFTTrainer):
        trained_tokens = 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training:  # labels predict the next token: the first position never carries loss
                self.trained_tokens += int((inputs["labels"][..., 1:] != IGNORE_INDEX).sum())
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    return CountingTrainer


def _step_progress(desc: str, enabled: bool):
    """The runner's progress bar over optimizer steps, as a Trainer callback."""
    from transformers import TrainerCallback

    class StepProgress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = progress(total=state.max_steps, desc=desc, unit="step", enabled=enabled)

        def on_step_end(self, args, state, control, **kwargs):
            self.bar.update(1)

        def on_train_end(self, args, state, control, **kwargs):
            self.bar.close()

    return StepProgress()
