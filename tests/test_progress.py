"""Off a terminal a long step is never silent: heartbeat lines with done/total, rate and ETA every SAFEDRIFT_PROGRESS
seconds, then one summary line; third-party messages that carry no action are dropped at the source."""

from __future__ import annotations

import logging
import re
import time
import warnings

import pytest

from safedrift.core import log as log_module
from safedrift.core.log import heartbeat, heartbeat_interval, progress, quiet_library_bars, track

HEARTBEAT = re.compile(r"^safedrift fake step: (\d)/5 step \((\d+)%\), (\S+ step/s|\S+ s/step|no step finished yet), "
                       r"ETA (\d+:\d\d|unknown), \d+:\d\d elapsed$")


def test_a_five_step_loop_off_a_terminal_prints_heartbeats(monkeypatch, capsys):
    monkeypatch.setenv("SAFEDRIFT_PROGRESS", "0.05")
    assert heartbeat_interval() == 0.05
    for _ in track(range(5), desc="fake step", unit="step"):
        time.sleep(0.12)
    lines = capsys.readouterr().err.splitlines()
    beats = [m for line in lines if (m := HEARTBEAT.match(line))]
    assert len(beats) >= 5, lines  # ~0.6 s of work at 0.05 s: about a dozen
    done = [int(m.group(1)) for m in beats]
    assert done == sorted(done) and done[-1] >= 3
    late = [m for m in beats if int(m.group(1)) >= 1]
    assert late and all(m.group(4) != "unknown" for m in late)  # an ETA once a step is done
    assert re.fullmatch(r"safedrift fake step: 5/5 step in 0\.\d s", lines[-1]), lines[-1]


def test_the_heartbeat_values(monkeypatch):
    monkeypatch.setenv("SAFEDRIFT_PROGRESS", "0")  # no thread: only the line at the end
    bar = progress(total=10, initial=2, desc="generate en", unit="prompt")
    assert bar._thread is None
    bar._start = time.perf_counter() - 4.0  # 4 s for 2 new prompts: 0.5 prompt/s, 6 left -> 12 s
    bar.update(2)
    assert bar.status() == "generate en: 4/10 prompt (40%), 0.50 prompt/s, ETA 0:12, 0:04 elapsed"
    bar._start = time.perf_counter() - 40.0  # slower than 0.1/s: seconds per prompt; 6 left -> 2 min
    assert bar.status() == "generate en: 4/10 prompt (40%), 20.0 s/prompt, ETA 2:00, 0:40 elapsed"
    bar._start = time.perf_counter() - 1.0
    bar.update(6)  # 8 new prompts in 1 s
    assert bar.status() == "generate en: 10/10 prompt (100%), 8.00 prompt/s, ETA 0:00, 0:01 elapsed"
    bar.close()


def test_a_step_that_counts_nothing_still_beats(monkeypatch, capsys):
    monkeypatch.setenv("SAFEDRIFT_PROGRESS", "0.05")
    with heartbeat("lm-eval pt"):
        time.sleep(0.18)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 3 and set(lines[:-1]) == {"safedrift lm-eval pt: running, 0:00 elapsed"}
    assert re.fullmatch(r"safedrift lm-eval pt: done in 0\.\d s", lines[-1]), lines[-1]


@pytest.mark.parametrize(("value", "interval", "bars"), [("", 30.0, False), ("lines", 30.0, False),
                                                         ("12", 12.0, False), ("bars", 30.0, True)])
def test_safedrift_progress_setting(monkeypatch, value, interval, bars):
    monkeypatch.setenv("SAFEDRIFT_PROGRESS", value)
    assert heartbeat_interval() == interval and log_module.bars_enabled() is bars  # pytest's stderr: no TTY


def test_third_party_noise_is_dropped(monkeypatch, caplog):
    monkeypatch.setenv("SAFEDRIFT_PROGRESS", "lines")
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    from tqdm import std

    monkeypatch.setattr(std.tqdm, "__init__", std.tqdm.__init__)  # undone after the test
    monkeypatch.setattr(std.tqdm, "_safedrift_off", False, raising=False)
    with warnings.catch_warnings():
        quiet_library_bars()
        other = logging.getLogger("transformers.integrations.integration_utils")
        with caplog.at_level(logging.WARNING):
            other.warning("comet_ml is installed but the Comet API Key is not configured. Please set ...")
            other.warning("a warning that matters")
        assert [r.getMessage() for r in caplog.records] == ["a warning that matters"]
        with warnings.catch_warnings(record=True) as seen:
            warnings.warn_explicit("old argument", FutureWarning, "x.py", 1, module="transformers.generation")
            warnings.warn_explicit("ours", FutureWarning, "y.py", 1, module="bench_runner.models")
        assert [str(w.message) for w in seen] == ["ours"]
    from tqdm.auto import tqdm

    assert tqdm(range(3)).disable is True  # e.g. transformers' GGUF conversion bar
    assert tqdm(range(3), disable=False).disable is True  # a library passing disable= (lm-eval): off as well
