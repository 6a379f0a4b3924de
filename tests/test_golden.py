"""Golden values on tiny real assets (torchtune's habit): a silent change to training or QA scoring fails here.

When a change is deliberate (a new training loop, a new scorer setting), update the values in the same
commit and say why in its message.
"""

from __future__ import annotations

import pytest

# LoRA loss per step on the tiny llama (tests/support/tiny_lm.py, seed 0), English tiny release, CPU fp32.
# Updated deliberately for issue 13, training through TRL's SFTTrainer instead of the hand-written loop: the first
# step is unchanged (same batch, same LoRA init, same tokens carry loss), the rest differ because of the schedule
# (the default cosine with 3 % warm-up makes step 1 an lr-0 step, then decays; the old loop kept lr constant),
# gradient clipping at 1.0, AdamW without the weight decay torch's default had (0.01), and TRL's token-level
# prompt/completion split. Old loop: [6.005, 5.9864, 6.0107, 5.9399, 5.9728, 5.956].
GOLDEN_LOSSES = [6.005, 5.9903, 6.0137, 5.9547, 5.9704, 5.9501]
GOLDEN_LEARNING_RATES = [0.0, 0.05, 0.045225, 0.032725, 0.017275, 0.004775]


def test_lora_loss_curve_is_golden(tmp_path, tiny_model):
    from support.tiny_release import BENIGN

    from bench_runner.config import LoraConfig, ModelConfig, TrainingConfig
    from bench_runner.finetune.trainer import train_lora
    from bench_runner.models import load_model

    conversations = [[{"role": "user", "content": f"{i}\n\n{x}" if x else i}, {"role": "assistant", "content": o}]
                     for i, x, o in BENIGN["en"]]
    loaded = load_model(ModelConfig(local_dir=str(tiny_model), device="cpu"))
    stats = train_lora(loaded.model, loaded.tokenizer, conversations, LoraConfig(r=4, alpha=8),
                       TrainingConfig(lr=0.05, max_steps=6, batch_size=2, max_length=64, seed=0),
                       tmp_path / "adapter")
    assert stats["loss"] == pytest.approx(GOLDEN_LOSSES, abs=1e-4)
    assert stats["learning_rate"] == pytest.approx(GOLDEN_LEARNING_RATES, abs=1e-6)
    assert (stats["steps"], stats["trained_tokens"], stats["tokens"]) == (6, 266, 695)
    assert stats["processes"] == 1 and stats["global_batch"] == 2 and stats["versions"]["trl"]
