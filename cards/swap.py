"""The all-or-nothing swap of a staged release into place, and the recovery every run starts with.

Every dataset folder of a release changes in one step as far as a crash can tell: once every staged folder
is written, load-checked and gated, a journal (`<out>/.release-journal.json`, written atomically) lists the
renames; the swap then renames each old folder to `.<name>.old` and its staged folder into place, and the
journal goes last. A run that finds a journal completes it (roll forward: every staged folder in it was
finished before the journal was written); without a journal, staging folders are a run that never reached the
swap and are removed (roll back). Either way the release folder holds one version of every dataset, and
`validate` and `push` skip hidden folders anyway.

The crash points (safedrift.core.files.crash_point) sit at every step, for tests/test_crash_release.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from safedrift.core.errors import DataError
from safedrift.core.files import atomic_write_json, crash_point
from safedrift.core.log import log

JOURNAL = ".release-journal.json"
STAGING_PREFIX = ".staging-"
# `.<name>.old`, or `.<name>.old-<pid>` as versions before the journal named it.
_OLD = re.compile(r"\.(?P<name>.+)\.old(-\d+)?")


def staging_folder(out: Path, name: str) -> Path:
    return out / f"{STAGING_PREFIX}{name}"


def old_folder(out: Path, name: str) -> Path:
    return out / f".{name}.old"


def _fsync_dir(folder: Path) -> None:
    """Make the renames in `folder` durable (a rename is in the directory, not in the file)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_all(out: Path, names: list[str]) -> None:
    """Swap `.staging-<name>` into `<name>` for every name, as one journalled step (see the module doc)."""
    for name in names:
        if not staging_folder(out, name).is_dir():
            raise DataError(f"the staged folder {staging_folder(out, name)} is missing; rerun the release.")
    _fsync_dir(out)
    atomic_write_json(out / JOURNAL, {"swap": names})
    _fsync_dir(out)
    crash_point("swap-journal")
    _complete(out, names)


def _complete(out: Path, names: list[str]) -> None:
    for i, name in enumerate(names):
        staging, target, old = staging_folder(out, name), out / name, old_folder(out, name)
        if staging.is_dir():  # not yet swapped (a crash may have stopped it between the two renames)
            if target.exists() and not old.exists():
                os.replace(target, old)
            if target.exists():  # an old copy from an earlier recovery is still there: the target is older
                shutil.rmtree(target)
            os.replace(staging, target)
        if i == 0:
            crash_point("swap-mid")
    _fsync_dir(out)
    crash_point("swap-renamed")
    for name in names:
        shutil.rmtree(old_folder(out, name), ignore_errors=True)
    (out / JOURNAL).unlink()
    _fsync_dir(out)


def recover(out: Path) -> str | None:
    """Finish or undo what a crashed run left in the release folder `out`; what was done, or None.

    A journal is completed (its staged folders all passed the gate); staging folders without one are removed,
    and an old copy whose dataset folder is missing (a crash inside an older, unjournalled swap) is put back."""
    if not out.is_dir():
        return None
    journal = out / JOURNAL
    if journal.is_file():
        try:
            names = json.loads(journal.read_text(encoding="utf-8"))["swap"]
        except (ValueError, KeyError, TypeError):
            names = None
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            _complete(out, names)
            done = f"completed the swap of {', '.join(names)} that an interrupted run left in {out}"
            log(f"release: {done}")
            return done
        journal.unlink()  # torn before its rename: atomic_write_json never leaves one, but be safe
    debris = sorted(p for p in out.iterdir()
                    if p.is_dir() and (p.name.startswith(STAGING_PREFIX) or _OLD.fullmatch(p.name)))
    for folder in debris:
        if folder.name.startswith(STAGING_PREFIX):
            shutil.rmtree(folder)
        elif old := _OLD.fullmatch(folder.name):
            target = out / old["name"]
            if target.exists():
                shutil.rmtree(folder)
            else:
                os.replace(folder, target)
    for tmp in out.glob(f".{JOURNAL}.*.tmp"):  # a journal write cut before its rename
        tmp.unlink()
    if not debris:
        return None
    _fsync_dir(out)
    done = f"removed what an interrupted run left in {out} ({', '.join(p.name for p in debris)})"
    log(f"release: {done}")
    return done
