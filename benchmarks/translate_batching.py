"""Whole-corpus token batching vs argostranslate-style per-paragraph batches, same CTranslate2 model.

    .venv/bin/python benchmarks/translate_batching.py [--repeat 3] [--beam-size 4]

argostranslate's translate() sends one paragraph at a time with 32-token batches; the argos engine sends
every segment of a language in one translate_batch call with large token batches. Both paths here use the
same installed argos package (the tiny one the tests build; no real argos model installs offline), the
same segments of the sample data and the same decoding settings, so the printed ratio isolates batching.
The tiny model makes each token cheap, so per-call overhead weighs more than it would with a real model:
rerun with a real package (--packages-dir) for production figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages-dir", help="installed argos packages (default: build the tiny en->de one)")
    parser.add_argument("--target", default="de")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--beam-size", type=int, default=4)
    args = parser.parse_args()

    from builders.engines.argos import ArgosEngine, install_argos_package
    from builders.segments import segment_text
    from safedrift.core.files import iter_jsonl

    tmp = Path(tempfile.mkdtemp(prefix="bench-argos-"))
    packages = args.packages_dir
    if packages is None:
        from support.tiny_argos import build_tiny_argosmodel

        packages = tmp / "packages"
        install_argos_package(build_tiny_argosmodel(tmp, "en", args.target), packages)

    rows = list(iter_jsonl(REPO / "data/sample/benign.jsonl"))
    paragraphs = [p for r in rows for f in ("instruction", "input", "output") for p in r[f].split("\n\n") if p]
    per_paragraph = [segment_text(p).segments for p in paragraphs]
    segments = [s for segs in per_paragraph for s in segs]

    engine = ArgosEngine(packages_dir=packages, beam_size=args.beam_size, max_decoding_length=64)
    pkg, translator, sp = engine._load("en", args.target)

    def baseline() -> None:  # argostranslate's shape: one call per paragraph, 32-token batches
        for segs in per_paragraph:
            if segs:
                translator.translate_batch([sp.encode(s, out_type=str) for s in segs], max_batch_size=32,
                                           batch_type="tokens", beam_size=args.beam_size,
                                           max_decoding_length=64, length_penalty=0.2)

    def ours() -> None:
        engine.translate_batch(segments, "en", args.target)

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    ours()  # warm-up (model load)
    t_base, t_ours = best(baseline), best(ours)
    print(f"segments: {len(segments)} in {len(paragraphs)} paragraphs; model: {engine.model_id('en', args.target)}")
    print(f"per-paragraph, 32-token batches : {t_base:.3f} s  ({len(segments) / t_base:.0f} seg/s)")
    print(f"whole corpus, token batching   : {t_ours:.3f} s  ({len(segments) / t_ours:.0f} seg/s)")
    print(f"speed-up: {t_base / t_ours:.2f}x")


if __name__ == "__main__":
    main()
