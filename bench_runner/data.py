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


def train_rows(cfg: DatasetsConfig, language: str) -> list[list[dict]]:
    """Chat conversations (`messages`) of one language's train split."""
    ds = load_split(cfg.benign, language, "train", cfg.revision)
    if cfg.train_limit:
        ds = ds.select(range(min(cfg.train_limit, len(ds))))
    rows = []
    for i, row in enumerate(ds):
        messages = row.get("messages")
        if not messages or messages[-1]["role"] != "assistant":
            raise DataError(f"{cfg.benign} ({language}, train) row {i}: `messages` must end with an assistant turn.")
        rows.append([{"role": m["role"], "content": m["content"]} for m in messages])
    return rows


def sorry_prompts(cfg: DatasetsConfig, language: str) -> list[Prompt]:
    ds = load_split(cfg.sorry, language, "test", cfg.revision)
    out = []
    for row in ds:
        if cfg.prompt_styles and row["prompt_style"] not in cfg.prompt_styles:
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
                item_id=f"{row['question_id']}:{row['prompt_style']}",
                messages=({"role": "user", "content": turns[0]},),
                category=str(row["category"]),
                category_name=str(row.get("category_name") or ""),
                prompt_style=str(row["prompt_style"]),
            )
        )
        if cfg.sorry_limit and len(out) >= cfg.sorry_limit:
            break
    if not out:
        raise DataError(f"no SORRY-Bench prompts left in {cfg.sorry} ({language}) after the prompt_styles filter.")
    return out


def benign_prompts(cfg: DatasetsConfig, language: str) -> list[Prompt]:
    if cfg.benign_test_limit == 0:
        return []
    ds = load_split(cfg.benign, language, "test", cfg.revision)
    out = []
    for row in ds:
        messages = [m for m in row["messages"] if m["role"] != "assistant"]
        out.append(
            Prompt(
                uid=f"benign:{language}:{row['id']}",
                kind="benign",
                language=language,
                item_id=str(row["id"]),
                messages=tuple({"role": m["role"], "content": m["content"]} for m in messages),
            )
        )
        if cfg.benign_test_limit and len(out) >= cfg.benign_test_limit:
            break
    return out


def eval_prompts(cfg: DatasetsConfig, languages: list[str]) -> list[Prompt]:
    prompts: list[Prompt] = []
    for lang in languages:
        prompts += sorry_prompts(cfg, lang) + benign_prompts(cfg, lang)
    return prompts


def hash_records(records: list) -> str:
    return stable_hash([r.to_dict() if isinstance(r, Prompt) else r for r in records])
