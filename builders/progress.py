"""Console output for the stages: status lines go to stderr so stdout stays machine-readable."""

from __future__ import annotations

from rich.console import Console

_console = Console(stderr=True, highlight=False, soft_wrap=True)


def log(message: str) -> None:
    _console.print(f"[bold cyan]safedrift[/] {message}")
