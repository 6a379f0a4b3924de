"""Console output for every stage: status lines and progress on stderr, so stdout stays machine-readable.

Progress bars are drawn only on a terminal; in a log file (CI, `make release > log`) each bar becomes one
line when its work is done, instead of carriage-return noise.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from tqdm.auto import tqdm


def log(message: str) -> None:
    # tqdm.write keeps an active bar intact on a terminal.
    tqdm.write(f"safedrift {message}", file=sys.stderr)


def bars_enabled() -> bool:
    """SAFEDRIFT_PROGRESS=bars|lines forces a style; otherwise bars on a terminal only."""
    forced = os.environ.get("SAFEDRIFT_PROGRESS", "").strip().lower()
    if forced in {"bars", "lines"}:
        return forced == "bars"
    return sys.stderr.isatty()


class _LineProgress:
    """tqdm's interface for the calls we make; writes one summary line when closed."""

    def __init__(self, total: int | None = None, initial: int = 0, desc: str = "", unit: str = "it",
                 **_: Any):
        self.total, self.n, self.desc, self.unit = total, initial, desc, unit
        self._initial = initial
        self._start = time.perf_counter()
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += n

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        seconds = time.perf_counter() - self._start
        of = f"/{self.total}" if self.total is not None else ""
        cached = f", {self._initial} already done" if self._initial else ""
        log(f"{self.desc}: {self.n}{of} {self.unit}{cached} in {seconds:.1f} s")

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(*, total: int | None = None, initial: int = 0, desc: str = "", unit: str = "it",
             enabled: bool = True) -> Any:
    """A progress bar (tqdm) on a terminal, a one-line summary elsewhere; `enabled=False`: silent."""
    if not enabled:
        return tqdm(total=total, initial=initial, disable=True)
    if bars_enabled():
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr)
    return _LineProgress(total=total, initial=initial, desc=desc, unit=unit)


def track(items: Any, *, desc: str, unit: str = "it", total: int | None = None) -> Any:
    """Iterate `items` with progress (see progress())."""
    items = list(items) if total is None and not hasattr(items, "__len__") else items
    with progress(total=total if total is not None else len(items), desc=desc, unit=unit) as bar:
        for item in items:
            yield item
            bar.update(1)


def quiet_library_bars() -> None:
    """Off a terminal, turn off the bars that datasets and huggingface_hub draw themselves (they read these
    variables when imported, so this runs before a command imports them)."""
    if not bars_enabled():
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")  # any other library's tqdm bar
