"""Score JSONL rows with one COMET model. Runs INSIDE the COMET venv (`make comet-env`), started by
validation/comet.py as `<comet python> comet_worker.py --model M --input in.jsonl --output out.jsonl`.

Standard library + COMET only: the main venv's packages (and this project's) are not importable here.

Input rows: {"src": ..., "mt": ..., "ref": ...} ("ref" only for reference-based models).
Output rows: {"score": float}, in input order.
stderr: {"progress": done, "total": n} after each chunk; on failure one line
{"error": "<one sentence>", "kind": "model" | "input" | "runtime"} as the last line, and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

# Run as a script, this folder is sys.path[0], and validation/comet.py would shadow the COMET package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]

# Rows per predict() call: progress is reported between chunks (COMET's own bar is one opaque call).
CHUNK_BATCHES = 8


class WorkerError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _emit(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False), file=sys.stderr, flush=True)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _last_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}".rstrip(": ")


def resolve_checkpoint(model: str) -> Path:
    """A local checkpoint file or folder, or a Hub id downloaded (or found in the cache) by COMET."""
    path = Path(model).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        ckpt = path / "checkpoints" / "model.ckpt"
        if not ckpt.is_file():
            raise WorkerError("model", f"{path} is not a COMET checkpoint folder (no checkpoints/model.ckpt).")
        return ckpt
    if model.startswith((".", "/", "~")) or model.count("/") != 1:
        raise WorkerError("model", f"COMET model path {model} does not exist.")
    from comet import download_model

    try:
        return Path(download_model(model, local_files_only=_offline()))
    except Exception:
        raise WorkerError(
            "model",
            f"COMET model {model} is not in the Hugging Face cache and could not be downloaded "
            "(offline, or a gated model that needs HF_TOKEN and its terms accepted on the Hub).",
        ) from None


def load_model(model: str):
    ckpt = resolve_checkpoint(model)
    from comet import load_from_checkpoint

    try:
        return load_from_checkpoint(str(ckpt), local_files_only=_offline())
    except Exception as exc:
        raise WorkerError("model", f"COMET could not load {model} ({_last_line(exc)}).") from None


def read_rows(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise WorkerError("input", f"{path}:{lineno}: malformed JSON ({exc.msg}).") from None
            if not isinstance(row.get("mt"), str) or not isinstance(row.get("src", ""), str):
                raise WorkerError("input", f"{path}:{lineno}: a row needs string fields src and mt.")
            rows.append(row)
    return rows


def score(model, rows: list[dict], batch_size: int, gpus: int) -> list[float]:
    if model.requires_references():
        if any(not isinstance(r.get("ref"), str) for r in rows):
            raise WorkerError("input", "this COMET model is reference-based; every row needs a reference.")
        samples = [{"src": r.get("src", ""), "mt": r["mt"], "ref": r["ref"]} for r in rows]
    else:
        samples = [{"src": r.get("src", ""), "mt": r["mt"]} for r in rows]
    # Sort by length once over all rows (less padding), score in chunks, put scores back in input order.
    order = sorted(range(len(samples)), key=lambda i: len(samples[i]["src"]) + len(samples[i]["mt"]))
    chunk = batch_size * CHUNK_BATCHES
    scores: list[float] = [0.0] * len(samples)
    _emit({"progress": 0, "total": len(samples)})
    for start in range(0, len(order), chunk):
        ids = order[start:start + chunk]
        out = model.predict([samples[i] for i in ids], batch_size=batch_size, gpus=gpus,
                            progress_bar=False, length_batching=False)
        for i, s in zip(ids, out.scores, strict=True):
            scores[i] = float(s)
        _emit({"progress": start + len(ids), "total": len(samples)})
    return scores


def write_rows(path: Path, scores: list[float]) -> None:
    # Temp file + rename, so the caller never reads half an output.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"score": s}) + "\n" for s in scores)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="Hub id or local checkpoint (file or folder)")
    ap.add_argument("--input", required=True, type=Path)
    ap.add_argument("--output", required=True, type=Path)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--gpus", type=int, default=0)
    args = ap.parse_args(argv)
    # Lightning and torchmetrics talk a lot on stderr; the caller only needs progress and the error line.
    warnings.filterwarnings("ignore")
    try:
        try:
            import comet  # noqa: F401
        except ImportError as exc:
            raise WorkerError("runtime", f"COMET is not importable in {sys.executable} ({exc}).") from None
        # After the import: Lightning sets its own loggers to INFO when it is imported.
        for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric", "comet"):
            logging.getLogger(name).setLevel(logging.ERROR)
        if args.gpus > 1:
            _emit({"warning": "the worker scores on one GPU; --gpus above 1 is treated as 1."})
        import torch

        # COMET would quietly fall back to the CPU, where a large model takes hours on a full release.
        if args.gpus >= 1 and not torch.cuda.is_available():
            raise WorkerError("device", "qa.comet.gpus asks for a GPU but none is visible; set qa.comet.gpus: 0 "
                                        "to score on the CPU (slow for large models).")
        rows = read_rows(args.input)
        model = load_model(args.model)
        scores = score(model, rows, max(1, args.batch_size), min(args.gpus, 1)) if rows else []
        write_rows(args.output, scores)
    except WorkerError as exc:
        _emit({"error": str(exc), "kind": exc.kind})
        return 1
    except Exception as exc:  # any crash becomes one parseable line for the caller
        _emit({"error": f"COMET failed: {_last_line(exc)}.", "kind": "runtime"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
