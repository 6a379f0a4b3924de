"""COMET scores through the COMET venv (`make comet-env`), run as a subprocess over JSONL.

unbabel-comet pins huggingface-hub<1, transformers<5, numpy<2 and protobuf<5, so it cannot share the main
venv; validation/comet_worker.py runs under `cfg.python` and this module only writes its input, forwards its
progress and reads its scores. With `enabled: auto` every problem (no venv, model not loadable offline,
worker crash, timeout) becomes a recorded skip reason; with `on` it is an error; `off` skips.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from safedrift.core.errors import ConfigError, DataError, MissingDependencyError, SafedriftError
from safedrift.core.files import atomic_write_jsonl, iter_jsonl
from safedrift.core.hub import hub_offline
from safedrift.core.locations import side_venv_python
from safedrift.core.log import progress
from validation.config import CometConfig

WORKER = Path(__file__).with_name("comet_worker.py")

# Wall-clock allowance for one worker run: model load + a generous per-row budget for CPU scoring.
TIMEOUT_BASE_S = 300.0
TIMEOUT_PER_ROW_S = 2.0


# (python, model) -> why the model did not load: remembered for the process, so a QA run over many languages
# starts no further worker for a model that cannot load (each start costs a torch import and a model load).
_MODEL_FAILURES: dict[tuple[str, str], str] = {}


class CometError(SafedriftError):
    """COMET was required (enabled: on) but its worker failed."""


@dataclass
class CometResult:
    scores: list[float] | None
    system: float | None
    model: str
    skipped: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class _Unavailable(Exception):
    """Why COMET cannot run; `error` is the exception type `enabled: on` raises."""

    def __init__(self, reason: str, error: type[SafedriftError]):
        super().__init__(reason)
        self.reason = reason
        self.error = error


def comet_python(cfg: CometConfig) -> Path:
    """`cfg.python`; a relative path is taken from the working directory, else from the checkout (where
    `make comet-env` creates .venv-comet)."""
    return side_venv_python(cfg.python)


def _hub_cache() -> Path:
    # Read from the environment at call time (huggingface_hub reads it once, at import).
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(hf_home) / "hub"


def _is_hub_id(model: str) -> bool:
    return not model.startswith((".", "/", "~")) and model.count("/") == 1 and not Path(model).exists()


def _check_venv(cfg: CometConfig) -> None:
    python = comet_python(cfg)
    if not python.exists():
        raise _Unavailable(f"the COMET venv was not found ({python}); run `make comet-env` to create it",
                           MissingDependencyError)
    probe = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('comet') else 3)"
    try:
        proc = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _Unavailable(f"{python} does not run ({exc}); run `make comet-env` to recreate the COMET venv",
                           MissingDependencyError) from None
    if proc.returncode != 0:
        raise _Unavailable(f"{python} has no unbabel-comet installed; run `make comet-env`",
                           MissingDependencyError)


def _check_model(model: str) -> None:
    if not model:
        raise _Unavailable("no COMET model is configured", ConfigError)
    if not _is_hub_id(model):
        path = Path(model).expanduser()
        if not path.exists():
            raise _Unavailable(f"the COMET model path {model} does not exist", ConfigError)
        if path.is_dir() and not (path / "checkpoints" / "model.ckpt").is_file():
            raise _Unavailable(f"{model} is not a COMET checkpoint folder (no checkpoints/model.ckpt)",
                               ConfigError)
        return
    if hub_offline():
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model, "checkpoints/model.ckpt", cache_dir=str(_hub_cache()))
        if not isinstance(found, str):
            raise _Unavailable(
                f"the COMET model {model} is not in the Hugging Face cache and the Hub is offline "
                "(HF_HUB_OFFLINE); download it once online or point the config at a local checkpoint",
                ConfigError)


def _unavailable(cfg: CometConfig, model: str | None) -> _Unavailable | None:
    if cfg.enabled == "off":
        return _Unavailable("disabled in the config (qa.comet.enabled: off)", ConfigError)
    try:
        _check_venv(cfg)
        if model is not None:
            _check_model(model)
    except _Unavailable as exc:
        return exc
    return None


def _fail(cfg: CometConfig, model: str, reason: str, error: type[SafedriftError]) -> CometResult:
    if cfg.enabled == "on":
        raise error(f"COMET is required (qa.comet.enabled: on) but {reason}.")
    return CometResult(scores=None, system=None, model=model, skipped=reason)


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    # The main venv's paths must not leak into the COMET venv (its numpy/transformers differ).
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(var, None)
    env.update(PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    return env


def _parse(line: str) -> dict | None:
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _run_worker(cmd: list[str], cwd: str, total: int, desc: str,
                timeout_s: float) -> tuple[int | None, str, str | None]:
    """Run the worker, forwarding its progress lines to a progress bar. Returns the exit code (None on timeout),
    the error to show (its JSON error line, else its last output line) and the error's kind."""
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=_worker_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                errors="replace")
    except OSError as exc:
        return 127, f"it could not start ({exc.strerror or exc})", None
    tail: collections.deque[str] = collections.deque(maxlen=20)
    error: list[dict] = []
    with progress(total=total, desc=desc, unit="row") as bar:
        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.strip()
                msg = _parse(line)
                if msg and isinstance(msg.get("progress"), int):
                    bar.update(msg["progress"] - bar.n)
                    bar.refresh()  # chunks are coarse; show each one, including the last
                elif msg and "error" in msg:
                    error.append(msg)
                elif line:
                    tail.append(line)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            code: int | None = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        reader.join(timeout=10)
    last = str(error[-1]["error"]) if error else (tail[-1] if tail else "no output")
    return code, last.rstrip("."), (error[-1].get("kind") if error else None)


def run_comet(
    sources: list[str],
    translations: list[str],
    references: list[str] | None,
    cfg: CometConfig,
    model: str,
    desc: str = "comet",
    timeout_s: float | None = None,
) -> CometResult:
    """Score each (source, translation[, reference]) with COMET `model` (Hub id or local checkpoint).

    `system` is the mean of the row scores. Unavailability and worker failures follow `cfg.enabled`:
    auto -> a result with `skipped` set, on -> a SafedriftError naming the fix, off -> skipped.
    """
    n = len(translations)
    if len(sources) != n or (references is not None and len(references) != n):
        raise DataError(f"COMET needs one source{' and reference' if references is not None else ''} "
                        f"per translation; got {len(sources)} sources and {n} translations.")
    found = _unavailable(cfg, model)
    if found is not None:
        return _fail(cfg, model, found.reason, found.error)
    if n == 0:
        return CometResult(scores=[], system=None, model=model, skipped=None)
    key = (str(comet_python(cfg)), model)
    if key in _MODEL_FAILURES:
        return _fail(cfg, model, _MODEL_FAILURES[key], ConfigError)
    rows = [{"src": s, "mt": t} for s, t in zip(sources, translations, strict=True)]
    if references is not None:
        for row, ref in zip(rows, references, strict=True):
            row["ref"] = ref
    timeout = timeout_s if timeout_s is not None else TIMEOUT_BASE_S + TIMEOUT_PER_ROW_S * n
    with tempfile.TemporaryDirectory(prefix="safedrift-comet-") as tmp:
        inp, out = Path(tmp) / "input.jsonl", Path(tmp) / "scores.jsonl"
        atomic_write_jsonl(inp, rows)
        cmd = [str(comet_python(cfg)), str(WORKER), "--model", model, "--input", str(inp),
               "--output", str(out), "--batch-size", str(cfg.batch_size), "--gpus", str(cfg.gpus)]
        code, last, kind = _run_worker(cmd, tmp, n, desc, timeout)
        if code is None:
            return _fail(cfg, model, f"the COMET worker for {model} timed out after {timeout:g} s", CometError)
        if code != 0:
            reason = f"the COMET worker for {model} failed (exit {code}): {last}"
            if kind == "model":  # a model that does not load is a config problem, and stays one
                _MODEL_FAILURES[key] = reason
                return _fail(cfg, model, reason, ConfigError)
            return _fail(cfg, model, reason, CometError)
        try:
            scores = [float(r["score"]) for r in iter_jsonl(out)]
        except (DataError, KeyError, TypeError, ValueError) as exc:
            return _fail(cfg, model, f"the COMET worker for {model} wrote unreadable scores ({exc})", CometError)
    if len(scores) != n:
        return _fail(cfg, model, f"the COMET worker for {model} returned {len(scores)} scores for {n} rows",
                     CometError)
    return CometResult(scores=scores, system=sum(scores) / n, model=model, skipped=None)
