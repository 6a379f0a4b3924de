"""Build a real, tiny .argosmodel package: argos' metadata format, a CTranslate2 model converted from a
randomly initialised MarianMTModel, and a SentencePiece model trained on sentences written here.

The model's output is meaningless (random weights); it exists to exercise the argos code path for real:
package install, CTranslate2 loading, SentencePiece tokenisation, token batching, target prefixes.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

# Written for these tests; nothing here comes from a dataset.
_SENTENCES = [
    "The river runs past the old mill and into the valley.",
    "Please bring two loaves of bread when you come home.",
    "Our team meets every Tuesday to plan the next release.",
    "A small dog waited by the door for the whole afternoon.",
    "Write a short note that thanks the volunteers for their help.",
    "The museum opens at nine and closes late on Fridays.",
    "She painted the fence blue because the neighbours asked her to.",
    "How many kilometres is it from the station to the harbour?",
    "Explain in simple words why the sky looks blue at noon.",
    "Give three tips for keeping a vegetable garden healthy.",
    "The train was late, so we walked along the beach instead.",
    "Summarise the main idea of the paragraph in one sentence.",
    "List the ingredients you need for a simple tomato soup.",
    "He fixed the bicycle chain with a borrowed tool.",
    "Translate the greeting into a friendly and polite form.",
    "The library lends books, maps and old newspapers.",
    "Describe a quiet morning in a mountain village.",
    "Why do some birds fly south before the winter starts?",
    "Call the function with a list of numbers and print the result.",
    "Use the code block below to install the package.",
    "Visit the website for more details about the workshop.",
    "Replace the placeholder with your own name before sending.",
    "Keep the answer short, clear and kind.",
    "Rain is expected tomorrow, so take an umbrella.",
    "O rio passa pelo velho moinho e entra no vale.",
    "Por favor traga dois pães quando voltar para casa.",
    "A equipe se reúne toda terça-feira para planejar a próxima versão.",
    "Um cachorro pequeno esperou na porta a tarde inteira.",
    "Escreva uma nota curta agradecendo aos voluntários pela ajuda.",
    "O museu abre às nove e fecha tarde às sextas-feiras.",
    "Quantos quilômetros há da estação até o porto?",
    "Explique com palavras simples por que o céu parece azul ao meio-dia.",
    "Dê três dicas para manter uma horta saudável.",
    "O trem atrasou, então caminhamos pela praia.",
    "Resuma a ideia principal do parágrafo em uma frase.",
    "Visite o site para mais detalhes sobre a oficina.",
    "Numbers like 12, 345 and 6.78 appear in text; so do {name}, _0_ and https://example.org/a_b.",
]

# Built archives by build parameters: a few hundred KB each, kept in memory for the test session.
_CACHE: dict[tuple, bytes] = {}


def build_tiny_argosmodel(
    dest_dir: Path,
    from_code: str,
    to_code: str,
    version: str = "1.0",
    target_prefix: str = "",
    eos_bias: float = 7.0,
    init_std: float = 0.5,
) -> Path:
    """Write `<dest_dir>/translate-<from>_<to>-<version>.argosmodel` and return its path.

    Built once per process and rewritten from memory on later calls (fixtures call it per test).
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"
    dest = dest_dir / f"{name}.argosmodel"
    key = (from_code, to_code, version, target_prefix, eos_bias, init_std)
    if key not in _CACHE:
        _CACHE[key] = _build(name, from_code, to_code, version, target_prefix, eos_bias, init_std)
    dest.write_bytes(_CACHE[key])
    return dest


def _build(
    name: str,
    from_code: str,
    to_code: str,
    version: str,
    target_prefix: str,
    eos_bias: float,
    init_std: float,
) -> bytes:
    import ctranslate2
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel

    with tempfile.TemporaryDirectory(prefix="tiny-argos-build-") as tmp:
        tmp_path = Path(tmp)
        pkg = tmp_path / name
        pkg.mkdir()

        # SentencePiece with byte fallback so any input (CJK, emoji) tokenises without <unk>.
        sp_buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(_SENTENCES),
            model_writer=sp_buffer,
            vocab_size=400,
            model_type="unigram",
            byte_fallback=True,
            character_coverage=1.0,
            hard_vocab_limit=False,
            minloglevel=2,
            num_threads=1,
        )
        (pkg / "sentencepiece.model").write_bytes(sp_buffer.getvalue())
        sp = spm.SentencePieceProcessor(model_proto=sp_buffer.getvalue())
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        if target_prefix and target_prefix not in pieces:
            pieces.append(target_prefix)
        vocab = pieces + ["<pad>"]  # Marian's decoder-start/pad token comes last; the converter drops it
        eos_id = pieces.index("</s>")

        torch.manual_seed(0)
        config = MarianConfig(
            vocab_size=len(vocab),
            d_model=32,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=256,  # CTranslate2 refuses smaller position tables
            pad_token_id=len(vocab) - 1,
            eos_token_id=eos_id,
            decoder_start_token_id=len(vocab) - 1,
            forced_eos_token_id=eos_id,
            share_encoder_decoder_embeddings=True,
            init_std=init_std,
        )
        model = MarianMTModel(config).eval()
        with torch.no_grad():
            # Random weights rarely choose EOS; this bias ends most outputs after a few tokens. init_std=0.5
            # (not 0.02) so the output depends on the input instead of being one constant string.
            model.final_logits_bias[0, eos_id] = eos_bias
            # Byte-fallback pieces would decode to invalid UTF-8 fragments; keep the output to real pieces.
            for i, piece in enumerate(pieces):
                if piece.startswith("<0x"):
                    model.final_logits_bias[0, i] = -10.0
        hf_dir = tmp_path / "hf"
        model.save_pretrained(hf_dir)

        class _Converter(ctranslate2.converters.TransformersConverter):
            def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
                return _Vocab(vocab)

        _Converter(str(hf_dir)).convert(str(pkg / "model"), force=True)

        metadata = {
            "package_version": version,
            "argos_version": "1.0",
            "code": f"translate-{from_code}_{to_code}",
            "from_code": from_code,
            "from_name": from_code.upper(),
            "to_code": to_code,
            "to_name": to_code.upper(),
            "type": "translate",
            "links": [],
        }
        if target_prefix:
            metadata["target_prefix"] = target_prefix
        (pkg / "metadata.json").write_text(json.dumps(metadata, indent=2))
        (pkg / "README.md").write_text("Tiny random test model; its translations are meaningless.\n")

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(pkg.rglob("*")):
                zf.write(path, path.relative_to(tmp_path).as_posix())
        return buffer.getvalue()


class _Vocab:
    """The three things the CTranslate2 Marian converter asks of a tokenizer."""

    eos_token = "</s>"
    unk_token = "<unk>"

    def __init__(self, tokens: list[str]):
        self._vocab = {tok: i for i, tok in enumerate(tokens)}

    def get_vocab(self) -> dict[str, int]:
        return dict(self._vocab)
