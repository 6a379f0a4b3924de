"""A tiny randomly initialised MistralForCausalLM + a tokenizer that behaves like SORRY-Bench's judge's
(Mistral-7B-Instruct-v0.2): sentencepiece-style (▁ for spaces, byte fallback), <s> added by the tokenizer
itself (add_bos_token), and "[INST]"/"[/INST]" plain text rather than special tokens. Saved as a model folder."""

from __future__ import annotations

from pathlib import Path

from .tiny_release import BENIGN, SORRY

# Mistral-7B-Instruct-v0.2's chat template, shortened: the judge does not use it (the official pipeline sends
# the literal "[INST] … [/INST]" text), but the runner's model loader wants every tokenizer to have one.
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}"
    "{% endfor %}"
)
SPECIALS = ["<unk>", "<s>", "</s>"]


def train_mistral_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, trainers
    from transformers import LlamaTokenizerFast

    from bench_runner.judge.sorry_bench import SORRY_BENCH_JUDGE_TEMPLATE

    corpus = [SORRY_BENCH_JUDGE_TEMPLATE, "[INST] [/INST] 0 1 safe unsafe Score: I think"]
    corpus += [t for rows in BENIGN.values() for row in rows for t in row if t]
    corpus += [row[2] for rows in SORRY.values() for row in rows]
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    # Llama/Mistral sentencepiece behaviour: a "▁" before the text and for every space, bytes for the rest.
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIALS,
                                  initial_alphabet=[f"<0x{i:02X}>" for i in range(256)])
    tok.train_from_iterator(corpus, trainer)
    fast = LlamaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                              add_bos_token=True, add_eos_token=False)
    fast.chat_template = MISTRAL_TEMPLATE
    return fast


def build_tiny_mistral(folder: str | Path, seed: int = 0) -> Path:
    """Save a few-thousand-parameter MistralForCausalLM and its tokenizer in `folder`."""
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    tok = train_mistral_tokenizer()
    config = MistralConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                           max_position_embeddings=4096, sliding_window=None,
                           bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=None)
    torch.manual_seed(seed)
    model = MistralForCausalLM(config)
    folder = Path(folder)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
