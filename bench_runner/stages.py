"""Stage folders keyed by a hash of their inputs, manifests, and resumable per-sample JSONL."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from builders.files import iter_jsonl, package_versions, stable_hash, write_manifest

VERSIONS_THAT_MATTER = ("torch", "transformers", "peft", "safedrift")


def log(msg: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(msg, file=sys.stderr)


def stage_dir(run_dir: Path, stage: str, label: str, inputs: dict) -> Path:
    """runs/<run-id>/<stage>/<label>-<hash of inputs>/"""
    return Path(run_dir) / stage / f"{label}-{stable_hash(inputs)[:12]}"


def key_of(path: Path) -> str:
    return path.name


def is_done(folder: Path, outputs: Iterable[str]) -> bool:
    return (folder / "manifest.json").is_file() and all((folder / o).exists() for o in outputs)


def finish(folder: Path, stage: str, inputs: dict, outputs: list[str], **extra) -> None:
    write_manifest(folder, stage, inputs, [o for o in outputs if (folder / o).is_file()], **extra)


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def versions() -> dict[str, str]:
    return package_versions(VERSIONS_THAT_MATTER)


class JsonlAppender:
    """Append rows to a JSONL file with one fsync per batch; on open, drop a torn last line from a crash."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: dict[str, dict] = {}
        if self.path.exists():
            self._recover()
        self._fh = self.path.open("a", encoding="utf-8")

    def _recover(self) -> None:
        data = self.path.read_bytes()
        good = data.rfind(b"\n") + 1  # a crash can only tear the line after the last newline
        if good < len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(good)
        for row in iter_jsonl(self.path):
            self.done[row["uid"]] = row

    def write_batch(self, rows: list[dict]) -> None:
        for row in rows:
            if row["uid"] in self.done:
                continue
            self._fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            self.done[row["uid"]] = row
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
