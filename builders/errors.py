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


def missing_extra(package: str, extra: str) -> MissingDependencyError:
    return MissingDependencyError(
        f"{package} is not installed; install it with `pip install 'safedrift[{extra}]'`."
    )


def run_cli(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a CLI main, turning SafedriftError into one line on stderr and exit code 2."""
    try:
        return main(argv)
    except SafedriftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume.", file=sys.stderr)
        return 130
