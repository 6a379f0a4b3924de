"""Build a real, tiny NLLB-format CTranslate2 model folder, as `ct2-transformers-converter --model
facebook/nllb-200-distilled-600M --copy_files sentencepiece.bpe.model` writes one, offline.

A SentencePiece BPE model trained on sentences written here, wrapped in transformers' NllbTokenizer with
NLLB's 202 language-code tokens; a randomly initialised M2M100 model (NLLB's architecture) of that vocabulary;
converted with CTranslate2's TransformersConverter. Its translations are meaningless: it exists to exercise the
nllb engine's mechanics (language-code tokens, target prefix, vocabulary, SentencePiece pieces).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

# Written for these tests; nothing here comes from a dataset.
_SENTENCES = [
    "The river runs past the old mill and into the valley.",
    "Please bring two loaves of bread when you come home.",
    "Write a short note that thanks the volunteers for their help.",
    "Call the function with a list of numbers and print the result.",
    "Visit the website for more details about the workshop.",
    "Replace the placeholder with your own name before sending.",
    "Keep the answer short, clear and kind.",
    "O rio passa pelo velho moinho e entra no vale.",
    "Escreva uma nota curta agradecendo aos voluntários pela ajuda.",
    "Der Fluss fließt an der alten Mühle vorbei.",
    "Numbers like 12, 345 and 6.78 appear in text; so do {name}, _0_, _1_ and https://example.org/a_b.",
]

_CACHE: dict[int, Path] = {}


def build_tiny_nllb(dest: Path, seed: int = 0) -> Path:
    """Write the converted model folder to `dest` (built once per process, copied on later calls)."""
    dest = Path(dest)
    if seed not in _CACHE:
        _CACHE[seed] = _build(Path(tempfile.mkdtemp(prefix="tiny-nllb-")), seed)
    shutil.copytree(_CACHE[seed], dest, dirs_exist_ok=True)
    return dest


def hf_tokenizer(model_dir: Path, src_lang: str):
    """transformers' NllbTokenizer around the folder's SentencePiece model, as the Hub checkpoint has it."""
    from transformers import NllbTokenizer
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    return NllbTokenizer.from_pretrained(str(model_dir), src_lang=src_lang,
                                         additional_special_tokens=list(FAIRSEQ_LANGUAGE_CODES))


def _build(out: Path, seed: int) -> Path:
    import ctranslate2
    import sentencepiece as spm
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    with tempfile.TemporaryDirectory(prefix="tiny-nllb-hf-") as tmp:
        hf = Path(tmp)
        buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(_SENTENCES * 4), model_writer=buffer, vocab_size=400, model_type="bpe",
            character_coverage=1.0, hard_vocab_limit=False, minloglevel=2, num_threads=1,
        )
        (hf / "sentencepiece.bpe.model").write_bytes(buffer.getvalue())
        tokenizer = hf_tokenizer(hf, "eng_Latn")
        tokenizer.save_pretrained(str(hf))
        torch.manual_seed(seed)
        config = M2M100Config(
            vocab_size=len(tokenizer), d_model=32, encoder_layers=1, decoder_layers=1,
            encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
            max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id,
            scale_embedding=True, init_std=0.5,  # wide, so the output depends on the input
        )
        M2M100ForConditionalGeneration(config).eval().save_pretrained(str(hf))
        ctranslate2.converters.TransformersConverter(
            str(hf), copy_files=["sentencepiece.bpe.model"]
        ).convert(str(out), quantization="int8", force=True)
    return out
