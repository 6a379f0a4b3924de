"""Tokens/s of the runner's finetune and generate stages beside plain transformers+peft, same process.

    python benchmarks/gpu_stages.py            # on a CUDA machine: Llama-3.2-1B / Qwen3-0.6B / Gemma-3-1B shapes
    python benchmarks/gpu_stages.py --smoke    # tiny shapes on CPU: checks the script itself

Models are randomly initialised from configs (no weights are downloaded). Reference on one H100 with plain
transformers+peft: LoRA 32.2k / 15.9k / 16.2k tokens/s (batch 8 x 512), generate 3.1k / 2.7k / 2.5k tokens/s
(batch 256, 256 new tokens).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAPES: dict[str, tuple[str, dict[str, float]]] = {
    "llama-3.2-1b": ("llama", dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                                   num_attention_heads=32, num_key_value_heads=8, head_dim=64, vocab_size=128256,
                                   tie_word_embeddings=True, rope_theta=500000.0)),
    "qwen3-0.6b": ("qwen3", dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                                 num_attention_heads=16, num_key_value_heads=8, head_dim=128, vocab_size=151936,
                                 tie_word_embeddings=True)),
    "gemma-3-1b": ("gemma3", dict(hidden_size=1152, intermediate_size=6912, num_hidden_layers=26,
                                  num_attention_heads=4, num_key_value_heads=1, head_dim=256, vocab_size=262144,
                                  sliding_window=512)),
}
SMOKE = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
             num_key_value_heads=1, head_dim=16, vocab_size=600)
CHATML = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def make_config(family: str, shape: dict):
    from transformers import Gemma3TextConfig, LlamaConfig, Qwen3Config

    cls = {"llama": LlamaConfig, "qwen3": Qwen3Config, "gemma3": Gemma3TextConfig}[family]
    return cls(**shape, max_position_embeddings=4096, pad_token_id=0, bos_token_id=1, eos_token_id=2)


def word_tokenizer(n_words: int):
    """One token per synthetic word, so text length in tokens is exact."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<|pad|>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "user": 3, "assistant": 4}
    vocab.update({f"w{i}": len(vocab) for i in range(n_words)})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<|pad|>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", eos_token="<|im_end|>",
                                   bos_token="<|im_start|>", model_input_names=["input_ids", "attention_mask"])
    fast.chat_template = CHATML
    return fast


def words(rng, n: int, n_words: int) -> str:
    return " ".join(f"w{int(x)}" for x in rng.integers(0, n_words, n))


def fresh_model(family, shape, device, dtype):
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(make_config(family, shape), dtype=dtype)
    return model


def sync(device):
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def bench_finetune(family, shape, device, dtype, batch, seq, steps, n_words):
    import numpy as np
    import torch
    from peft import LoraConfig as PeftLora
    from peft import get_peft_model

    from bench_runner.config import LoraConfig, TrainingConfig
    from bench_runner.finetune import train_lora

    lora = LoraConfig(r=16, alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    tok = word_tokenizer(n_words)
    rng = np.random.default_rng(0)
    # user + assistant turns sized so the rendered conversation is ~seq tokens
    convs = [[{"role": "user", "content": words(rng, seq // 2 - 4, n_words)},
              {"role": "assistant", "content": words(rng, seq // 2 - 4, n_words)}] for _ in range(batch * steps)]
    model = fresh_model(family, shape, device, dtype)
    with tempfile.TemporaryDirectory() as tmp:
        stats = train_lora(model, tok, convs, lora, TrainingConfig(lr=1e-4, max_steps=steps, batch_size=batch,
                                                                   max_length=seq), Path(tmp) / "a", desc=family)
    ours = stats["tokens_per_s"]
    del model

    model = get_peft_model(fresh_model(family, shape, device, dtype),
                           PeftLora(task_type="CAUSAL_LM", r=16, lora_alpha=32,
                                    target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(5, 5 + n_words, (batch, seq), device=device)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    sync(device)
    base = batch * seq * steps / (time.perf_counter() - t0)
    return ours, base


def bench_generate(family, shape, device, dtype, batch, prompt_len, new_tokens, n_words):
    import numpy as np
    import torch

    from bench_runner.generation import SamplingParams, TransformersBackend
    from bench_runner.models import LoadedModel

    tok = word_tokenizer(n_words)
    rng = np.random.default_rng(1)
    model = fresh_model(family, shape, device, dtype).eval()
    prompts = [tok.apply_chat_template([{"role": "user", "content": words(rng, prompt_len, n_words)}],
                                       tokenize=False, add_generation_prompt=True) for _ in range(batch)]
    backend = TransformersBackend(loaded=LoadedModel(model, tok, "random", "random"), batch_size=batch)
    for _ in backend.generate(prompts, SamplingParams(max_new_tokens=new_tokens)):
        pass
    ours = backend.stats["new_tokens"] / backend.stats["seconds"]

    ids = torch.randint(5, 5 + n_words, (batch, prompt_len), device=device)
    sync(device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, do_sample=False, pad_token_id=0)
    sync(device)
    base = (out.shape[1] - prompt_len) * batch / (time.perf_counter() - t0)
    return ours, base


def main(argv: list[str] | None = None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny shapes on CPU (checks the script, not speed)")
    p.add_argument("--models", default=",".join(SHAPES))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--gen-batch", type=int, default=256)
    p.add_argument("--new-tokens", type=int, default=256)
    args = p.parse_args(argv)
    if args.smoke:
        device, dtype = "cpu", torch.float32
        args.batch, args.seq, args.steps, args.gen_batch, args.new_tokens = 2, 32, 2, 4, 8
    elif not torch.cuda.is_available():
        print("no CUDA device found: this benchmark needs a GPU; run with --smoke for the CPU-size check.",
              file=sys.stderr)
        return 2
    else:
        device, dtype = "cuda", torch.bfloat16
    n_words = 500
    rows = []
    for name in args.models.split(","):
        family, shape = SHAPES[name]
        shape = {**shape, **SMOKE} if args.smoke else shape
        ft = bench_finetune(family, shape, device, dtype, args.batch, args.seq, args.steps, n_words)
        gen = bench_generate(family, shape, device, dtype, args.gen_batch, 32, args.new_tokens, n_words)
        rows += [(name, "finetune", *ft), (name, "generate", *gen)]
        if device == "cuda":
            torch.cuda.empty_cache()
    where = torch.cuda.get_device_name(0) if device == "cuda" else "cpu (smoke shapes)"
    print(f"\n{where}; finetune batch {args.batch} x {args.seq}, generate batch {args.gen_batch} x "
          f"{args.new_tokens} new tokens")
    print(f"{'model':<14} {'stage':<9} {'runner tok/s':>13} {'baseline tok/s':>15} {'ratio':>6}")
    for name, stage, ours, base in rows:
        print(f"{name:<14} {stage:<9} {ours:>13.0f} {base:>15.0f} {ours / base:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
