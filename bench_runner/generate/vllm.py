"""generation.backend: vllm — one vLLM server answers for the base model and every adapter at once (multi-LoRA).

Prompts are rendered here with the model's chat template, exactly as for the transformers backend, and sent as
text to /v1/completions, one request per prompt; every model's requests share the server's batches. Before the
rest is sent, a few prompts per model go through transformers too (parity): an adapter the server did not apply
shows up as a low share of identical greedy answers and stops the run, leaving no rows behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench_runner.chat import render
from bench_runner.config import BASE, ModelConfig
from bench_runner.generate.backend import Answer, GenerationBackend, ModelJob
from bench_runner.generate.decoding import sample_index
from bench_runner.plugin import Findings
from bench_runner.serving.sampling import SamplingParams, prompt_budgets
from bench_runner.serving.server import Completion
from bench_runner.serving.vllm import VllmServing, request_body
from safedrift.core.errors import ConfigError, DataError, SafedriftError
from safedrift.core.files import atomic_write_json
from safedrift.core.log import progress

if TYPE_CHECKING:
    from bench_runner.config import RunConfig
    from bench_runner.data import Prompt


# ---- every model's prompts through one server ----------------------------------------------------------
@dataclass
class Job:
    """One model's prompts; `write(indices, completions)` persists a finished batch (indices into prompts)."""

    model: str
    prompts: list[str]
    write: Callable[[list[int], list[Completion]], None]
    stats: dict = field(default_factory=lambda: {"new_tokens": 0, "truncated": 0, "requests": 0})
    max_tokens: list[int] | None = None  # per prompt (its language's budget); None: the params' max_new_tokens
    # per prompt: the request's seed (generation.seed + the sample's index, so a prompt's samples differ under
    # sampling); None: the params' seed
    seeds: list[int] | None = None


def generate_jobs(serving: VllmServing, jobs: Sequence[Job], params: SamplingParams, batch_size: int,
                  on_progress: Callable[[int], None] | None = None) -> dict:
    """Send every job's prompts at once (interleaved, so each server batch mixes the adapters), at most
    generation.vllm.max_concurrency in flight; each job's finished answers are written `batch_size` at a
    time. Returns {"seconds", "new_tokens", "requests"} of the whole run and "models": each job's counts."""
    order: list[tuple[int, int]] = []  # (job, prompt index), round-robin over the jobs
    longest = max((len(j.prompts) for j in jobs), default=0)
    for i in range(longest):
        order += [(j, i) for j, job in enumerate(jobs) if i < len(job.prompts)]
    bodies = [{**request_body(serving.name_of(jobs[j].model), params), "prompt": jobs[j].prompts[i],
               **_budget(jobs[j], i)} for j, i in order]
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


def _budget(job: Job, i: int) -> dict:
    return {**({} if job.max_tokens is None else {"max_tokens": job.max_tokens[i]}),
            **({} if job.seeds is None else {"seed": job.seeds[i]})}


def _with_seed(extra: dict, seed: int) -> dict:
    """A samples row's backend fields with the request's own seed (a prompt's later samples use seed + index)."""
    if extra["params"]["seed"] == seed:
        return extra
    return {**extra, "request": {**extra["request"], "seed": seed}, "params": {**extra["params"], "seed": seed}}


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
    from bench_runner.generate.transformers import TransformersGenerator

    backend = TransformersGenerator(model, adapter_dir=adapter_dir, batch_size=batch_size)
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


def max_lora_rank(configured: int, adapters: dict[str, Path]) -> int:
    """The largest LoRA rank the server must take: lora.r, or an adapter's own (a brought-in one may differ)."""
    import json

    ranks = [configured]
    for folder in adapters.values():
        try:
            ranks.append(int(json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))["r"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: vLLM names the adapter it cannot load
    return max(ranks)


class VllmBackend(GenerationBackend):
    """Every model of the run through one server: every adapter is trained first, then the server serves the
    base model and all adapters (multi-LoRA), a parity check against transformers runs on a few prompts per
    model before the rest is sent, and each model's answers are appended to its own samples as they finish."""

    name = "vllm"
    together = True

    @classmethod
    def check(cls, cfg: RunConfig, found: Findings) -> None:
        from bench_runner.serving.vllm import check_vllm_python

        if cfg.generation.base_url:
            found.checked.append(f"generation.base_url: {cfg.generation.base_url} (checked when the run starts)")
            return
        try:
            python = check_vllm_python(cfg.generation.vllm)
        except SafedriftError as exc:
            found.problems.append(f"generation.backend vllm: {exc}")
            return
        found.checked.append(f"vLLM environment: {python}")

    def run(self, jobs: list[ModelJob]) -> dict[str, dict]:
        from bench_runner.models import load_tokenizer

        gcfg, vcfg, params = self.cfg.generation, self.cfg.generation.vllm, self.params

        def seed_of(p: Prompt) -> int:
            return gcfg.seed + sample_index(p.uid)

        if any(j.checkpoint for j in jobs):
            raise ConfigError(f"generation.backend vllm serves the base model with adapters, not the checkpoint of "
                              f"{', '.join(j.model for j in jobs if j.checkpoint)}; serve it yourself and list it "
                              "under models: as served:, or use generation.backend: transformers.")
        models = [j.model for j in jobs]
        by_model = {j.model: j for j in jobs}
        prompts = jobs[0].prompts  # every job holds the run's whole prompt list
        tok = load_tokenizer(self.cfg.model)
        texts = {p.uid: render(tok, list(p.messages), add_generation_prompt=True,
                               date_string=self.cfg.model.date_string) for p in prompts}
        budgets = prompt_budgets(gcfg, tok, prompts)
        adapters = {j.model: j.adapter for j in jobs if j.adapter is not None}
        check = [prompts[i] for i in parity_indices(len(prompts), vcfg.parity_prompts)]
        results = {j.model: read_parity(j.folder) for j in jobs}  # a check that passed before (a resumed run)
        # Parity compares greedy answers; under sampling its answers are not the run's samples.
        greedy = params if params.temperature == 0 else SamplingParams(params.max_new_tokens, seed=params.seed)
        # Parity answers are the run's samples only when they were made as the samples are (greedy, one budget).
        reuse = greedy is params and set(budgets.values()) <= {params.max_new_tokens}
        # The transformers reference first: it needs the accelerator before the server takes it.
        reference = {m: transformers_answers(self.cfg.model, adapters.get(m), [texts[p.uid] for p in check],
                                             greedy, gcfg.batch_size)
                     for m in models if check and results[m] is None}
        serving = VllmServing(self.cfg.model, vcfg, base_url=gcfg.base_url, adapters=adapters,
                              lora_rank=max_lora_rank(self.cfg.lora.r, adapters), seed=gcfg.seed, log_path=self.log_dir / "vllm-server.log")
        with serving:
            def write(m: str, chosen: list[Prompt]) -> Callable[[list[int], list[Completion]], None]:
                # The request as sent for each language (its budget), and the samples row's params to match.
                extra = {lang: {"backend": "vllm", "server_version": serving.version,
                                "request": request_body(serving.name_of(m), params.with_budget(n)),
                                "params": params.with_budget(n).to_dict()} for lang, n in budgets.items()}
                return lambda idx, done: by_model[m].write([
                    Answer(chosen[i], texts[chosen[i].uid], c.text, c.completion_tokens, c.finish_reason == "length",
                           _with_seed(extra[chosen[i].language], seed_of(chosen[i])))
                    for i, c in zip(idx, done, strict=True)])

            bar = progress(total=len(prompts) * len(jobs), initial=sum(len(prompts) - len(j.todo) for j in jobs),
                           desc=f"generate {', '.join(models)} (vllm)", unit="prompt")
            # 1. The parity prompts, held back until the check passes: a failed check leaves no rows behind.
            got: dict[str, dict] = {m: {} for m in reference}

            def hold(m: str) -> Callable[[list[int], list[Completion]], None]:
                return lambda idx, done: got[m].update(zip(idx, done, strict=True))

            runs = [generate_jobs(serving, [Job(m, [texts[p.uid] for p in check], hold(m)) for m in reference],
                                  greedy, gcfg.batch_size)]
            for m in reference:
                answers = [got[m][i] for i in range(len(check))]
                results[m] = parity([c.text for c in answers], reference[m], vcfg.parity_floor,
                                    reference.get(BASE) if m != BASE else None, uids=[p.uid for p in check])
                atomic_write_json(by_model[m].folder / "parity.json", results[m])
            check_parity(results)
            for m in reference if reuse else ():
                write(m, check)(list(range(len(check))), [got[m][i] for i in range(len(check))])
                bar.update(len(check))
            # 2. Everything else, every model at once.
            rest = {m: by_model[m].todo for m in models}
            runs.append(generate_jobs(serving, [Job(m, [texts[p.uid] for p in rest[m]], write(m, rest[m]),
                                                    max_tokens=[budgets[p.language] for p in rest[m]],
                                                    seeds=[seed_of(p) for p in rest[m]])
                                                for m in models], params, gcfg.batch_size, bar.update))
            bar.close()
        # The models shared the server's seconds: tokens_per_s is the server's, over all of them.
        runs = runs if reuse else runs[1:]  # parity answers that are no samples are not counted as such
        seconds = sum(r["seconds"] for r in runs)
        out = {}
        for m in models:
            mine = [r["models"].get(m, {}) for r in runs]
            stats = {"backend": "vllm", "server_version": serving.version, "seconds": seconds,
                     "new_tokens": sum(x.get("new_tokens", 0) for x in mine),
                     "truncated": sum(x.get("truncated", 0) for x in mine), "served_with": models,
                     "tokens_per_s": sum(r["new_tokens"] for r in runs) / seconds if seconds else None,
                     "parity_share": (results.get(m) or {}).get("share"), "max_new_tokens": budgets}
            out[m] = {"stats": stats, "parity": results.get(m), "server": serving.describe()}
        return out
