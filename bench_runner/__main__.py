from __future__ import annotations

import sys

from bench_runner.cli import main
from builders.errors import run_cli

sys.exit(run_cli(main))
