"""User-facing errors: one sentence with the fix, printed by the CLIs, exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable


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


def run_cli(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a CLI main, turning SafedriftError into one line on stderr and exit code 2."""
    from safedrift.core.log import quiet_library_bars

    quiet_library_bars()
    try:
        return main(argv)
    except SafedriftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume.", file=sys.stderr)
        return 130
