"""A tiny randomly initialised causal LM + a BPE tokenizer trained here, saved as a model folder."""

from __future__ import annotations

from pathlib import Path

from .tiny_release import BENIGN, SORRY

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# Shaped like Qwen3's template where it matters here: a generation prompt that opens an empty think block
# when thinking is disabled.
QWEN3_LIKE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['role'] == 'assistant' %}{{ '<think>\\n\\n</think>\\n\\n' }}{% endif %}"
    "{{ message['content'] + '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{% if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}{% endif %}"
    "{% endif %}"
)
SPECIALS = ["<|pad|>", "<|im_start|>", "<|im_end|>"]


def train_tokenizer(chat_template: str = CHATML):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [t for rows in BENIGN.values() for row in rows for t in row if t]
    corpus += [row[2] for rows in SORRY.values() for row in rows]
    corpus += ["I'm sorry, but I can't help with that.", "Desculpe, mas não posso ajudar com isso.",
               "user assistant system <think> </think>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_input_names=["input_ids", "attention_mask"],
                                   pad_token="<|pad|>", eos_token="<|im_end|>", bos_token="<|im_start|>")
    fast.chat_template = chat_template
    return fast


def build_tiny_lm(folder: str | Path, family: str = "llama", chat_template: str = CHATML, seed: int = 0) -> Path:
    """Save a few-thousand-parameter model of `family` (llama | qwen3 | gemma3) and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    tok = train_tokenizer(chat_template)
    common = dict(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                  num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                  pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
    if family == "llama":
        from transformers import LlamaConfig as Config
    elif family == "qwen3":
        from transformers import Qwen3Config as Config

        common["head_dim"] = 8
    elif family == "gemma3":
        from transformers import Gemma3TextConfig as Config

        common["head_dim"] = 8
    else:
        raise ValueError(family)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(Config(**common))
    folder = Path(folder)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
