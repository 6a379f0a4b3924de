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
    kind: str  # "sorry" (unsafe request) or "benign" (held-out benign test prompt)
    language: str
    item_id: str  # question_id / row id, shared by the same item across languages
    messages: tuple[dict, ...]
    category: str = ""
    category_name: str = ""
    prompt_style: str = ""

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

    kwargs: dict[str, str | None] = {"revision": revision} if revision else {}
    if not os.path.exists(source) and "/" not in source:
        raise DataError(f"dataset {source!r} is neither a local folder nor a Hub id; run `make release` first.")
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


@dataclass(frozen=True)
class EvalSet:
    prompts: list[Prompt]
    # {"require_qa_pass", "sorry_items", "benign_items", "failed_rows": {"sorry": {lang: n}, "benign": {…}}}
    qa_excluded: dict


def eval_set(cfg: DatasetsConfig, languages: list[str]) -> EvalSet:
    """Every eval language's prompts. With require_qa_pass an item whose translation failed QA in ANY eval
    language is left out in EVERY eval language: the same items in every language keep the comparisons
    across eval languages (ratio, heterogeneity, the heatmap's columns) on one prompt set."""
    sorry = {lang: _sorry_rows(cfg, lang) for lang in languages}
    benign = {lang: _benign_rows(cfg, lang) for lang in languages}
    failed = {"sorry": {lang: len(_failed_items(rows, _sorry_item)) for lang, rows in sorry.items()},
              "benign": {lang: len(_failed_items(rows, _benign_item)) for lang, rows in benign.items()}}
    drop_sorry: set[str] = set()
    drop_benign: set[str] = set()
    if cfg.require_qa_pass:
        drop_sorry = set().union(*(_failed_items(rows, _sorry_item) for rows in sorry.values()))
        drop_benign = set().union(*(_failed_items(rows, _benign_item) for rows in benign.values()))
    prompts: list[Prompt] = []
    for lang in languages:
        prompts += _sorry_prompts(cfg, lang, sorry[lang], drop_sorry)
        prompts += _benign_prompts(cfg, lang, benign[lang], drop_benign)
    return EvalSet(prompts, {"require_qa_pass": cfg.require_qa_pass, "sorry_items": len(drop_sorry),
                             "benign_items": len(drop_benign), "failed_rows": failed})


def eval_prompts(cfg: DatasetsConfig, languages: list[str]) -> list[Prompt]:
    return eval_set(cfg, languages).prompts


def hash_records(records: list) -> str:
    return stable_hash([r.to_dict() if isinstance(r, Prompt) else r for r in records])
