"""Read the released datasets (local release folder or Hub id) into training rows and eval prompts."""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_runner.config import DatasetsConfig
from safedrift.core.errors import DataError
from safedrift.core.files import stable_hash
from safedrift.core.languages import SOURCE_LANGUAGE
from safedrift.core.specs import BENIGN, SORRY_BENCH, XSTEST, DatasetSpec


@dataclass(frozen=True)
class Prompt:
    uid: str  # "<kind>:<language>:<item id>", unique in a generation run
    kind: str  # "sorry" (unsafe request), "benign" (held-out benign test prompt) or "xstest" (XSTest prompt)
    language: str
    item_id: str  # question_id / row id, shared by the same item across languages
    messages: tuple[dict, ...]
    category: str = ""  # SORRY-Bench category; XSTest: its `type` (homonyms, …, contrast_*)
    category_name: str = ""
    prompt_style: str = ""
    xstest_label: str = ""  # XSTest's `label`: "safe" (should be answered) or "unsafe" (a contrast, should be refused)
    focus: str = ""  # XSTest's `focus`: the word that makes a safe prompt look unsafe

    def to_dict(self) -> dict:
        d = asdict(self)
        d["messages"] = [dict(m) for m in self.messages]
        return d


def local_cache_dir(folder: str) -> Path:
    """A datasets cache folder specific to the current contents of a local release folder."""
    import datasets

    root = Path(folder).resolve()
    stats = sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts)
    digest = stable_hash([str(root), stats])[:16]
    return Path(datasets.config.HF_DATASETS_CACHE) / "safedrift-local" / digest


def load_split(source: str, language: str, split: str, revision: str | None = None):
    """`datasets.load_dataset(source, language, split=split)` with one-sentence errors."""
    import datasets

    from bench_runner.paths import dataset_cached, locate
    from safedrift.core.hub import hub_offline

    kwargs: dict[str, str | None] = {"revision": revision} if revision else {}
    where = locate("dataset", source)
    if where.local and not where.exists:
        # A path never falls through to the Hub: that would be a minute of retries for a typo.
        raise DataError(f"dataset {source!r} does not exist (a local path: relative paths are read from the config "
                        "file's folder, then the working directory); run `make release` or fix the path.")
    if not os.path.exists(source) and "/" not in source:
        raise DataError(f"dataset {source!r} is neither a local folder nor a Hub id; run `make release` first.")
    if not where.local and hub_offline() and not dataset_cached(source, revision):
        raise DataError(f"dataset {source!r} is not a local folder and not in the Hugging Face cache, and the Hub "
                        "is offline (HF_HUB_OFFLINE); point the config at a release folder (`make release`), or "
                        "download the dataset once online.")
    if os.path.isdir(source):
        # datasets' cache key for a local folder ignores the file contents: two release folders, or one
        # rebuilt in place, share a cache entry and return stale rows and features. Key the cache ourselves.
        kwargs.pop("revision", None)
        kwargs["cache_dir"] = str(local_cache_dir(source))
    else:
        kwargs["token"] = os.environ.get("HF_TOKEN") or None
    try:
        ds = datasets.load_dataset(source, language, split=split, **kwargs)
    except ValueError as exc:
        text = str(exc)
        if "BuilderConfig" in text or "config" in text.lower():
            raise DataError(
                f"language {language!r} is not in the release {source}; build it (make release) "
                "or remove it from the config."
            ) from None
        if "split" in text.lower():
            raise DataError(f"{source} has no {split!r} split for {language!r}; rebuild the release.") from None
        raise DataError(f"could not read {source} ({language}, {split}): {text}") from None
    except datasets.exceptions.DatasetGenerationError:
        # A zero-row parquet file fails inside the parquet reader rather than giving an empty split.
        raise DataError(
            f"the {split!r} split of {source} for {language!r} is empty or unreadable; rebuild the release."
        ) from None
    except FileNotFoundError:
        raise DataError(
            f"dataset {source} was not found; run `make release`, or set HF_TOKEN for a gated Hub dataset."
        ) from None
    if len(ds) == 0:
        raise DataError(f"the {split!r} split of {source} for {language!r} is empty; rebuild the release.")
    return ds


def passes_qa(row: dict) -> bool:
    """A row is left out only when its QA verdict is an explicit fail (a release without QA columns passes)."""
    return row.get("qa_pass") is not False


def _count_failed(ds) -> int:
    return sum(v is False for v in ds["qa_pass"]) if "qa_pass" in ds.column_names else 0


def equal_dose_ids(cfg: DatasetsConfig, languages: list[str]) -> list[str]:
    """training.equal_dose: the train rows' ids every fine-tune language keeps (passed QA in all of them, when
    require_qa_pass), in the first language's order, the first train_limit of them."""
    kept = [[str(BENIGN.row_id(r)) for r in load_split(cfg.benign, lang, "train", cfg.revision)
             if not cfg.require_qa_pass or passes_qa(r)] for lang in languages]
    common = set.intersection(*map(set, kept)) if kept else set()
    ids = [i for i in kept[0] if i in common] if kept else []
    if not ids:
        raise DataError(f"no train row of {cfg.benign} passed translation QA in every fine-tune language "
                        f"({', '.join(languages)}); set training.equal_dose: false or rebuild the release.")
    return ids[: cfg.train_limit] if cfg.train_limit else ids


def train_data(cfg: DatasetsConfig, language: str, ids: list[str] | None = None) -> tuple[list[list[dict]], int]:
    """Chat conversations (`messages`) of one language's train split, and how many rows failed QA and were
    left out (require_qa_pass); train_limit counts the rows kept. `ids` (equal_dose_ids): exactly those rows."""
    ds = load_split(cfg.benign, language, "train", cfg.revision)
    excluded = _count_failed(ds) if cfg.require_qa_pass else 0
    wanted = None if ids is None else set(ids)
    rows: list[list[dict]] = []
    for i, row in enumerate(ds):
        if wanted is not None:
            if str(BENIGN.row_id(row)) not in wanted:
                continue
        elif cfg.train_limit and len(rows) >= cfg.train_limit:
            break
        if cfg.require_qa_pass and not passes_qa(row):
            continue
        messages = row.get("messages")
        if not messages or messages[-1]["role"] != "assistant":
            raise DataError(f"{cfg.benign} ({language}, train) row {i}: `messages` must end with an assistant turn.")
        rows.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not rows:
        raise DataError(f"every train row of {cfg.benign} for {language!r} failed translation QA (qa_pass false); "
                        "rebuild the release or set datasets.require_qa_pass: false.")
    return rows, excluded


# ---- prompt kinds: which released dataset a prompt comes from and what its answers measure ------------------

@dataclass(frozen=True)
class Measure:
    """A rate the metrics report: the share of a prompt set's judged answers that `counts` (complied/refused)."""

    name: str  # the key in results.json, e.g. "compliance", "safe_refusal"
    counts: str  # "complied" (the judge's score 1) or "refused" (score 0)

    def value(self, score: int) -> int:
        return int(score) if self.counts == "complied" else 1 - int(score)


COMPLIANCE = Measure("compliance", "complied")  # unsafe SORRY-Bench requests: the study's headline rate
BENIGN_REFUSAL = Measure("benign_refusal", "refused")  # held-out benign prompts
SAFE_REFUSAL = Measure("safe_refusal", "refused")  # XSTest safe prompts (exaggerated refusal)
CONTRAST_COMPLIANCE = Measure("contrast_compliance", "complied")  # XSTest unsafe contrasts
MEASURES = {m.name: m for m in (COMPLIANCE, BENIGN_REFUSAL, SAFE_REFUSAL, CONTRAST_COMPLIANCE)}


class PromptKind:
    """One kind of eval prompt: the release it is read from (a DatasetSpec and the datasets key naming its
    location), the one mapping from a released row to a Prompt, and how its answers are judged and measured.
    Stages ask the kind; none branches on its name."""

    name: str  # the uid prefix and every sample/score row's `kind`
    spec: DatasetSpec
    location_key: str  # the DatasetsConfig field holding the release's location
    judged_by_run_judge: bool  # True: the configured judge; False: the offline refusal detector
    back_translated: bool  # SORRY-Bench answers are also judged in English (judge.answers_in)
    headline: bool = False  # the study's compliance figure (cells, categories, heterogeneity)

    def source(self, cfg: DatasetsConfig) -> str | None:
        return getattr(cfg, self.location_key)

    def used(self, cfg: DatasetsConfig) -> bool:
        """The run evaluates this kind (its release is set and its limit is not 0)."""
        return bool(self.source(cfg))

    def rows(self, cfg: DatasetsConfig, language: str) -> list[dict]:
        source = self.source(cfg)
        return list(load_split(source, language, "test", cfg.revision)) if source else []

    def item(self, row: dict) -> str:
        return str(self.spec.row_id(row))

    def prompt(self, row: dict, language: str) -> Prompt:
        raise NotImplementedError

    def select(self, cfg: DatasetsConfig, language: str, prompts: list[Prompt]) -> list[Prompt]:
        """The prompts a run uses, in order (the config's limits applied)."""
        return prompts

    def prompts(self, cfg: DatasetsConfig, language: str, rows: list[dict], exclude: set[str]) -> list[Prompt]:
        """The config's limits draw from every item (the same items in every language: the draw depends on the
        ids and the seed only), then the QA failures in `exclude` leave: a failure never pulls another item in,
        so the English full set and the common set are the same draw."""
        chosen = self.select(cfg, language, [self.prompt(row, language) for row in rows])
        kept = [p for p in chosen if p.item_id not in exclude]
        if chosen and not kept and self.headline:
            raise DataError(f"no {self.spec.name} prompts left in {self.source(cfg)} ({language}) after the QA "
                            "filter (require_qa_pass): every drawn item failed translation QA in some eval language.")
        return kept

    def measure_of(self, prompt: Prompt) -> Measure:
        raise NotImplementedError

    def uid(self, language: str, item: str) -> str:
        return f"{self.name}:{language}:{item}"


class SorryKind(PromptKind):
    name = "sorry"
    spec = SORRY_BENCH
    location_key = "sorry"
    judged_by_run_judge = True
    back_translated = True
    headline = True

    def rows(self, cfg: DatasetsConfig, language: str) -> list[dict]:
        return [row for row in super().rows(cfg, language)
                if not cfg.prompt_styles or row["prompt_style"] in cfg.prompt_styles]

    def item(self, row: dict) -> str:
        return f"{row['question_id']}:{row['prompt_style']}"

    def prompt(self, row: dict, language: str) -> Prompt:
        turns = row["turns"]
        if not turns:
            raise DataError(f"SORRY-Bench ({language}) question {row['question_id']} has no turns.")
        # SORRY-Bench questions are single-turn; the first turn is the request.
        return Prompt(uid=self.uid(language, self.item(row)), kind=self.name, language=language,
                      item_id=self.item(row), messages=({"role": "user", "content": turns[0]},),
                      category=str(row["category"]), category_name=str(row.get("category_name") or ""),
                      prompt_style=str(row["prompt_style"]))

    def select(self, cfg: DatasetsConfig, language: str, prompts: list[Prompt]) -> list[Prompt]:
        out = stratified_sample(prompts, cfg.sorry_limit, cfg.sample_seed)
        if not out:
            raise DataError(f"no SORRY-Bench prompts left in {cfg.sorry} ({language}) after the prompt_styles "
                            "filter.")
        return out

    def measure_of(self, prompt: Prompt) -> Measure:
        return COMPLIANCE


class BenignKind(PromptKind):
    name = "benign"
    spec = BENIGN
    location_key = "benign"
    judged_by_run_judge = False
    back_translated = False

    def used(self, cfg: DatasetsConfig) -> bool:
        return cfg.benign_test_limit != 0 and super().used(cfg)

    def rows(self, cfg: DatasetsConfig, language: str) -> list[dict]:
        return super().rows(cfg, language) if self.used(cfg) else []

    def prompt(self, row: dict, language: str) -> Prompt:
        messages = [m for m in row["messages"] if m["role"] != "assistant"]
        return Prompt(uid=self.uid(language, self.item(row)), kind=self.name, language=language,
                      item_id=self.item(row),
                      messages=tuple({"role": m["role"], "content": m["content"]} for m in messages))

    def select(self, cfg: DatasetsConfig, language: str, prompts: list[Prompt]) -> list[Prompt]:
        return prompts[: cfg.benign_test_limit] if cfg.benign_test_limit else prompts

    def measure_of(self, prompt: Prompt) -> Measure:
        return BENIGN_REFUSAL


def _id_order(item: str):
    return (0, int(item), "") if item.isdigit() else (1, 0, item)


def stratified_sample(prompts: list[Prompt], n: int | None, seed: int) -> list[Prompt]:
    """At most n of `prompts` spread evenly over their categories, in the order given. Each category's prompts are
    drawn in a seeded order and taken one per category in turn; a turn that cannot visit every category visits
    ones evenly spaced along the category order from a seeded start, so a small sample spans the whole range
    (SORRY-Bench's four domains are runs of consecutive categories) instead of the first categories. The draw
    depends on the item ids and the seed only: every eval language gets the same items."""
    if n is None or n >= len(prompts):
        return list(prompts)

    def draw(key: str) -> int:
        return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest(), 16)

    by_category: dict[str, list[Prompt]] = {}
    for p in sorted(prompts, key=lambda p: draw(p.item_id)):
        by_category.setdefault(p.category, []).append(p)
    order = sorted(by_category, key=_id_order)
    start = draw("start") / 2**256  # in [0, 1)
    picked: list[Prompt] = []
    turn = 0
    while len(picked) < n:
        visit = [c for c in order if len(by_category[c]) > turn]
        want = n - len(picked)
        if want < len(visit):
            visit = [visit[int((j + start) * len(visit) / want)] for j in range(want)]
        picked += [by_category[c][turn] for c in visit]
        turn += 1
    chosen = {p.uid for p in picked}
    return [p for p in prompts if p.uid in chosen]


class XstestKind(PromptKind):
    name = "xstest"
    spec = XSTEST
    location_key = "xstest"
    judged_by_run_judge = True
    back_translated = False

    def prompt(self, row: dict, language: str) -> Prompt:
        return Prompt(uid=self.uid(language, self.item(row)), kind=self.name, language=language,
                      item_id=self.item(row), messages=({"role": "user", "content": row["prompt"]},),
                      category=str(row["type"]), xstest_label=str(row["label"]), focus=str(row.get("focus") or ""))

    def select(self, cfg: DatasetsConfig, language: str, prompts: list[Prompt]) -> list[Prompt]:
        """xstest_limit per label (that many safe and that many contrast prompts), each a sample stratified by
        XSTest type (stratified_sample), in id order."""
        labels = dict.fromkeys(p.xstest_label for p in prompts)
        out = [p for label in labels for p in stratified_sample([q for q in prompts if q.xstest_label == label],
                                                                cfg.xstest_limit, cfg.sample_seed)]
        return sorted(out, key=lambda p: _id_order(p.item_id))

    def measure_of(self, prompt: Prompt) -> Measure:
        return SAFE_REFUSAL if prompt.xstest_label == "safe" else CONTRAST_COMPLIANCE


SORRY, BENIGN_PROMPTS, XSTEST_PROMPTS = SorryKind(), BenignKind(), XstestKind()
KINDS: dict[str, PromptKind] = {k.name: k for k in (SORRY, BENIGN_PROMPTS, XSTEST_PROMPTS)}


def kind_of(row: dict) -> PromptKind:
    """The kind of a prompt, sample or score row (its `kind` field)."""
    return KINDS[row["kind"]]


def measure_of(row: dict) -> Measure:
    """The rate a sample or score row counts towards."""
    return KINDS[row["kind"]].measure_of(Prompt(**{k: row.get(k, "") for k in ("uid", "kind", "language",
                                                                                "item_id", "xstest_label")},
                                                messages=()))


def _failed_items(kind: PromptKind, rows: list[dict]) -> set[str]:
    return {kind.item(row) for row in rows if not passes_qa(row)}


def prompts_of(kind: PromptKind, cfg: DatasetsConfig, language: str) -> list[Prompt]:
    """One language's prompts of one kind, without its QA failures when require_qa_pass (eval_set leaves out the
    failures of every eval language)."""
    rows = kind.rows(cfg, language)
    return kind.prompts(cfg, language, rows, _failed_items(kind, rows) if cfg.require_qa_pass else set())


def heldout_conversations(cfg: DatasetsConfig, languages: list[str],
                          limit: int | None = None) -> dict[str, list[tuple[str, list[dict]]]]:
    """Per eval language, (item id, conversation ending in the reference answer) of the benign `test` split: the
    held-out loss's data. The same items in every language (QA failures in any language left out)."""
    kind = BENIGN_PROMPTS
    rows = {lang: list(load_split(cfg.benign, lang, "test", cfg.revision)) for lang in languages}
    drop = set().union(*(_failed_items(kind, r) for r in rows.values())) if cfg.require_qa_pass else set()
    common = set.intersection(*({kind.item(r) for r in rs} for rs in rows.values())) - drop
    out: dict[str, list[tuple[str, list[dict]]]] = {}
    for lang, rs in rows.items():
        kept = [r for r in rs if kind.item(r) in common and r["messages"]
                and r["messages"][-1]["role"] == "assistant"]
        kept = sorted(kept, key=kind.item)[:limit] if limit else sorted(kept, key=kind.item)
        out[lang] = [(kind.item(r), [{"role": m["role"], "content": m["content"]} for m in r["messages"]])
                     for r in kept]
    return out


@dataclass(frozen=True)
class EvalSet:
    prompts: list[Prompt]
    # {"require_qa_pass", "<kind>_items" (items left out in every language), "failed_rows": {kind: {lang: n}}}
    qa_excluded: dict


def eval_set(cfg: DatasetsConfig, languages: list[str]) -> EvalSet:
    """Every eval language's prompts. With require_qa_pass an item whose translation failed QA in ANY eval
    language is left out in every eval language but the source (English): the common set keeps the comparisons
    across eval languages (heterogeneity, fold changes, the heatmap's columns) on one prompt set, and English is
    also answered on its full set, the number SORRY-Bench's English figures are comparable with. The metrics
    read the common set for every figure across languages (common_set) and say which set each figure uses."""
    kinds = [k for k in KINDS.values() if k.source(cfg)]
    rows = {k.name: {lang: k.rows(cfg, lang) for lang in languages} for k in kinds}
    failed = {k.name: {lang: len(_failed_items(k, r)) for lang, r in rows[k.name].items()} for k in kinds}
    drop = {k.name: set().union(*(_failed_items(k, r) for r in rows[k.name].values())) if cfg.require_qa_pass
            else set() for k in kinds}
    prompts: list[Prompt] = []
    for lang in languages:
        for k in kinds:
            own = _failed_items(k, rows[k.name][lang]) if cfg.require_qa_pass else set()
            prompts += k.prompts(cfg, lang, rows[k.name][lang], own if lang == SOURCE_LANGUAGE else drop[k.name])
    excluded = {"require_qa_pass": cfg.require_qa_pass, "failed_rows": failed}
    excluded.update({f"{k.name}_items": len(drop.get(k.name, ())) for k in KINDS.values()})
    return EvalSet(prompts, excluded)


def common_set(rows: list, languages: list[str]) -> list:
    """The rows (Prompts or sample/score dicts) whose item was asked in every one of `languages`, per prompt kind:
    eval_set answers English also on the items another language's QA left out; figures across languages use
    only the common items."""
    def key(r) -> tuple[str, str, str]:
        return (r["kind"], str(r["item_id"]), r["language"]) if isinstance(r, dict) else (r.kind, r.item_id,
                                                                                             r.language)
    seen: dict[tuple[str, str], set[str]] = {}
    for kind, item, language in map(key, rows):
        seen.setdefault((kind, item), set()).add(language)
    wanted = set(languages)
    return [r for r in rows if wanted <= seen[key(r)[:2]]]


def hash_records(records: list) -> str:
    return stable_hash([r.to_dict() if isinstance(r, Prompt) else r for r in records])
