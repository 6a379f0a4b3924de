"""SORRY-Bench: its 44 categories and a loader for question.jsonl (local file or the gated Hub dataset)."""

from __future__ import annotations

import os
from pathlib import Path

from builders.config import SorryBenchConfig
from builders.sources import LoadedDataset, is_demo, read_jsonl, where_from
from safedrift.core.errors import ConfigError, DataError, short_reason
from safedrift.core.files import MAX_TEXT_CHARS
from safedrift.core.locations import input_path
from safedrift.core.specs import SORRY_BENCH

SORRY_BENCH_SOURCE = SORRY_BENCH.sources["sorry-bench"]
SORRY_BENCH_FILE = "question.jsonl"

SORRY_BENCH_CATEGORIES: dict[str, str] = {
    "1": "Personal Insulting Words",
    "2": "Social-group Insulting Words",
    "3": "Threatening Words",
    "4": "Lewd and Obscene Words",
    "5": "Libelous Words",
    "6": "Self-Harm",
    "7": "Violent Crimes",
    "8": "Harassment",
    "9": "Sexual Crimes",
    "10": "Property Crimes",
    "11": "Public Order Crimes",
    "12": "General Advice for System Intrusion",
    "13": "Malware Code Generation",
    "14": "Fraud, Scams, and Deception",
    "15": "Financial Crimes",
    "16": "Intellectual Property Infringement",
    "17": "Personal Identifiable Information Violations",
    "18": "Illegal Crafting, Manufacturing, and Distribution",
    "19": "Terrorism",
    "20": "Child-related Crimes",
    "21": "Animal-related Crimes",
    "22": "Environmental Crimes",
    "23": "Evasion of Law Enforcement",
    "24": "Human Elimination & World Domination",
    "25": "Advice on Adult Content",
    "26": "(Sexual) Explicit Content Generation",
    "27": "(Non-sexual) Explicit Content Generation",
    "28": "Fake News Generation",
    "29": "False Advertising",
    "30": "Advice on Discrimination Behaviors",
    "31": "Military Use",
    "32": "Political Belief Promotion",
    "33": "Ethical Belief Promotion",
    "34": "Religion Promotion (Missionary)",
    "35": "Social Stereotype Promotion",
    "36": "Extremist Content Promotion",
    "37": "Conspiracy Theories Promotion",
    "38": "False Common Knowledge Promotion",
    "39": "Harmful & Unhealthy Behaviors Promotion",
    "40": "Medical Advice",
    "41": "Financial Advice",
    "42": "Legal Consulting Advice",
    "43": "Governance Decision Advice",
    "44": "Dangerous Machinery Operation Advice",
}


def hub_location(cfg: SorryBenchConfig) -> tuple[str, str, str]:
    """(Hub id, revision, file) the questions come from when no local `path:` is set."""
    return (cfg.hub_id or SORRY_BENCH_SOURCE.hub_id or "", cfg.revision or SORRY_BENCH_SOURCE.revision,
            cfg.filename or SORRY_BENCH_FILE)


def load_sorry_bench(spec: SorryBenchConfig) -> list[dict]:
    """Rows {"question_id", "category", "category_name", "prompt_style", "turns"} of one prompt style,
    sorted by question_id."""
    path = input_path(spec.path) if spec.path else download_questions(spec)
    rows: list[dict] = []
    styles: set[str] = set()
    first_seen: dict[int, str] = {}
    for where, obj in read_jsonl(path, "SORRY-Bench question"):
        row = _validate(where, obj)
        styles.add(row["prompt_style"])
        if row["prompt_style"] != spec.prompt_style:
            continue
        if row["question_id"] in first_seen:
            raise DataError(
                f"{where}: question_id {row['question_id']} already appears at {first_seen[row['question_id']]} "
                f"with prompt_style {spec.prompt_style!r}."
            )
        first_seen[row["question_id"]] = where
        rows.append(row)
    if not rows:
        present = ", ".join(sorted(styles)) or "none"
        raise DataError(
            f"{path} has no prompts with prompt_style {spec.prompt_style!r} (present: {present}); "
            "set `prompt_style:` to one of those."
        )
    return sorted(rows, key=lambda r: r["question_id"])


def download_questions(spec: SorryBenchConfig) -> Path:
    """Download the gated question file; without a token fail before touching the network."""
    import huggingface_hub

    hub_id, revision, filename = hub_location(spec)
    token = os.environ.get("HF_TOKEN") or huggingface_hub.get_token()
    terms = f"https://huggingface.co/datasets/{hub_id}"
    if not token:
        raise DataError(
            f"{hub_id} is gated: accept its terms at {terms} and set HF_TOKEN "
            "(or use a local question.jsonl via `path:`)."
        )
    try:
        local = huggingface_hub.hf_hub_download(
            hub_id, filename, repo_type="dataset", revision=revision, token=token
        )
    except huggingface_hub.errors.GatedRepoError:
        raise DataError(
            f"{hub_id} is gated and this HF_TOKEN has no access yet: accept its terms at {terms} "
            "with the same account (or use a local question.jsonl via `path:`)."
        ) from None
    except (OSError, huggingface_hub.errors.EntryNotFoundError, ValueError) as exc:
        raise DataError(
            f"could not download {filename} from {hub_id}@{revision} "
            f"({short_reason(exc, token)}); "
            "run online or use a local question.jsonl via `path:`."
        ) from None
    return Path(local)


def _validate(where: str, obj: dict) -> dict:
    for key in ("question_id", "category", "turns", "prompt_style"):
        if key not in obj:
            raise DataError(f"{where}: missing field {key!r}.")
    qid = obj["question_id"]
    if isinstance(qid, bool) or not isinstance(qid, int):
        raise DataError(f"{where}: question_id must be an integer, got {qid!r}.")
    category = obj["category"]
    # SORRY-Bench stores category ids as strings; accept integers too.
    category = str(category) if isinstance(category, int) and not isinstance(category, bool) else category
    if category not in SORRY_BENCH_CATEGORIES:
        raise DataError(f"{where}: unknown category {obj['category']!r}; SORRY-Bench categories are '1'..'44'.")
    style = obj["prompt_style"]
    if not isinstance(style, str) or not style:
        raise DataError(f"{where}: prompt_style must be a non-empty string, got {style!r}.")
    turns = obj["turns"]
    if not isinstance(turns, list) or not turns:
        raise DataError(f"{where}: turns must be a non-empty list of prompts.")
    for turn in turns:
        if not isinstance(turn, str) or not turn.strip():
            raise DataError(f"{where}: every turn must be a non-empty string.")
        if len(turn) > MAX_TEXT_CHARS:
            raise DataError(f"{where}: a turn is {len(turn)} characters, over the {MAX_TEXT_CHARS} limit.")
    return {
        "question_id": qid,
        "category": category,
        "category_name": SORRY_BENCH_CATEGORIES[category],
        "prompt_style": style,
        "turns": list(turns),
    }


def load_sorry_dataset(cfg: SorryBenchConfig) -> LoadedDataset:
    """One prompt style of SORRY-Bench (optionally the first `limit` prompts), all in the `test` split."""
    rows = load_sorry_bench(cfg)
    if cfg.limit is not None:
        rows = rows[: cfg.limit]
    if not rows:
        raise ConfigError(f"no SORRY-Bench prompts with prompt_style {cfg.prompt_style!r}.")
    for row in rows:
        row["split"] = "test"
    hub_id, revision, _ = hub_location(cfg)
    demo = is_demo(cfg.path, cfg.demo)
    what = "Demo prompts written for the safedrift toolkit, not SORRY-Bench's" if demo else "SORRY-Bench prompts"
    line = f"{what}: {where_from(cfg.path, hub_id, revision)}"
    if cfg.path:
        line += " in SORRY-Bench's `question.jsonl` format"
    filters = [f"Prompt style: only rows with `prompt_style == \"{cfg.prompt_style}\"` (the unmutated prompts) "
               f"kept: **{len(rows)}** prompts; the other styles are SORRY-Bench's own rewrites and "
               "translations, not used here."]
    if cfg.limit is not None:
        filters.append(f"Limit: only the first {cfg.limit} prompts (a quick build).")
    return LoadedDataset(rows, {"rows": len(rows), "demo": demo}, [line + f"; {len(rows)} prompts used."], filters)
