"""Read the released datasets (local release folder or Hub id) into training rows and eval prompts."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_runner.config import DatasetsConfig
from safedrift.errors import DataError
from safedrift.files import stable_hash


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
    from safedrift.hub import hub_offline

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


def train_data(cfg: DatasetsConfig, language: str) -> tuple[list[list[dict]], int]:
    """Chat conversations (`messages`) of one language's train split, and how many rows failed QA and were
    left out (require_qa_pass); train_limit counts the rows kept."""
    ds = load_split(cfg.benign, language, "train", cfg.revision)
    excluded = _count_failed(ds) if cfg.require_qa_pass else 0
    rows: list[list[dict]] = []
    for i, row in enumerate(ds):
        if cfg.train_limit and len(rows) >= cfg.train_limit:
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


def train_rows(cfg: DatasetsConfig, language: str) -> list[list[dict]]:
    return train_data(cfg, language)[0]


def _sorry_item(row: dict) -> str:
    return f"{row['question_id']}:{row['prompt_style']}"


def _sorry_rows(cfg: DatasetsConfig, language: str) -> list[dict]:
    ds = load_split(cfg.sorry, language, "test", cfg.revision)
    return [row for row in ds if not cfg.prompt_styles or row["prompt_style"] in cfg.prompt_styles]


def _benign_rows(cfg: DatasetsConfig, language: str) -> list[dict]:
    return [] if cfg.benign_test_limit == 0 else list(load_split(cfg.benign, language, "test", cfg.revision))


def _failed_items(rows: list[dict], item) -> set[str]:
    return {item(row) for row in rows if not passes_qa(row)}


def sorry_prompts(cfg: DatasetsConfig, language: str) -> list[Prompt]:
    """SORRY-Bench prompts of one language, without its QA failures when require_qa_pass (eval_set leaves out
    the failures of every eval language)."""
    rows = _sorry_rows(cfg, language)
    return _sorry_prompts(cfg, language, rows, _failed_items(rows, _sorry_item) if cfg.require_qa_pass else set())


def _sorry_prompts(cfg: DatasetsConfig, language: str, rows: list[dict], exclude: set[str]) -> list[Prompt]:
    out = []
    for row in rows:
        if _sorry_item(row) in exclude:
            continue
        turns = row["turns"]
        if not turns:
            raise DataError(f"{cfg.sorry} ({language}) question {row['question_id']} has no turns.")
        # SORRY-Bench questions are single-turn; the first turn is the request.
        out.append(
            Prompt(
                uid=f"sorry:{language}:{row['question_id']}:{row['prompt_style']}",
                kind="sorry",
                language=language,
                item_id=_sorry_item(row),
                messages=({"role": "user", "content": turns[0]},),
                category=str(row["category"]),
                category_name=str(row.get("category_name") or ""),
                prompt_style=str(row["prompt_style"]),
            )
        )
        if cfg.sorry_limit and len(out) >= cfg.sorry_limit:
            break
    if not out:
        raise DataError(f"no SORRY-Bench prompts left in {cfg.sorry} ({language}) after the prompt_styles filter"
                        + (" and the QA filter (require_qa_pass)." if exclude else "."))
    return out


def _benign_item(row: dict) -> str:
    return str(row["id"])


def benign_prompts(cfg: DatasetsConfig, language: str) -> list[Prompt]:
    rows = _benign_rows(cfg, language)
    return _benign_prompts(cfg, language, rows, _failed_items(rows, _benign_item) if cfg.require_qa_pass else set())


def _benign_prompts(cfg: DatasetsConfig, language: str, rows: list[dict], exclude: set[str]) -> list[Prompt]:
    out = []
    for row in rows:
        if _benign_item(row) in exclude:
            continue
        messages = [m for m in row["messages"] if m["role"] != "assistant"]
        out.append(
            Prompt(
                uid=f"benign:{language}:{row['id']}",
                kind="benign",
                language=language,
                item_id=_benign_item(row),
                messages=tuple({"role": m["role"], "content": m["content"]} for m in messages),
            )
        )
        if cfg.benign_test_limit and len(out) >= cfg.benign_test_limit:
            break
    return out


def _xstest_rows(cfg: DatasetsConfig, language: str) -> list[dict]:
    return list(load_split(cfg.xstest, language, "test", cfg.revision)) if cfg.xstest else []


def _xstest_item(row: dict) -> str:
    return str(row["id"])


def _xstest_prompts(cfg: DatasetsConfig, language: str, rows: list[dict], exclude: set[str]) -> list[Prompt]:
    """XSTest prompts in a fixed order that visits every type in turn, so xstest_limit (per label: that many safe
    and that many contrast prompts) keeps every type; the order depends on ids only, the same in every language."""
    by_type: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: int(r["id"]) if str(r["id"]).isdigit() else str(r["id"])):
        if _xstest_item(row) not in exclude:
            by_type.setdefault(str(row["type"]), []).append(row)
    queues = [by_type[t] for t in sorted(by_type)]
    ordered = [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]
    taken: dict[str, int] = {}
    out = []
    for row in ordered:
        label = str(row["label"])
        if cfg.xstest_limit and taken.get(label, 0) >= cfg.xstest_limit:
            continue
        taken[label] = taken.get(label, 0) + 1
        out.append(Prompt(uid=f"xstest:{language}:{row['id']}", kind="xstest", language=language,
                          item_id=_xstest_item(row), messages=({"role": "user", "content": row["prompt"]},),
                          category=str(row["type"]), xstest_label=label, focus=str(row.get("focus") or "")))
    return sorted(out, key=lambda p: int(p.item_id) if p.item_id.isdigit() else p.item_id)


def xstest_prompts(cfg: DatasetsConfig, language: str) -> list[Prompt]:
    rows = _xstest_rows(cfg, language)
    return _xstest_prompts(cfg, language, rows, _failed_items(rows, _xstest_item) if cfg.require_qa_pass else set())


def heldout_conversations(cfg: DatasetsConfig, languages: list[str],
                          limit: int | None = None) -> dict[str, list[tuple[str, list[dict]]]]:
    """Per eval language, (item id, conversation ending in the reference answer) of the benign `test` split: the
    held-out loss's data. The same items in every language (QA failures in any language left out)."""
    rows = {lang: list(load_split(cfg.benign, lang, "test", cfg.revision)) for lang in languages}
    drop = set().union(*(_failed_items(r, _benign_item) for r in rows.values())) if cfg.require_qa_pass else set()
    common = set.intersection(*({_benign_item(r) for r in rs} for rs in rows.values())) - drop
    out: dict[str, list[tuple[str, list[dict]]]] = {}
    for lang, rs in rows.items():
        kept = [r for r in rs if _benign_item(r) in common and r["messages"]
                and r["messages"][-1]["role"] == "assistant"]
        kept = sorted(kept, key=_benign_item)[:limit] if limit else sorted(kept, key=_benign_item)
        out[lang] = [(_benign_item(r), [{"role": m["role"], "content": m["content"]} for m in r["messages"]])
                     for r in kept]
    return out


@dataclass(frozen=True)
class EvalSet:
    prompts: list[Prompt]
    # {"require_qa_pass", "sorry_items", "benign_items", "xstest_items",
    #  "failed_rows": {"sorry": {lang: n}, "benign": {…}, "xstest": {…}}}
    qa_excluded: dict


def eval_set(cfg: DatasetsConfig, languages: list[str]) -> EvalSet:
    """Every eval language's prompts. With require_qa_pass an item whose translation failed QA in ANY eval
    language is left out in EVERY eval language: the same items in every language keep the comparisons
    across eval languages (ratio, heterogeneity, the heatmap's columns) on one prompt set."""
    sorry = {lang: _sorry_rows(cfg, lang) for lang in languages}
    benign = {lang: _benign_rows(cfg, lang) for lang in languages}
    xstest = {lang: _xstest_rows(cfg, lang) for lang in languages}
    failed = {"sorry": {lang: len(_failed_items(rows, _sorry_item)) for lang, rows in sorry.items()},
              "benign": {lang: len(_failed_items(rows, _benign_item)) for lang, rows in benign.items()}}
    if cfg.xstest:
        failed["xstest"] = {lang: len(_failed_items(rows, _xstest_item)) for lang, rows in xstest.items()}
    drop_sorry: set[str] = set()
    drop_benign: set[str] = set()
    drop_xstest: set[str] = set()
    if cfg.require_qa_pass:
        drop_sorry = set().union(*(_failed_items(rows, _sorry_item) for rows in sorry.values()))
        drop_benign = set().union(*(_failed_items(rows, _benign_item) for rows in benign.values()))
        drop_xstest = set().union(*(_failed_items(rows, _xstest_item) for rows in xstest.values()))
    prompts: list[Prompt] = []
    for lang in languages:
        prompts += _sorry_prompts(cfg, lang, sorry[lang], drop_sorry)
        prompts += _benign_prompts(cfg, lang, benign[lang], drop_benign)
        prompts += _xstest_prompts(cfg, lang, xstest[lang], drop_xstest)
    return EvalSet(prompts, {"require_qa_pass": cfg.require_qa_pass, "sorry_items": len(drop_sorry),
                             "benign_items": len(drop_benign), "xstest_items": len(drop_xstest),
                             "failed_rows": failed})


def eval_prompts(cfg: DatasetsConfig, languages: list[str]) -> list[Prompt]:
    return eval_set(cfg, languages).prompts


def hash_records(records: list) -> str:
    return stable_hash([r.to_dict() if isinstance(r, Prompt) else r for r in records])
