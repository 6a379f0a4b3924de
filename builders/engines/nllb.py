"""The nllb engine: Meta's NLLB-200 (facebook/nllb-200-distilled-600M, -1.3B, -3.3B) converted for CTranslate2.

One model translates between all 200 languages; the languages are tokens. As NLLB was trained: the source is
[source code] + SentencePiece pieces + ["</s>"], the target starts with the target code (CTranslate2's
target_prefix), which is stripped from the output. Our language codes map to NLLB's in
safedrift.core.languages (`engine_codes["nllb"]`: eng_Latn, por_Latn, zho_Hans, ...).

The model folder is what CTranslate2's converter writes (docs/release.md "Translation engines"):

    ct2-transformers-converter --model facebook/nllb-200-distilled-600M --output_dir DIR \\
        --quantization int8 --copy_files sentencepiece.bpe.model

(int8 for the CPU; `--quantization float16` for a GPU), named by `translation.engine_options.nllb.model_dir`
or $SAFEDRIFT_NLLB_MODEL_DIR. Its id in the translation memory is the folder name plus a hash of the
converted weights, so re-converting another checkpoint into the same folder never reuses old translations.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from builders.engines.ctranslate import DEFAULT_BATCH_TOKENS, thread_layout
from safedrift.core.errors import ConfigError, missing_extra
from safedrift.core.languages import LANGUAGES

MODEL_DIR_ENV = "SAFEDRIFT_NLLB_MODEL_DIR"
DEFAULT_CHECKPOINT = "facebook/nllb-200-distilled-600M"
# The converter copies the tokenizer with --copy_files; the Hub repository names it sentencepiece.bpe.model.
SENTENCEPIECE_FILES = ("sentencepiece.bpe.model", "sentencepiece.model")
_VOCABULARY_FILES = ("shared_vocabulary.json", "shared_vocabulary.txt")


def conversion_command(model_dir: str | os.PathLike) -> str:
    return (f"ct2-transformers-converter --model {DEFAULT_CHECKPOINT} --output_dir {model_dir} "
            f"--quantization int8 --copy_files sentencepiece.bpe.model")


def _read_vocabulary(folder: Path) -> set[str]:
    for name in _VOCABULARY_FILES:
        path = folder / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            return set(json.loads(text)) if name.endswith(".json") else set(text.splitlines())
    return set()


class NllbEngine:
    name = "nllb"
    package = "ctranslate2"
    card_note = ("NLLB-200 (Meta, weights under CC-BY-NC-4.0) is one multilingual model for 200 languages, run "
                 "through CTranslate2; it is stronger than small bilingual models on lower-resource languages "
                 "such as Hindi, Thai or Arabic, and slower.")

    def __init__(
        self,
        model_dir: str | os.PathLike | None = None,
        device: str = "auto",
        compute_type: str | None = None,
        beam_size: int = 4,
        max_batch_tokens: int = DEFAULT_BATCH_TOKENS,
        inter_threads: int | None = None,
        intra_threads: int | None = None,
        max_decoding_length: int = 512,
    ):
        chosen = model_dir if model_dir is not None else os.environ.get(MODEL_DIR_ENV)
        self.model_dir = Path(chosen).expanduser() if chosen else None
        if device == "auto":
            device = "cuda" if _cuda_devices() else "cpu"
        self.device = device
        # int8 on the CPU, float16 on a GPU (CTranslate2 converts the stored weights when it loads them)
        self.compute_type = compute_type or ("int8" if device == "cpu" else "float16")
        self.beam_size = beam_size
        self.max_batch_tokens = max_batch_tokens
        self.inter_threads, self.intra_threads = thread_layout(device, inter_threads, intra_threads)
        self.max_decoding_length = max_decoding_length
        self._vocabulary: set[str] | None = None
        self._model_id: str | None = None
        self._loaded: tuple[object, object] | None = None
        self._lock = threading.Lock()

    # --- the model folder ---------------------------------------------------------------------------

    def _sentencepiece_path(self) -> Path | None:
        if self.model_dir is None:
            return None
        return next((self.model_dir / n for n in SENTENCEPIECE_FILES if (self.model_dir / n).is_file()), None)

    def _available(self) -> bool:
        return (self.model_dir is not None and (self.model_dir / "model.bin").is_file()
                and self._sentencepiece_path() is not None)

    def _require_model(self) -> Path:
        if self.model_dir is None:
            raise ConfigError(f"the nllb engine has no model folder; {self.install_hint('en', 'de')}")
        if not (self.model_dir / "model.bin").is_file():
            raise ConfigError(f"{self.model_dir} holds no converted NLLB model (model.bin); "
                              f"{self.install_hint('en', 'de')}")
        if self._sentencepiece_path() is None:
            raise ConfigError(
                f"{self.model_dir} has no sentencepiece.bpe.model; convert again with `--copy_files "
                f"sentencepiece.bpe.model` or copy that file from the {DEFAULT_CHECKPOINT} repository into it."
            )
        return self.model_dir

    def _codes(self) -> set[str]:
        if self._vocabulary is None:
            self._vocabulary = _read_vocabulary(self._require_model())
        return self._vocabulary

    def model_id(self, source: str, target: str) -> str:
        """The folder name and a hash of the converted weights (computed once per process)."""
        if self._model_id is None:
            folder = self._require_model()
            digest = hashlib.sha256()
            for name in ("config.json", "model.bin"):
                if (folder / name).is_file():
                    _hash_into(digest, folder / name)
            self._model_id = f"{folder.name}-{digest.hexdigest()[:12]}"
        return self._model_id

    def supports(self, source: str, target: str) -> bool:
        if not self._available():
            return False
        codes = self._codes()
        return source != target and _code(source) in codes and _code(target) in codes

    def install_hint(self, source: str, target: str) -> str:
        where = self.model_dir or "models/nllb-200-distilled-600M-int8"
        have = "" if self.model_dir is None else f" (looked in {self.model_dir})"
        return (f"convert NLLB-200 once with `{conversion_command(where)}` and set "
                f"translation.engine_options.nllb.model_dir (or ${MODEL_DIR_ENV}) to that folder{have}.")

    # --- translation ------------------------------------------------------------------------------------

    def _load(self):
        with self._lock:
            if self._loaded is None:
                try:
                    import ctranslate2
                    import sentencepiece
                except ImportError:
                    raise missing_extra("ctranslate2/sentencepiece", "nllb") from None
                folder = self._require_model()
                translator = ctranslate2.Translator(
                    str(folder), device=self.device, compute_type=self.compute_type,
                    inter_threads=self.inter_threads, intra_threads=self.intra_threads,
                )
                sp_path = self._sentencepiece_path()
                sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_path))
                self._loaded = (translator, sp)
            return self._loaded

    def source_tokens(self, segment: str, source: str) -> list[str]:
        """NLLB's source form: [source code] + pieces + ["</s>"]."""
        _, sp = self._load()
        return [_code(source), *sp.encode(segment, out_type=str), "</s>"]

    def translate_batch(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        if not self.supports(source, target):
            self._require_model()
            raise ConfigError(f"the NLLB model in {self.model_dir} has no language token for "
                              f"{_code(source)} or {_code(target)} ({source}->{target}).")
        out = list(segments)
        todo = [i for i, s in enumerate(segments) if s.strip()]
        if not todo:
            return out
        translator, sp = self._load()
        prefix = _code(target)
        results = translator.translate_batch(
            [self.source_tokens(segments[i], source) for i in todo],
            target_prefix=[[prefix]] * len(todo),
            max_batch_size=self.max_batch_tokens,
            batch_type="tokens",
            beam_size=self.beam_size,
            max_decoding_length=self.max_decoding_length,
        )
        for i, result in zip(todo, results, strict=True):
            hyp = list(result.hypotheses[0])
            if hyp and hyp[0] == prefix:
                hyp = hyp[1:]
            out[i] = sp.decode_pieces(hyp).strip()
        return out


def _hash_into(digest, path: Path) -> None:
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)


def _cuda_devices() -> int:
    try:
        import ctranslate2
    except ImportError:
        return 0
    return ctranslate2.get_cuda_device_count()


def _code(code: str) -> str:
    lang = LANGUAGES.get(code)
    return lang.engine_code("nllb") if lang else code
