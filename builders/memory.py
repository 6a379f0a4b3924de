"""Content-addressed translation memory in SQLite: builds resume from it and translate each string once."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from safedrift.core.errors import DataError, disk_error, disk_errors
from safedrift.core.files import sha256_text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    engine TEXT NOT NULL,
    model TEXT NOT NULL,
    source_lang TEXT NOT NULL,
    target_lang TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    source_text TEXT NOT NULL,
    translation TEXT NOT NULL,
    n_translated INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (engine, model, source_lang, target_lang, text_sha256)
) WITHOUT ROWID;
"""

# SQLite allows 999 bound parameters in older builds; 4 go to the key prefix.
_LOOKUP_CHUNK = 900


class TranslationMemory:
    """Key = (engine, model id+version, source language, target language, sha256 of the segment text).

    WAL journal with synchronous=FULL: every put_many is one transaction, durable once it returns, so a
    killed build loses nothing it has already stored and a second connection sees the rows at once.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            if (refused := disk_error(exc, self.path)) is not None:
                raise refused from None
            raise DataError(
                f"{self.path} is not a usable translation memory ({exc}); delete it or pass another path."
            ) from None
        self._lock = threading.Lock()

    def get_many(
        self, engine: str, model: str, source: str, target: str, texts: Sequence[str]
    ) -> dict[str, str]:
        """Stored translations of those texts that are in the memory, as {text: translation}."""
        by_hash = {sha256_text(t): t for t in texts}
        hashes = list(by_hash)
        found: dict[str, str] = {}
        with self._lock:
            for i in range(0, len(hashes), _LOOKUP_CHUNK):
                chunk = hashes[i : i + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    "SELECT text_sha256, translation FROM translations WHERE engine=? AND model=? AND "
                    f"source_lang=? AND target_lang=? AND text_sha256 IN ({marks})",
                    (engine, model, source, target, *chunk),
                ).fetchall()
                for digest, translation in rows:
                    found[by_hash[digest]] = translation
        return found

    def put_many(
        self, engine: str, model: str, source: str, target: str, pairs: Sequence[tuple[str, str]]
    ) -> None:
        """Store (text, translation) pairs in one transaction, committed before returning."""
        rows = [(engine, model, source, target, sha256_text(s), s, t) for s, t in pairs]
        if not rows:
            return
        # A full disk or file-size limit under the memory: one sentence naming it (safedrift.core.errors).
        with self._lock, disk_errors(self.path):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO translations (engine, model, source_lang, target_lang, text_sha256, "
                    "source_text, translation) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (engine, model, source_lang, target_lang, text_sha256) DO UPDATE SET "
                    "translation=excluded.translation, n_translated=n_translated + 1, "
                    "updated_at=datetime('now')",
                    rows,
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def count(self, engine: str | None = None, source: str | None = None, target: str | None = None) -> int:
        where, args = [], []
        for column, value in (("engine", engine), ("source_lang", source), ("target_lang", target)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        sql = "SELECT COUNT(*) FROM translations" + (" WHERE " + " AND ".join(where) if where else "")
        with self._lock:
            return self._conn.execute(sql, args).fetchone()[0]

    def max_times_translated(self) -> int:
        """The largest n_translated of any row: 1 proves no segment was ever translated twice."""
        with self._lock:
            value = self._conn.execute("SELECT MAX(n_translated) FROM translations").fetchone()[0]
        return value or 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> TranslationMemory:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
