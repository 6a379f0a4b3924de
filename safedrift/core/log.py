"""Console output for every stage: status lines and progress on stderr, so stdout stays machine-readable.

Progress bars are drawn only on a terminal. In a log file (CI, `make release > log`, a Ray worker) a long step is
never silent: every SAFEDRIFT_PROGRESS seconds (default 30) it logs a heartbeat line with done/total, rate and ETA,
and one line when its work is done, instead of carriage-return noise. SAFEDRIFT_PROGRESS=bars|lines forces a
style (lines at the default interval); a number N means lines with a heartbeat every N seconds (0: only the line
at the end). Every long step goes through progress() or track() below, so this is the one place it happens.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from tqdm.auto import tqdm

HEARTBEAT_S = 30.0  # seconds between heartbeat lines off a terminal (SAFEDRIFT_PROGRESS overrides)


def log(message: str) -> None:
    # tqdm.write keeps an active bar intact on a terminal.
    tqdm.write(f"safedrift {message}", file=sys.stderr)


def _setting() -> str:
    return os.environ.get("SAFEDRIFT_PROGRESS", "").strip().lower()


def bars_enabled() -> bool:
    """SAFEDRIFT_PROGRESS=bars|lines (or a number: lines) forces a style; otherwise bars on a terminal only."""
    forced = _setting()
    if forced in {"bars", "lines"}:
        return forced == "bars"
    if forced and _seconds(forced) is not None:
        return False
    return sys.stderr.isatty()


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def heartbeat_interval() -> float:
    """Seconds between heartbeat lines off a terminal: SAFEDRIFT_PROGRESS when it is a number, else 30."""
    seconds = _seconds(_setting())
    return HEARTBEAT_S if seconds is None else seconds


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class _LineProgress:
    """tqdm's interface for the calls we make, off a terminal: a heartbeat line every `interval` seconds from a
    background thread (so a step that blocks for minutes inside one update still reports), and one summary line
    when closed."""

    def __init__(self, total: int | None = None, initial: int = 0, desc: str = "", unit: str = "it",
                 interval: float | None = None, **_: Any):
        self.total, self.n, self.desc, self.unit = total, initial, desc, unit
        self._initial = initial
        self._start = time.perf_counter()
        self._closed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        interval = heartbeat_interval() if interval is None else interval
        if interval > 0:
            self._thread = threading.Thread(target=self._beat, args=(interval,), daemon=True,
                                            name=f"safedrift-progress {desc}")
            self._thread.start()

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            log(self.status())

    def status(self) -> str:
        """One heartbeat line: `desc: done/total unit (pct), rate, ETA, elapsed`."""
        elapsed = time.perf_counter() - self._start
        if self.total is None and not self.n:  # a step that counts nothing (heartbeat())
            return f"{self.desc}: running, {_duration(elapsed)} elapsed"
        done = self.n - self._initial
        of = f"/{self.total}" if self.total is not None else ""
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        rate = done / elapsed if done > 0 and elapsed > 0 else None
        speed = (f"{rate:.2f} {self.unit}/s" if rate >= 0.1 else f"{1 / rate:.1f} s/{self.unit}") if rate else \
            f"no {self.unit} finished yet"
        left = (self.total - self.n) / rate if rate and self.total is not None else None
        eta = _duration(left) if left is not None else "unknown"
        return f"{self.desc}: {self.n}{of} {self.unit}{share}, {speed}, ETA {eta}, {_duration(elapsed)} elapsed"

    def update(self, n: int = 1) -> None:
        self.n += n

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        seconds = time.perf_counter() - self._start
        if self.total is None and not self.n:
            log(f"{self.desc}: done in {seconds:.1f} s")
            return
        of = f"/{self.total}" if self.total is not None else ""
        cached = f", {self._initial} already done" if self._initial else ""
        log(f"{self.desc}: {self.n}{of} {self.unit}{cached} in {seconds:.1f} s")

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(*, total: int | None = None, initial: int = 0, desc: str = "", unit: str = "it",
             enabled: bool = True) -> Any:
    """A progress bar (tqdm) on a terminal, heartbeat lines and a summary line elsewhere; `enabled=False`: silent."""
    if not enabled:
        return tqdm(total=total, initial=initial, disable=True)
    if bars_enabled():
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr)
    return _LineProgress(total=total, initial=initial, desc=desc, unit=unit)


def heartbeat(desc: str) -> Any:
    """`with heartbeat("lm-eval en"):` around a long call that reports no progress of its own (a library's loop whose
    bars are off): off a terminal, "desc: running, M:SS elapsed" every SAFEDRIFT_PROGRESS seconds, then one line."""
    if bars_enabled():
        return tqdm(total=None, desc=desc, file=sys.stderr, bar_format="{desc}: {elapsed}")
    return _LineProgress(total=None, desc=desc)


def track(items: Any, *, desc: str, unit: str = "it", total: int | None = None) -> Any:
    """Iterate `items` with progress (see progress())."""
    items = list(items) if total is None and not hasattr(items, "__len__") else items
    with progress(total=total if total is not None else len(items), desc=desc, unit=unit) as bar:
        for item in items:
            yield item
            bar.update(1)


# Third-party messages that ask nothing of a safedrift user, dropped where they are made: (logger, text in it).
# transformers warns, whenever comet_ml is installed without an API key, that its own Comet callback is off; the
# runner never uses that callback (report_to="none"; tracking.comet logs the run itself).
QUIET_LOG_MESSAGES = (("transformers.integrations.integration_utils", "Comet API Key is not configured"),)
# FutureWarnings raised inside these libraries (deprecations of their own arguments and defaults) name changes
# for their maintainers and ours, not for a user running a config.
QUIET_FUTURE_WARNINGS = r"(transformers|trl|peft|accelerate|huggingface_hub|datasets|torch)(\..*)?$"


class _DropMessages:
    def __init__(self, text: str):
        self.text = text

    def filter(self, record: Any) -> bool:
        return self.text not in record.getMessage()


def quiet_library_bars() -> None:
    """Before a command runs: off a terminal, turn off the bars libraries draw themselves (datasets,
    huggingface_hub, transformers' GGUF conversion: any tqdm bar but ours), and drop third-party messages that
    carry no action (QUIET_LOG_MESSAGES, QUIET_FUTURE_WARNINGS) on a terminal or off it."""
    import logging
    import warnings

    for name, text in QUIET_LOG_MESSAGES:
        logging.getLogger(name).addFilter(_DropMessages(text))
    warnings.filterwarnings("ignore", category=FutureWarning, module=QUIET_FUTURE_WARNINGS)
    if bars_enabled():
        return
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # tqdm reads TQDM_DISABLE when it is imported: that covers child processes. In this process tqdm is usually
    # imported already, so every bar is turned off here, even one whose library passes disable= itself (lm-eval
    # does); our own progress() draws no tqdm bar off a terminal.
    if os.environ.setdefault("TQDM_DISABLE", "1") == "1":
        _tqdm_off_by_default()


def _tqdm_off_by_default() -> None:
    from tqdm import std

    if getattr(std.tqdm, "_safedrift_off", False):
        return
    init = std.tqdm.__init__

    def quiet_init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        init(self, *args, **kwargs)

    std.tqdm.__init__ = quiet_init
    std.tqdm._safedrift_off = True
