"""The release pipeline, the one place that knows the order: build -> QA -> stage -> gate -> swap -> push.

Each step is one stage's function; the stages never call each other.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from builders.build import run_build
from cards.config import ReleaseConfig
from cards.push import preflight, run_push
from cards.release import stage_release, swap_release
from safedrift.core.errors import ConfigError, SafedriftError
from validation.gate import check_gate
from validation.qa import run_qa

LOCK_FILE = "release.lock"


@contextlib.contextmanager
def work_lock(work: Path) -> Iterator[None]:
    """One release (or publish) at a time per work directory: a second run on it stops at once, naming the
    process that holds it. The lock is flock(2) on `<work>/release.lock`, held by the open file, so it goes
    when the process ends however it ends (a kill -9 leaves no stale lock); the file itself stays."""
    try:
        work.mkdir(parents=True, exist_ok=True)
        fd = os.open(work / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SafedriftError(f"cannot create the lock file in the work directory {work} ({exc.strerror}); "
                             "choose a writable --work-dir.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise SafedriftError(f"another safedrift release is using the work directory {work} ({holder}); "
                                 "wait for it to finish, or give this run another --work-dir.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def publish(cfg: ReleaseConfig, hub_org: str | None = None) -> dict[str, Path]:
    """Stage every dataset's folder, run the release gate on the staged folders, then swap them into place.

    A gate failure raises before anything is swapped; the staging folders are removed either way.
    """
    with work_lock(cfg.work_path):
        return _publish(cfg, hub_org)


# A release folder that cannot be written (full disk, read-only mount, no permission): one sentence.
_UNWRITABLE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def _publish(cfg: ReleaseConfig, hub_org: str | None) -> dict[str, Path]:
    try:
        staged = stage_release(cfg, hub_org)
        try:
            if cfg.qa.gate.enabled:
                check_gate(staged.folders, staged.languages, cfg,
                           docs_dirs={key: folder / "qa" / "data_docs" for key, folder in staged.folders.items()},
                           failure_docs_dir=cfg.work_path / "gate" / "data_docs")
            return swap_release(staged, cfg)
        finally:
            staged.discard()
    except OSError as exc:
        if exc.errno not in _UNWRITABLE:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        raise SafedriftError(f"cannot write the release into {cfg.output_path} ({exc.strerror}{where}); free space "
                             "or make it writable, or choose another --output-dir; the previous release is "
                             "unchanged.") from None


def release(cfg: ReleaseConfig, *, hub_org: str | None = None, push: bool = False, dry_run: bool = False,
            echo: Callable[[str], None] = print) -> dict[str, Path]:
    """The whole release; with `push` (or `dry_run`, which only prints the plan) it goes to the Hub after."""
    org = hub_org or cfg.hub.org
    if (push or dry_run) and not org:
        raise ConfigError("--push and --dry-run need --hub-org ORG (make: HUB_ORG=ORG) or hub.org in the config.")
    if push and dry_run:
        raise ConfigError("--push and --dry-run exclude each other: --dry-run only prints what --push would send.")
    with work_lock(cfg.work_path):
        if push:
            preflight()  # a missing token or an offline Hub surfaces before the long build, not after it
        run_build(cfg)
        run_qa(cfg)
        written = _publish(cfg, org)
        for name, path in written.items():
            echo(f"{name}: {path}")
        if push or dry_run:
            run_push(cfg, org=org, yes=push, echo=echo)
    return written
