"""User-facing errors: one sentence with the fix, printed by the CLIs, exit code 2."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator


class SafedriftError(Exception):
    """An error caused by the user's input or environment; its message is shown as-is."""


class DataError(SafedriftError):
    """Malformed or missing input data."""


class ConfigError(SafedriftError):
    """An invalid configuration file or option."""


class MissingDependencyError(SafedriftError):
    """An optional dependency is not installed."""


def missing_extra(package: str, extra: str, needs: str = "") -> MissingDependencyError:
    """`package` is missing: name the extra as a checkout installs it and as an installed wheel does."""
    return MissingDependencyError(
        f"{package} is not installed{needs}; in a checkout run `.venv/bin/pip install -e '.[{extra}]'` "
        f"(an installed package: `pip install 'safedrift[{extra}]'`)."
    )


def short_reason(exc: BaseException, secret: str | None = None) -> str:
    """First line of an exception message, without any token it might contain."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if secret:
        text = text.replace(secret, "***")
    text = text[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# A disk that cannot take what is written: full, over a quota or the file-size limit, read-only, not ours.
_DISK_FIXES = {
    errno.ENOSPC: "free space on that disk",
    errno.EDQUOT: "free space under your disk quota",
    errno.EFBIG: "raise the file-size limit (`ulimit -f`) or free space",
    errno.EROFS: "remount it writable or choose a writable folder",
    errno.EACCES: "give yourself access (chmod u+rw) or choose another folder",
    errno.EPERM: "give yourself access or choose another folder",
}
# A permission error may come from a read as well as a write.
_ACCESS = {errno.EACCES, errno.EPERM}
# sqlite3 reports the same conditions as an OperationalError whose message names them.
_SQLITE_FULL = ("database or disk is full", "disk i/o error", "attempt to write a readonly database",
                "unable to open database file")


def disk_error(exc: BaseException, where: str | os.PathLike | None = None) -> SafedriftError | None:
    """The one sentence for a write the disk refused (an OSError with a disk errno, or sqlite3's "database or
    disk is full"), naming the file (or `where`) and the fix; None for any other exception."""
    import sqlite3

    if isinstance(exc, OSError) and exc.errno in _DISK_FIXES:
        path = exc.filename or where
        reason, fix = exc.strerror or os.strerror(exc.errno), _DISK_FIXES[exc.errno]
    elif isinstance(exc, sqlite3.OperationalError) and str(exc).lower().startswith(_SQLITE_FULL):
        path, reason = where, str(exc)
        fix = "free space on that disk or make it writable"
    else:
        return None
    at = f" {path}" if path else ""
    verb = "access" if isinstance(exc, OSError) and exc.errno in _ACCESS else "write"
    return SafedriftError(f"cannot {verb}{at} ({reason}); {fix}, then rerun the same command: it resumes "
                          "from what was written.")


@contextlib.contextmanager
def disk_errors(where: str | os.PathLike) -> Iterator[None]:
    """Turn a refused write inside the block into disk_error's sentence naming `where` when the error names no
    file itself."""
    try:
        yield
    except Exception as exc:
        error = disk_error(exc, where)
        if error is None:
            raise
        raise error from None


def run_cli(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a CLI main, turning SafedriftError into one line on stderr and exit code 2."""
    from safedrift.core.log import quiet_library_bars

    quiet_library_bars()
    try:
        return main(argv)
    except SafedriftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # A full disk, a file-size limit or a read-only folder wherever it happens: one sentence, no traceback.
        error = disk_error(exc)
        if error is None:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume.", file=sys.stderr)
        return 130
