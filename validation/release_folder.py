"""Reading a Hub-layout release folder (ours, or a downloaded snapshot): its files, rows, dataset and version."""

from __future__ import annotations

import json
from pathlib import Path

from safedrift.core.errors import DataError
from safedrift.core.hub import DATA_DIR, release_shards
from safedrift.core.languages import SOURCE_LANGUAGE, check_languages
from safedrift.core.specs import DatasetSpec, spec_for_columns


def release_folders(paths: list[Path]) -> list[Path]:
    """Dataset folders from the given paths: a dataset folder itself, or a release root holding several."""
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise DataError(f"release folder not found: {path}.")
        if (path / "README.md").is_file():
            out.append(path)
            continue
        # Hidden folders are a crashed run's staging or old copies (cards.release recovers them), never a release.
        found = sorted(p.parent for p in path.glob("*/README.md")
                       if not p.parent.name.startswith(".") and (p.parent / DATA_DIR).is_dir())
        if not found:
            raise DataError(f"{path} holds no release folder (README.md + data/<lang>/*.parquet).")
        out.extend(found)
    return out


def dataset_of(folder: Path) -> DatasetSpec:
    """Which of our datasets a folder holds, from its English parquet columns."""
    import pyarrow.parquet as pq

    shards = release_shards(folder).get(SOURCE_LANGUAGE)
    if not (folder / "README.md").is_file() or not shards:
        raise DataError(f"{folder} is not a release folder: it needs README.md and data/{SOURCE_LANGUAGE}/*.parquet.")
    columns = pq.read_schema(shards[0].path).names
    spec = spec_for_columns(columns)
    if spec is None:
        raise DataError(f"{folder}: the parquet columns match no known dataset ({', '.join(sorted(columns))}).")
    return spec


def read_release_rows(folder: Path) -> dict[str, list[dict]]:
    """language -> rows (with their `split`, from the Hub file name) of a release folder."""
    import pyarrow.parquet as pq

    rows: dict[str, list[dict]] = {}
    for lang, shards in release_shards(folder).items():
        for shard in shards:
            rows.setdefault(lang, []).extend(dict(r, split=shard.split) for r in pq.read_table(shard.path).to_pylist())
    check_languages(list(rows))
    if SOURCE_LANGUAGE not in rows:
        raise DataError(f"{folder} has no `{SOURCE_LANGUAGE}` config: the English source is needed to score "
                        "the translations against.")
    return rows


def stated_versions(folder: Path) -> dict[str, str]:
    """The version a release folder states, by where it says so: its card metadata, its qa/report.json."""
    from huggingface_hub import DatasetCard

    stated = {"card": DatasetCard.load(folder / "README.md").data.get("version")}
    report = folder / "qa" / "report.json"
    if report.is_file():
        stated["qa/report.json"] = json.loads(report.read_text(encoding="utf-8")).get("version")
    return {where: str(v) for where, v in stated.items() if v is not None}
