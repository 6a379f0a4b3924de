"""benchmarks/translate_throughput.py in its smoke mode: the three paths run on a tiny model, our engine's
outputs equal raw CTranslate2's, and the ratio lines are printed (the speed itself is not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO


def test_throughput_benchmark_smoke(tmp_path, isolated_env):
    proc = subprocess.run(
        [sys.executable, "benchmarks/translate_throughput.py", "--smoke", "--cache-dir", str(tmp_path / "cache")],
        cwd=REPO, env=isolated_env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert "outputs: ours == raw CTranslate2 for 24/24 segments;" in proc.stdout
    # every output is about as long as a real translation: 1.1 x the source tokens on average
    source, output = (float(x) for x in re.search(
        r"source tokens per segment ([\d.]+) .* output tokens per segment ([\d.]+)", proc.stdout).groups())
    assert 1.0 <= output / source <= 1.2
    for path in ("argostranslate.translate :", "ours (translate_texts)   :", "raw CTranslate2          :"):
        assert re.search(rf"^{re.escape(path)} +[\d.]+ s +[\d.]+ segments/s$", proc.stdout, re.M), path
    assert re.fullmatch(r"speed-up vs argostranslate\.translate: \d+\.\d\dx", lines[-2])
    assert re.fullmatch(r"ours / raw CT2 time: \d+\.\d\d", lines[-1])
    # the package was built once and cached
    assert len(list((tmp_path / "cache" / "bench-argos").glob("*.argosmodel"))) == 1
