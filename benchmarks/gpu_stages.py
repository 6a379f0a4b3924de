"""Tokens/s of the runner's finetune and generate stages beside plain transformers+peft, same process.

    python benchmarks/gpu_stages.py            # on a CUDA machine: Llama-3.2-1B / Qwen3-0.6B / Gemma-3-1B shapes
    python benchmarks/gpu_stages.py --smoke    # tiny shapes on CPU: checks the script itself
    python benchmarks/gpu_stages.py --smoke --vllm-cpu   # + the vLLM section on vLLM's CPU build (minutes)
    python benchmarks/gpu_stages.py --wheelhouse wheelhouse   # a node without network: `make wheelhouse` first

On a GPU node that has only torch, transformers, peft and accelerate, `--wheelhouse DIR` first installs what else
the script needs (benchmarks/wheelhouse.txt, and wheelhouse-compiled.txt where the node lacks pyarrow/pandas) from
DIR with pip --no-index.

Models are randomly initialised from configs (no weights are downloaded). Reference on one H100 with plain
transformers+peft: LoRA 32.2k / 15.9k / 16.2k tokens/s (batch 8 x 512), generate 3.1k / 2.7k / 2.5k tokens/s
(batch 256, 256 new tokens).

The fine-tune rows: the runner's TRL path (SFTTrainer + peft) as configured by default, with packing
(padding-free, best-fit decreasing), with Liger kernels and with both (the Liger rows need CUDA and
liger-kernel), each against a plain transformers + peft loop on padded batches of the same variable-length
conversations, in non-pad tokens per second; the goal is a ratio of 2 or more. Above the table: the estimated
GPU-hours of the paper grid for one family (9 fine-tune languages x 3 seeds, base + 27 adapters answering in 9
languages, every answer judged), from the best measured fine-tune and generate rates and the forward rate scaled to
the judge (printed as the judge's forward rate); the --grid-* options set its sizes.

The `vllm` rows: the runner's vLLM path (one server from generation.vllm.python, the base model and 9 LoRA
adapters at once, every model's prompts in flight together) against transformers `generate` on the same
prompts (the base model and one adapter, each a batch of --gen-batch; every adapter costs the same), in new
tokens per second; the goal is a ratio of 10 or more. They need a GPU and a vLLM environment (.venv-vllm, or
--vllm-python); without one they are skipped with the reason printed above the table.
"""

from __future__ import annotations

import argparse
import subprocess
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
    vocab.update({f"w{i}": 5 + i for i in range(n_words)})  # (len(vocab) inside the comprehension gave one id)
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


def conversations(batch: int, seq: int, steps: int, n_words: int, seed: int = 0) -> list[list[dict]]:
    """Instruction-tuning-like data: lengths spread from seq/8 to seq tokens (Alpaca/Dolly answers vary), so
    padding costs the plain loop what it costs in a real run and packing has something to pack."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(batch * steps * 2):
        n = int(rng.integers(seq // 8, seq)) - 8  # 8: the chat template's own tokens
        out.append([{"role": "user", "content": words(rng, max(1, n // 3), n_words)},
                    {"role": "assistant", "content": words(rng, max(1, n - n // 3), n_words)}])
    return out


# The fine-tune rows: the runner's TRL path with each option, against the plain loop.
FINETUNE_VARIANTS = {"finetune": {}, "ft+packing": {"packing": True}, "ft+liger": {"liger": True},
                     "ft+pack+liger": {"packing": True, "liger": True}}


def liger_unavailable(device: str) -> str | None:
    import importlib.util

    if device != "cuda":
        return "no CUDA device (Liger's kernels are Triton)"
    if importlib.util.find_spec("liger_kernel") is None:
        return 'liger-kernel is not installed (pip install "safedrift[liger]")'
    return None


def runner_finetune(family, shape, device, dtype, convs, batch, seq, steps, n_words, **options) -> float:
    """Tokens/s of bench_runner.finetune.trainer.train_lora (TRL's SFTTrainer) with the given training options."""
    from bench_runner.config import LoraConfig, TrainingConfig
    from bench_runner.finetune.trainer import train_lora

    lora = LoraConfig(r=16, alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    model = fresh_model(family, shape, device, dtype)
    training = TrainingConfig(lr=1e-4, max_steps=steps, batch_size=batch, max_length=seq, warmup_ratio=0.0,
                              **options)
    with tempfile.TemporaryDirectory() as tmp:
        stats = train_lora(model, word_tokenizer(n_words), convs, lora, training, Path(tmp) / "a", desc=family)
    del model
    return stats["tokens_per_s"]


def plain_finetune(family, shape, device, dtype, convs, batch, seq, steps, n_words) -> float:
    """Tokens/s (non-pad) of what a user would otherwise write: transformers + peft, AdamW, padded batches of the
    same conversations, loss on every token."""
    import torch
    from peft import LoraConfig as PeftLora
    from peft import get_peft_model

    tok = word_tokenizer(n_words)
    texts = [tok.apply_chat_template(c, tokenize=False) for c in convs]
    model = get_peft_model(fresh_model(family, shape, device, dtype),
                           PeftLora(task_type="CAUSAL_LM", r=16, lora_alpha=32,
                                    target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    tokens = 0
    sync(device)
    t0 = time.perf_counter()
    for step in range(steps):
        enc = tok(texts[step * batch:(step + 1) * batch], return_tensors="pt", padding=True, truncation=True,
                  max_length=seq, add_special_tokens=False).to(device)
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens += int(enc["attention_mask"].sum())
    sync(device)
    seconds = time.perf_counter() - t0
    del model
    return tokens / seconds


def bench_finetune(family, shape, device, dtype, batch, seq, steps, n_words, variants) -> list[tuple[str, float, float]]:
    """(row name, runner tokens/s, plain-loop tokens/s) per training variant; the plain loop runs once."""
    convs = conversations(batch, seq, steps, n_words)
    base = plain_finetune(family, shape, device, dtype, convs, batch, seq, steps, n_words)
    return [(name, runner_finetune(family, shape, device, dtype, convs, batch, seq, steps, n_words,
                                   **FINETUNE_VARIANTS[name]), base) for name in variants]


def prefill_tokens_per_s(family, shape, device, dtype, batch, seq, n_words) -> tuple[float, int]:
    """Forward-only tokens/s of the shape (what judging costs per token, scaled by parameters) and its parameters."""
    import torch

    model = fresh_model(family, shape, device, dtype).eval()
    ids = torch.randint(5, 5 + n_words, (batch, seq), device=device)
    with torch.inference_mode():
        model(input_ids=ids)  # warm-up
        sync(device)
        t0 = time.perf_counter()
        for _ in range(3):
            model(input_ids=ids)
        sync(device)
    rate = 3 * batch * seq / (time.perf_counter() - t0)
    params = sum(p.numel() for p in model.parameters())
    del model
    return rate, params


def judge_rate(args, prefill_rate: float, params: int) -> float:
    """The judge's forward tokens/s: the measured forward rate of the shape scaled by parameters to the judge's."""
    return prefill_rate * params / args.grid_judge_params


def grid_hours(args, finetune_rate: float, generate_rate: float, prefill_rate: float, params: int) -> dict:
    """Estimated GPU-hours of the paper grid for one family from the measured rates: 9 fine-tune languages x 3
    seeds; base + 27 adapters answering SORRY-Bench and XSTest in every eval language; every answer judged by a
    7B judge (its prompt + answer read once, at the measured forward rate scaled by parameters)."""
    langs, adapters = args.grid_languages, args.grid_languages * args.grid_seeds
    train_tokens = adapters * args.grid_train_rows * args.grid_epochs * args.grid_tokens_per_row
    answers = (adapters + 1) * langs * args.grid_prompts
    new_tokens = answers * args.grid_new_tokens
    judged_tokens = answers * (args.grid_new_tokens + args.grid_judge_prompt_tokens)
    hours = {"finetune": train_tokens / finetune_rate / 3600, "generate": new_tokens / generate_rate / 3600,
             "judge": judged_tokens / judge_rate(args, prefill_rate, params) / 3600}
    hours["total"] = sum(hours.values())
    return hours


def bench_generate(family, shape, device, dtype, batch, prompt_len, new_tokens, n_words):
    import numpy as np
    import torch

    from bench_runner.generate.transformers import TransformersGenerator
    from bench_runner.models import LoadedModel
    from bench_runner.serving.sampling import SamplingParams

    tok = word_tokenizer(n_words)
    rng = np.random.default_rng(1)
    model = fresh_model(family, shape, device, dtype).eval()
    prompts = [tok.apply_chat_template([{"role": "user", "content": words(rng, prompt_len, n_words)}],
                                       tokenize=False, add_generation_prompt=True) for _ in range(batch)]
    backend = TransformersGenerator(loaded=LoadedModel(model, tok, "random", "random"), batch_size=batch)
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


# ---- vLLM, the base model and every adapter in one server, against transformers generate -------------------
ADAPTER_NAMES = ["en", "ar", "de", "es", "fr", "hi", "pt", "th", "zh"]
VLLM_SMOKE = dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=1, head_dim=64, vocab_size=600)  # vLLM's CPU build needs head_dim >= 64


def save_random_model(family, shape, folder: Path, adapters: list[str], dtype) -> tuple[Path, dict[str, Path]]:
    """A random model, a tokenizer that decodes every id of its vocabulary, and one LoRA adapter (random
    weights, rank 16 on q/k/v/o) per name, saved as the folders transformers, peft and vLLM load."""
    import torch
    from peft import LoraConfig as PeftLora
    from peft import get_peft_model

    model = fresh_model(family, shape, "cpu", dtype)
    model_dir = folder / "model"
    model.save_pretrained(model_dir)
    word_tokenizer(int(shape["vocab_size"]) - 5).save_pretrained(model_dir)
    peft_model = get_peft_model(model, PeftLora(task_type="CAUSAL_LM", r=16, lora_alpha=32, init_lora_weights=False,
                                                target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    out = {}
    for i, name in enumerate(adapters):
        torch.manual_seed(100 + i)
        with torch.no_grad():
            for pname, param in peft_model.named_parameters():
                if "lora_" in pname:
                    param.normal_(0.0, 0.02)
        peft_model.save_pretrained(str(folder / "adapters" / name))
        out[name] = folder / "adapters" / name
    return model_dir, out


def hf_generate_tokens_per_s(model, tok, prompts: list[str], new_tokens: int, device: str) -> float:
    import torch

    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    sync(device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=tok.pad_token_id)
    sync(device)
    return (out.shape[1] - enc["input_ids"].shape[1]) * len(prompts) / (time.perf_counter() - t0)


def bench_vllm_multi_lora(family, shape, device, dtype, batch, prompt_len, new_tokens, n_words, adapters,
                          vllm_python: str, server_args: list[str]) -> tuple[float, float]:
    """(vLLM tokens/s over the base model + every adapter at once, transformers generate tokens/s)."""
    import gc

    import numpy as np
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from bench_runner.config import ModelConfig, VllmConfig
    from bench_runner.serving.sampling import SamplingParams
    from bench_runner.serving.vllm import VllmServing, request_body

    with tempfile.TemporaryDirectory() as tmp:
        model_dir, adapter_dirs = save_random_model(family, shape, Path(tmp), adapters, dtype)
        tok = AutoTokenizer.from_pretrained(model_dir)
        rng = np.random.default_rng(2)
        prompts = [str(tok.apply_chat_template([{"role": "user", "content": words(rng, prompt_len, n_words)}],
                                               tokenize=False, add_generation_prompt=True)) for _ in range(batch)]
        # The baseline first (the server takes the GPU memory after it): the base model, then one adapter.
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device).eval()
        runs = [hf_generate_tokens_per_s(model, tok, prompts, new_tokens, device)]
        peft_model = PeftModel.from_pretrained(model, str(adapter_dirs[adapters[0]])).eval()
        runs.append(hf_generate_tokens_per_s(peft_model, tok, prompts, new_tokens, device))
        del model, peft_model
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
        base = len(runs) / sum(1 / r for r in runs)  # the same tokens from each: harmonic mean
        served = ModelConfig(local_dir=str(model_dir), dtype="bfloat16" if device == "cuda" else "float32")
        cfg = VllmConfig(python=vllm_python, max_model_len=1024, max_concurrency=batch * (len(adapters) + 1),
                         extra_args=server_args)
        with VllmServing(served, cfg, adapters=adapter_dirs, lora_rank=16,
                         log_path=Path(tmp) / "vllm-server.log") as serving:
            names = [serving.served_name, *adapter_dirs]
            client = serving.active
            client.complete([{**request_body(n, SamplingParams(4)), "prompt": prompts[0]} for n in names],
                            len(names))  # warm-up
            params = SamplingParams(max_new_tokens=new_tokens)
            bodies = [{**request_body(n, params), "prompt": p, "ignore_eos": True} for p in prompts for n in names]
            t0 = time.perf_counter()
            done = client.complete(bodies, len(bodies))
            ours = sum(c.completion_tokens for c in done) / (time.perf_counter() - t0)
    return ours, base


def vllm_unavailable(python: str, device: str, on_cpu: bool) -> str | None:
    from bench_runner.config import VllmConfig
    from bench_runner.serving.vllm import check_vllm_python
    from safedrift.core.errors import SafedriftError

    if device != "cuda" and not on_cpu:
        return "no CUDA device (vLLM's CPU build is checked by tests/test_bench_vllm.py; --vllm-cpu runs it here)"
    try:
        check_vllm_python(VllmConfig(python=python))
    except SafedriftError as exc:
        return str(exc)
    return None


def wheelhouse_install(folder: Path) -> list[str]:
    """pip install, from `folder` only, of the requirement lists whose wheels are there (the compiled list only
    where `make wheelhouse WHEEL_COMPILED=1` put them; else the node's own pyarrow/pandas are used)."""
    here = Path(__file__).resolve().parent
    lists = [here / "wheelhouse.txt"]
    if any(folder.glob("pyarrow-*.whl")):
        lists.append(here / "wheelhouse-compiled.txt")
    return [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(folder),
            *[arg for path in lists for arg in ("-r", str(path))]]


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
    p.add_argument("--adapters", type=int, default=len(ADAPTER_NAMES), help="LoRA adapters beside the base model")
    p.add_argument("--vllm-python", default=".venv-vllm/bin/python", help="python of an environment with vLLM")
    p.add_argument("--no-vllm", action="store_true", help="skip the vLLM rows")
    p.add_argument("--vllm-cpu", action="store_true", help="with --smoke: run the vLLM rows on vLLM's CPU build")
    p.add_argument("--wheelhouse", type=Path, default=None,
                   help="install what the script needs beyond torch/transformers/peft/accelerate from this folder "
                        "(`make wheelhouse`) with pip --no-index first")
    g = p.add_argument_group("paper grid estimate (one family)")
    g.add_argument("--grid-languages", type=int, default=9, help="fine-tune languages = eval languages")
    g.add_argument("--grid-seeds", type=int, default=3, help="training seeds: adapters per fine-tune language")
    g.add_argument("--grid-train-rows", type=int, default=2000, help="train rows per fine-tune language")
    g.add_argument("--grid-epochs", type=float, default=1.0)
    g.add_argument("--grid-tokens-per-row", type=int, default=300, help="mean tokens of a rendered train row")
    g.add_argument("--grid-prompts", type=int, default=440 + 450 + 100,
                   help="prompts per model and eval language: SORRY-Bench (base style) + XSTest + held-out benign")
    g.add_argument("--grid-new-tokens", type=int, default=256, help="new tokens per answer (max_new_tokens)")
    g.add_argument("--grid-judge-prompt-tokens", type=int, default=600, help="judge prompt tokens besides the answer")
    g.add_argument("--grid-judge-params", type=float, default=7.24e9, help="judge parameters (SORRY-Bench's 7B)")
    args = p.parse_args(argv)
    if args.wheelhouse is not None:
        subprocess.run(wheelhouse_install(args.wheelhouse), check=True)
    adapters = [ADAPTER_NAMES[i] if i < len(ADAPTER_NAMES) else f"a{i}" for i in range(args.adapters)]
    # vLLM's CPU build reserves 90% of the RAM for its KV cache unless it is given a size.
    server_args = ["--gpu-memory-utilization", "0.85"]
    if args.smoke:
        device, dtype = "cpu", torch.float32
        args.batch, args.seq, args.steps, args.gen_batch, args.new_tokens = 2, 32, 2, 4, 8
        server_args = ["--kv-cache-memory-bytes", str(256 * 2**20)]
    elif not torch.cuda.is_available():
        print("no CUDA device found: this benchmark needs a GPU; run with --smoke for the CPU-size check.",
              file=sys.stderr)
        return 2
    else:
        device, dtype = "cuda", torch.bfloat16
    n_words = 500
    no_vllm = "--no-vllm" if args.no_vllm else vllm_unavailable(args.vllm_python, device, args.vllm_cpu)
    no_liger = liger_unavailable(device)
    variants = [v for v in FINETUNE_VARIANTS if not (no_liger and "liger" in v)]
    rows, grid, judged = [], {}, {}
    for name in args.models.split(","):
        family, shape = SHAPES[name]
        shape = {**shape, **SMOKE} if args.smoke else shape
        ft = bench_finetune(family, shape, device, dtype, args.batch, args.seq, args.steps, n_words, variants)
        gen = bench_generate(family, shape, device, dtype, args.gen_batch, 32, args.new_tokens, n_words)
        rows += [(name, stage, ours, base) for stage, ours, base in ft] + [(name, "generate", *gen)]
        if not no_vllm:
            vshape = {**shape, **VLLM_SMOKE} if args.smoke else shape
            rows.append((name, "vllm", *bench_vllm_multi_lora(
                family, vshape, device, dtype, args.gen_batch, 32, args.new_tokens, n_words, adapters,
                args.vllm_python, server_args)))
        prefill, params = prefill_tokens_per_s(family, shape, device, dtype, args.batch, args.seq, n_words)
        generate_rate = max(r[2] for r in rows if r[0] == name and r[1] in ("generate", "vllm"))
        grid[name] = grid_hours(args, max(r[2] for r in ft), generate_rate, prefill, params)
        judged[name] = (prefill, judge_rate(args, prefill, params))
        if device == "cuda":
            torch.cuda.empty_cache()
    where = torch.cuda.get_device_name(0) if device == "cuda" else "cpu (smoke shapes)"
    print(f"\n{where}; finetune batch {args.batch} x {args.seq}, generate batch {args.gen_batch} x "
          f"{args.new_tokens} new tokens")
    print("finetune rows: the runner (TRL SFTTrainer + peft LoRA r=16 on q/k/v/o) against a plain transformers + "
          "peft loop on padded batches of the same conversations, non-pad tokens/s; goal: ratio >= 2")
    if no_liger:
        print(f"liger rows skipped: {no_liger}")
    for name, (forward, judge) in judged.items():
        print(f"judge forward rate {name}: {forward:.1f} tok/s at this shape = {judge:.1f} tok/s scaled to the "
              f"{args.grid_judge_params / 1e9:.1f}B judge")
    n_adapters = args.grid_languages * args.grid_seeds
    print(f"paper grid, one family ({args.grid_languages} fine-tune languages x {args.grid_seeds} seeds x "
          f"{args.grid_train_rows} rows x {args.grid_tokens_per_row} tokens; base + {n_adapters} adapters x "
          f"{args.grid_languages} eval "
          f"languages x {args.grid_prompts} prompts x {args.grid_new_tokens} new tokens; every answer judged by a "
          f"{args.grid_judge_params / 1e9:.1f}B judge), GPU-hours from the best measured rates; goal < 1:")
    for name, hours in grid.items():
        print(f"grid estimate {name}: finetune {hours['finetune']:.2f} h + generate {hours['generate']:.2f} h + "
              f"judge {hours['judge']:.2f} h = {hours['total']:.2f} GPU-hours")
    if no_vllm:
        print(f"vllm rows skipped: {no_vllm}")
    else:
        print(f"vllm: base + {len(adapters)} adapters in one server, {args.gen_batch} prompts each at once, "
              f"against transformers generate (batch {args.gen_batch}); goal: ratio >= 10")
    print(f"{'model':<14} {'stage':<13} {'runner tok/s':>13} {'baseline tok/s':>15} {'ratio':>6}")
    for name, stage, ours, base in rows:
        print(f"{name:<14} {stage:<13} {ours:>13.1f} {base:>15.1f} {ours / base:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
