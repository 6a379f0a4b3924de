"""Dataset cards: huggingface_hub's DatasetCard rendered from cards/templates/dataset_card.md with figures
read from the build (work-dir manifests, QA report, the rows being published), and an offline validator.

Nothing time-, host- or path-dependent goes into a card (no dates, no absolute paths, no cache counters),
so rebuilding a release from the same inputs gives a byte-identical README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import DatasetCard, DatasetCardData

from builders.engines import ENGINES
from builders.select import selection_table
from safedrift.core.errors import DataError
from safedrift.core.hub import data_files_by_split
from safedrift.core.languages import LANGUAGES, SOURCE_LANGUAGE, get_language
from safedrift.core.specs import SAMPLE_SOURCE, SPECS, DatasetSpec
from validation.config import QAStageConfig

TEMPLATE = Path(__file__).parent / "templates" / "dataset_card.md"

# The tag of a card whose rows are the toolkit's demo data (data/sample), and the licence those rows have.
DEMO_TAG = "demo-data"
DEMO_LICENSE = SAMPLE_SOURCE.license
# The banner of a card built without a Hub org: a local release, which a push refuses (cards.push).
LOCAL_BANNER = ("**Local release.** This folder was built without a Hugging Face Hub organisation and has not been "
                "published: load it from the folder (below). Rebuilding with `--hub-org ORG` (`HUB_ORG=…` for make) "
                "names its Hub repository in this card.")
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


def recorded_sources(spec: DatasetSpec, prov: dict) -> list[str]:
    """The source names the build's loader recorded for a dataset (its stats' `rows_per_source`), if any."""
    stats = prov["sources"].get("stats", {}).get(spec.key, {})
    return sorted(stats.get("rows_per_source") or {})


def filter_lines(spec: DatasetSpec, prov: dict, qa_report: dict, cfg: QAStageConfig) -> list[str]:
    """What the build's loader removed (from the sources manifest), then what translation QA removed."""
    lines = list(prov["sources"]["card"][spec.key]["filters"])
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
    packages = manifest.get("engine_packages", {})
    lines = ["| language | engine | model | package version | segments (unique) en→L / L→en |",
             "|---|---|---|---|---|"]
    for lang, label in labels.items():
        if label == "original":
            lines.append(f"| {lang} | — (English source) | — | — | — |")
            continue
        stats = manifest.get("translation", {}).get(f"{dataset}/{lang}", {})
        engine, _, model = label.partition("/")
        package = packages.get(engine)
        version = f"{package} {versions[package]}" if package in versions else "—"
        # Only content-determined counts: memory hits differ between a first build and a rebuild.
        seg = " / ".join(f"{s['segments']} ({s['unique']})" if s else "—"
                         for s in (stats.get("forward"), stats.get("back")))
        lines.append(f"| {lang} | `{engine}` | `{model}` | {version} | {seg} |")
    return "\n".join(lines)


# --- tables and licence text ----------------------------------------------------------------------------

def qa_table(dataset_report: dict) -> str:
    """The card's QA summary: this release's per-language table (validation/report.py), why COMET is empty,
    whether the harm-preserved check ran, and how many rows QA flagged here. What each check tests, the learned bounds and the toolkit's corruption
    benchmark are maintainer-level detail: they stay in qa/report.md, which the card links."""
    from validation.report import harm_note, markdown_table, release_flagged

    notes = [f"- {note}" for note in (comet_note(dataset_report), harm_note(dataset_report),
                                      release_flagged(dataset_report)) if note]
    return "\n".join([markdown_table(dataset_report), *([""] + notes if notes else [])])


def qa_limits() -> list[str]:
    """The card's limit of QA itself: the errors `qa_pass` mostly misses in the toolkit's benchmark."""
    from validation.report import missed_corruptions

    missed = missed_corruptions()
    return [f"`qa_pass = true` is not a guarantee: in the toolkit's corruption benchmark QA caught under half of "
            f"these errors (share caught): {'; '.join(missed)}. Read the rows you rely on."] if missed else []


# Why COMET did not run, as a reader should read it: the recorded reasons are worker messages.
_COMET_CAUSES = (
    ("not in the Hugging Face cache", "its models were not in the local Hugging Face cache and could not be "
                                      "downloaded when the release was built"),
    ("COMET venv was not found", "the COMET environment was not installed where the release was built"),
    ("has no unbabel-comet", "the COMET environment was not installed where the release was built"),
    ("disabled in the config", "it is turned off in the release config (`qa.comet.enabled: off`)"),
    ("timed out", "the COMET scorer ran out of time"),
)


def comet_note(dataset_report: dict) -> str | None:
    """One sentence on the languages COMET did not score and why, or None when it scored every translation."""
    langs: list[str] = []
    causes: list[str] = []
    for lang, r in dataset_report.items():
        if lang == SOURCE_LANGUAGE:
            continue
        comet = r.get("comet") or {}
        reasons = [c["skipped"] for c in comet.values() if isinstance(c, dict) and c.get("skipped")]
        if not reasons:
            continue
        langs.append(lang)
        for reason in reasons:
            cause = next((text for key, text in _COMET_CAUSES if key in reason),
                         "the COMET scorer failed (the reason is recorded in `qa/report.json`)")
            if cause not in causes:
                causes.append(cause)
    if not langs:
        return None
    return (f"COMET scores are empty for {', '.join(f'`{x}`' for x in langs)}: COMET was not run because "
            f"{' and '.join(causes)}.")


def counts_table(counts: dict[str, dict[str, int]]) -> str:
    splits = sorted({s for c in counts.values() for s in c}, key=lambda s: (s != "train", s))
    lines = ["| config | language | " + " | ".join(f"`{s}`" for s in splits) + " | total |",
             "|---|---|" + "---|" * (len(splits) + 1)]
    for lang, c in counts.items():
        cells = " | ".join(str(c.get(s, 0)) for s in splits)
        lines.append(f"| `{lang}` | {get_language(lang).name} | {cells} | {sum(c.values())} |")
    return "\n".join(lines)


def license_text(spec: DatasetSpec, license_: str | list[str], source_counts: dict[str, int],
                 demo: bool = False) -> str:
    if spec.gating is not None and demo:
        schema = spec.demo.schema_of if spec.demo else spec.name
        return (f"`license: {license_}`: the rows are demo prompts written by the safedrift authors for the "
                f"toolkit, released under the toolkit's licence; none comes from {schema}. The repository is "
                f"gated all the same, because every dataset in {schema}'s schema is published gated (see the "
                "access terms).")
    if spec.gating is not None:
        return (f"`license: {license_}`: the prompts are governed by their source's terms (restated in the "
                "access form of this repository), which forbid open redistribution; that is why this "
                f"repository is gated. See {spec.gating.license_link} for the original terms. The translations "
                "add no rights beyond those terms.")
    rows = ["| `source` | licence | rows per language |", "|---|---|---|"]
    for name, n in sorted(source_counts.items()):
        lic = spec.source_license(name)
        known = spec.sources.get(name)
        rows.append(f"| `{name}` | `{lic}` — {known.license_name if known else 'unknown: check the source'} | {n} |")
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


def schema_sources(spec: DatasetSpec) -> list[str]:
    """The spec's public sources whose schema its demo rows follow (DemoText.schema_of, e.g. "SORRY-Bench" ->
    `sorry-bench`; "XSTest" -> `xstest`, `xstest-paul`): demo rows are not theirs, but their schema is."""
    if spec.demo is None:
        return []
    schema = spec.demo.schema_of.lower()
    return [name for name, src in spec.sources.items()
            if src.hub_id is not None and (name == schema or name.startswith(schema + "-"))]


def citation(spec: DatasetSpec, pretty_name: str, repo: str | None, version: str, source_names: list[str]) -> str:
    """This release's BibTeX entry, then every source's (the rows' sources; for demo rows, the dataset whose schema
    they follow), then the works the spec always cites. A local release (no Hub repository) names no URL."""
    key = pretty_name.lower().replace("-", "_").replace(" ", "_")
    year = f"\n  year         = {{{version[:4]}}}," if version[:4].isdigit() and "-" in version else ""
    note = f"Version {version}. Machine-translated with safedrift" + ("" if repo else "; a local build, not "
                                                                      "published on the Hugging Face Hub")
    where = f",\n  howpublished = {{\\url{{https://huggingface.co/datasets/{repo}}}}}" if repo else ""
    own = (f"@misc{{{key},\n  title        = {{{pretty_name}}},\n  author       = {{{{safedrift contributors}}}},"
           f"{year}\n  note         = {{{note}}}{where}\n}}")
    refs = [spec.sources[n].citation for n in source_names if n in spec.sources]
    return "\n\n".join(dict.fromkeys([own, *(r for r in refs if r), *spec.citations]))


# --- the card ---------------------------------------------------------------------------------------------

def dataset_license(spec: DatasetSpec, source_names: list[str]) -> str | list[str]:
    """The licence(s) of a release: the spec's, or those of its rows' sources (a sorted list when they differ)."""
    if spec.license:
        return spec.license
    licenses = sorted({spec.source_license(n) for n in source_names})
    return licenses[0] if len(licenses) == 1 else licenses


def built_from_demo(spec: DatasetSpec, provenance: dict) -> bool:
    """The build read the toolkit's demo data for this dataset (its loader recorded `demo` in the sources
    manifest: a `demo: true` source, or a file of the shipped data/sample folder)."""
    return bool(provenance["sources"].get("stats", {}).get(spec.key, {}).get("demo"))


def build_card(*, spec: DatasetSpec, cfg: QAStageConfig, repo: str | None, counts: dict[str, dict[str, int]],
               files: dict[str, dict[str, str]], qa_report: dict, provenance: dict,
               source_counts: dict[str, int]) -> DatasetCard:
    """The card of one dataset from the figures of its build.

    counts: lang -> split -> rows written; files: lang -> split -> data_files glob; qa_report: lang -> the
    QA stage's per-language report; source_counts: source name -> rows per language (datasets whose rows
    name their source); otherwise every known source of the spec that the build used. repo: the Hub
    repository "org/name", or None for a local release (the card says it is local and names no repository).
    """
    langs = list(files)
    pretty_name = cfg.published_name(spec)
    demo = built_from_demo(spec, provenance)
    names = sorted(source_counts) or list(spec.sources)
    license_ = dataset_license(spec, names)
    # Demo rows are ours, under the toolkit's licence, and name no public dataset as their origin.
    hub_sources = [] if demo else [spec.sources[n].hub_id for n in names
                                   if n in spec.sources and spec.sources[n].hub_id]
    extra: dict = {}
    if spec.gating is not None and demo:
        license_ = DEMO_LICENSE
        schema = spec.demo.schema_of if spec.demo else spec.name
        # A field that asks to accept the public dataset's own terms does not apply to rows that are not its.
        extra = {"extra_gated_prompt": spec.gating.demo_terms or spec.gating.terms,
                 "extra_gated_fields": {k: v for k, v in spec.gating.fields.items() if schema not in k}}
    elif spec.gating is not None:
        extra = {"license_name": spec.gating.license_name, "license_link": spec.gating.license_link,
                 "extra_gated_prompt": spec.gating.terms, "extra_gated_fields": dict(spec.gating.fields)}
    data = DatasetCardData(
        pretty_name=pretty_name,
        language=langs,
        license=license_,
        multilinguality="translation",
        annotations_creators=["machine-generated"],
        language_creators=["machine-generated"],
        # Our own sample data is an original dataset; Hub sources are extended (translated) here.
        source_datasets=[f"extended|{h}" for h in hub_sources] or ["original"],
        task_categories=list(spec.task_categories),
        size_categories=size_category(sum(sum(c.values()) for c in counts.values())),
        tags=list(spec.tags) + ([DEMO_TAG] if demo else []),
        version=cfg.version,
        configs=configs_yaml(files),
        **extra,
    )
    first: dict = next(iter(qa_report.values()), {})
    labels = translator_labels(spec.key, langs, provenance)
    engines = sorted({label.partition("/")[0] for label in labels.values() if label != "original"})
    card = DatasetCard.from_template(
        data,
        template_path=str(TEMPLATE),
        pretty_name=pretty_name,
        gated=spec.gating is not None,
        gated_banner=((spec.gating.demo_banner or spec.gating.banner) if demo else spec.gating.banner)
        if spec.gating else "",
        demo=demo,
        demo_schema=spec.demo.schema_of if spec.demo else spec.name,
        summary=spec.demo.summary if demo and spec.demo else spec.summary,
        role=spec.card.role,
        splits=spec.card.splits,
        columns=list(spec.card.columns),
        usage=spec.card.usage,
        intended_use=list(spec.card.intended_use),
        out_of_scope=list(spec.card.out_of_scope),
        version=cfg.version,
        repo=repo,
        local_banner=LOCAL_BANNER,
        n_languages=len(langs),
        language_names=", ".join(f"{get_language(x).name} (`{x}`)" for x in langs),
        counts_table=counts_table(counts),
        source_lines=provenance["sources"]["card"][spec.key]["sources"],
        translator_table=translator_table(spec.key, labels, provenance),
        selection_table=selection_table(provenance["translated"]),
        filter_lines=filter_lines(spec, provenance, qa_report, cfg),
        qa_table=qa_table(qa_report),
        data_docs=cfg.qa.gate.enabled,
        chrf_signature=first.get("corpus_chrf_signature"),
        qa_limits=qa_limits(),
        example_lang=next((x for x in langs if x != SOURCE_LANGUAGE), langs[0]),
        license_text=license_text(spec, license_, source_counts, demo),
        engine_notes=[f"`{e}`: {ENGINES.get(e).card_note}" for e in engines if e in ENGINES],
        citation=citation(spec, pretty_name, repo, cfg.version, schema_sources(spec) if demo else names),
    )
    return card


# --- offline validation -------------------------------------------------------------------------------------

def gated_spec_of(card: DatasetCard) -> DatasetSpec | None:
    """The gated dataset a card describes (by its tags or source datasets), if any: it may only be
    published gated."""
    data = card.data.to_dict()
    tags = set(data.get("tags") or [])
    sources = " ".join(str(s).lower() for s in data.get("source_datasets") or [])
    for spec in SPECS.values():
        if spec.gating is None:
            continue
        if spec.gating.tag in tags or spec.gating.tag in sources:
            return spec
    return None


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
    gated = gated_spec_of(card)
    if gated is not None:
        # Demo rows in a gated schema carry the toolkit's licence, and are gated all the same.
        license_ = DEMO_LICENSE if DEMO_TAG in (data.get("tags") or []) else gated.license
        if data.get("license") != license_ or not data.get("extra_gated_prompt") or not data.get("extra_gated_fields"):
            raise DataError(f"a card of {gated.name} data must have `license: {license_}`, "
                            "`extra_gated_prompt` and `extra_gated_fields`; rebuild it with cards.card.build_card.")
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
    """data_files of a card config -> split -> patterns; none at all, or a split without a path, is an error."""
    out = data_files_by_split(spec)
    if not out or not all(out.values()):
        raise DataError("a config in the dataset card has no data_files; rebuild the release.")
    return out
