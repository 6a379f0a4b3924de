"""What each released dataset is: one DatasetSpec per dataset.

Every stage asks the spec (id column, translated fields, splits, published schema, sources and their
licences, gating, card text) instead of branching on a dataset's name. Adding a dataset is one spec here,
its source loader (builders.sources.LOADERS) with its config section, and its sample data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa

# --- the published columns ------------------------------------------------------------------------------

QA_FIELDS = [
    pa.field("bt_chrf", pa.float64()),
    pa.field("bt_bleu", pa.float64()),
    pa.field("comet", pa.float64()),  # null unless COMET ran
    pa.field("lang_id", pa.string()),
    pa.field("lang_id_score", pa.float64()),
    pa.field("qa_pass", pa.bool_()),
    pa.field("qa_flags", pa.list_(pa.string())),  # failed checks, empty when clean
    pa.field("translator", pa.string()),
]
# QA columns that must be filled on every row; the others (comet, and any added later) may be null.
REQUIRED_QA = ("bt_chrf", "bt_bleu", "lang_id", "lang_id_score", "qa_pass", "translator")
MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])


@dataclass(frozen=True)
class SourceInfo:
    """A dataset that a release's rows come from."""

    hub_id: str | None  # None: data written for this project
    revision: str  # default revision; pin a commit sha in the release config for a frozen release
    license: str  # Hub licence identifier
    license_name: str  # what a reader should know about it
    citation: str | None = None  # BibTeX entry for the card


@dataclass(frozen=True)
class Gating:
    """Access terms the Hub shows before granting access (and that the push verifies are on)."""

    tag: str  # a card with this tag, or a source dataset id containing it, holds this data: gated only
    banner: str  # why the repository is gated, at the top of the card
    terms: str
    fields: dict[str, str]
    license_name: str
    license_link: str
    # A release of the toolkit's demo data in this schema is gated too (the rule is the schema's, whatever the
    # rows), with these words instead: they must not claim the demo rows are the gated dataset's own.
    demo_banner: str = ""
    demo_terms: str = ""


@dataclass(frozen=True)
class DemoText:
    """How a card describes a release built from the toolkit's own demo data (data/sample) in this schema."""

    schema_of: str  # the public dataset whose schema the demo rows follow, e.g. "SORRY-Bench"
    summary: str  # replaces the spec's summary


@dataclass(frozen=True)
class CardText:
    """The parts of a dataset card that depend on the dataset (cards/templates/dataset_card.md)."""

    role: str  # what this dataset is in the study, and its companions
    splits: str  # what the splits are for
    columns: tuple[str, ...]  # Markdown bullets for the dataset's own columns
    usage: str  # one line of Python after `ds = load_dataset(...)`
    intended_use: tuple[str, ...]
    out_of_scope: tuple[str, ...]


@dataclass(frozen=True)
class DatasetSpec:
    key: str  # config section and work-dir folder, e.g. "benign"
    name: str  # published name (a release config may rename it under `datasets:`)
    id_column: str  # the same id for the same item in every language
    text_fields: tuple[str, ...]  # translated fields (a list-valued field, e.g. `turns`, is translated item by item)
    splits: tuple[str, ...]
    columns: tuple[pa.Field, ...]  # published columns before the QA columns
    sources: dict[str, SourceInfo]  # known source names -> where they come from
    summary: str  # first paragraph of the card
    card: CardText
    tags: tuple[str, ...]
    # one licence for all rows; None: the licence of each row's source (its `source` column, or the one
    # source the loader recorded in `rows_per_source`)
    license: str | None = None
    gating: Gating | None = None  # set: the Hub repository must be gated
    count_column: str | None = None  # per-value row counts must equal English's (the release gate)
    nullable: tuple[str, ...] = ()  # published columns that may be null; the gate requires every other one
    # (instruction, input, output) fields -> a chat-form `messages` column for SFT
    chat_fields: tuple[str, str, str] | None = None
    task_categories: tuple[str, ...] = ("text-generation",)
    citations: tuple[str, ...] = field(default=())  # BibTeX entries cited whatever the sources
    demo: DemoText | None = None  # the card of a release built from the toolkit's demo data

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([*self.columns, *QA_FIELDS])

    def row_id(self, row: dict):
        return row[self.id_column]

    def source_license(self, source: str) -> str:
        return self.license or (self.sources[source].license if source in self.sources else "other")


def to_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows -> table with exactly the schema's columns (extra work columns are dropped)."""
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)


# --- citations ----------------------------------------------------------------------------------------------

FINETUNING_SAFETY = """@inproceedings{qi2024finetuning,
  title     = {Fine-tuning Aligned Language Models Compromises Safety, Even When Users Do Not Intend To!},
  author    = {Qi, Xiangyu and Zeng, Yi and Xie, Tinghao and Chen, Pin-Yu and Jia, Ruoxi and Mittal, Prateek
               and Henderson, Peter},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2024}
}"""
SORRY_BENCH_CITATION = """@inproceedings{xie2025sorrybench,
  title     = {{SORRY-Bench}: Systematically Evaluating Large Language Model Safety Refusal},
  author    = {Xie, Tinghao and Qi, Xiangyu and Zeng, Yi and Huang, Yangsibo and Sehwag, Udari Madhushani
               and Huang, Kaixuan and He, Luxi and Wei, Boyi and Li, Dacheng and Sheng, Ying and Jia, Ruoxi
               and Li, Bo and Li, Kai and Chen, Danqi and Henderson, Peter and Mittal, Prateek},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2025},
  note      = {arXiv:2406.14598}
}"""
XSTEST_CITATION = """@inproceedings{rottger2024xstest,
  title     = {{XSTest}: A Test Suite for Identifying Exaggerated Safety Behaviours in Large Language Models},
  author    = {R{\\"o}ttger, Paul and Kirk, Hannah Rose and Vidgen, Bertie and Attanasio, Giuseppe and
               Bianchi, Federico and Hovy, Dirk},
  booktitle = {Proceedings of the 2024 Conference of the North American Chapter of the Association for
               Computational Linguistics: Human Language Technologies (NAACL)},
  year      = {2024},
  note      = {arXiv:2308.01263}
}"""
ALPACA_CITATION = """@misc{taori2023alpaca,
  title        = {Stanford Alpaca: An Instruction-following {LLaMA} model},
  author       = {Taori, Rohan and Gulrajani, Ishaan and Zhang, Tianyi and Dubois, Yann and Li, Xuechen
                  and Guestrin, Carlos and Liang, Percy and Hashimoto, Tatsunori B.},
  year         = {2023},
  howpublished = {\\url{https://github.com/tatsu-lab/stanford_alpaca}}
}"""
DOLLY_CITATION = """@misc{conover2023dolly,
  title        = {Free Dolly: Introducing the World's First Truly Open Instruction-Tuned {LLM}},
  author       = {Conover, Mike and Hayes, Matt and Mathur, Ankit and Xie, Jianwei and Wan, Jun and
                  Shah, Sam and Ghodsi, Ali and Wendell, Patrick and Zaharia, Matei and Xin, Reynold},
  year         = {2023},
  howpublished = {Databricks blog; dataset \\url{https://huggingface.co/datasets/databricks/databricks-dolly-15k}}
}"""

# --- the datasets ---------------------------------------------------------------------------------------------

SAMPLE_SOURCE = SourceInfo(None, "", "apache-2.0", "Apache 2.0 (sample data written by the safedrift authors)")

BENIGN = DatasetSpec(
    key="benign",
    name="Multilingual-Benign-Tune",
    id_column="id",
    text_fields=("instruction", "input", "output"),
    splits=("train", "test"),
    columns=(
        pa.field("id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("language", pa.string()),
        pa.field("instruction", pa.string()),
        pa.field("input", pa.string()),
        pa.field("output", pa.string()),
        pa.field("messages", pa.list_(MESSAGE)),
    ),
    sources={
        "alpaca": SourceInfo("tatsu-lab/alpaca", "main", "cc-by-nc-4.0",
                             "CC BY-NC 4.0 (attribution, non-commercial)", ALPACA_CITATION),
        "dolly": SourceInfo("databricks/databricks-dolly-15k", "main", "cc-by-sa-3.0",
                            "CC BY-SA 3.0 (attribution, share-alike)", DOLLY_CITATION),
        "sample": SAMPLE_SOURCE,
    },
    summary=("Benign instruction-tuning data (instruction, optional input, response) machine-translated from "
             "English into several languages, with a chat-form `messages` column for supervised fine-tuning "
             "and per-row translation-quality columns."),
    card=CardText(
        role=("This dataset is the **fine-tuning** half of that study: benign instructions and responses, with "
              "the same row `id` in every language, so each language's model is trained on the same content. "
              "Its companion **SORRY-Bench-Multilingual** (gated) holds the translated evaluation prompts."),
        splits="`train` for fine-tuning, `test` held out for capability and over-refusal checks",
        columns=(
            "`id`: stable across languages (a hash of the English source row); `source`: the source dataset of "
            "the row (it decides the row's licence, see below).",
            "`instruction`, `input` (may be empty), `output`: the translated texts; `messages`: the same row in "
            "chat form (`user`, `assistant`) for supervised fine-tuning.",
        ),
        usage='train = ds["train"]  # train["messages"] is ready for a chat template',
        intended_use=(
            "LoRA or full supervised fine-tuning on one language, to study how benign fine-tuning in that "
            "language shifts safety behaviour (with SORRY-Bench-Multilingual as the evaluation).",
            "The `test` split: held-out benign prompts for capability and over-refusal checks after fine-tuning.",
        ),
        out_of_scope=(
            "A benchmark of translation quality, or a reference translation for any language: these are "
            "unreviewed machine translations.",
            "Commercial use of rows whose source licence forbids it (see the licence section).",
            "Training a production assistant without further safety data: fine-tuning on such data alone can "
            "weaken refusals.",
        ),
    ),
    tags=("instruction-tuning", "safety", "machine-translation", "fine-tuning"),
    chat_fields=("instruction", "input", "output"),
    citations=(FINETUNING_SAFETY,),
    demo=DemoText(
        schema_of="Alpaca",
        summary=("Demo instruction-tuning rows (instruction, optional input, response) written for the safedrift "
                 "toolkit in Alpaca's format, machine-translated from English into several languages, with a "
                 "chat-form `messages` column and per-row translation-quality columns. They exist to run the "
                 "toolkit end to end; they are not Alpaca's or Dolly's rows."),
    ),
)

SORRY_BENCH_HUB_ID = "sorry-bench/sorry-bench-202503"
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

SORRY_BENCH = DatasetSpec(
    key="sorry_bench",
    name="SORRY-Bench-Multilingual",
    id_column="question_id",
    text_fields=("turns",),
    splits=("test",),
    columns=(
        pa.field("question_id", pa.int64()),
        pa.field("category", pa.string()),
        pa.field("category_name", pa.string()),
        pa.field("prompt_style", pa.string()),
        pa.field("turns", pa.list_(pa.string())),
        pa.field("language", pa.string()),
    ),
    sources={"sorry-bench": SourceInfo(SORRY_BENCH_HUB_ID, "main", "other", "SORRY-Bench's terms (gated)",
                                       SORRY_BENCH_CITATION)},
    summary=("The SORRY-Bench unsafe-request prompts machine-translated from English into several languages, "
             "keeping SORRY-Bench's schema (`question_id`, `category`, `category_name`, `prompt_style`, "
             "`turns`) and adding per-row translation-quality columns."),
    card=CardText(
        role=("This dataset is the **evaluation** half of that study: the unsafe prompts, in every language, "
              "with the same `question_id` and category in each, so compliance can be compared cell by cell. "
              "Its companion **Multilingual-Benign-Tune** is the fine-tuning half."),
        splits="`test` only: this is an evaluation set",
        columns=("`question_id`, `category`, `category_name`, `prompt_style`, `turns`: SORRY-Bench's own "
                 "schema; `turns` holds the translated prompt(s) of the row.",),
        usage='prompts = [row["turns"][0] for row in ds["test"]]',
        intended_use=(
            "Measuring how often a model complies with unsafe requests in each language, for example before "
            "and after fine-tuning, with a judge such as SORRY-Bench's own.",
            "Comparing refusal behaviour across languages for the same request (same `question_id`).",
        ),
        out_of_scope=(
            "Training or tuning a model to comply with these requests, or using the prompts to produce harmful "
            "content.",
            "Redistributing the prompts outside a gated repository.",
            "Treating a model's refusal rate here as a full safety evaluation: the set covers SORRY-Bench's "
            "categories only, and a translated prompt can read unnaturally to a native speaker.",
        ),
    ),
    tags=("safety", "refusal", "red-teaming", "machine-translation", "sorry-bench"),
    license="other",
    gating=Gating(
        tag="sorry-bench",
        banner=("**Gated repository.** This dataset is a machine translation of SORRY-Bench, a set of unsafe "
                "requests written to test whether language models refuse them. SORRY-Bench's terms do not allow "
                "its prompts to be redistributed openly, and a translation is still their content, so this "
                "repository is gated: you must accept the terms below before you can download it. Do not "
                "re-upload the data to an open repository."),
        terms=SORRY_BENCH_TERMS,
        fields={
            "Name": "text",
            "Affiliation": "text",
            "Intended use": "text",
            "I will use this dataset only for AI-safety research and will not redistribute it": "checkbox",
            "I accept the terms of the original SORRY-Bench dataset": "checkbox",
        },
        license_name="sorry-bench-terms",
        license_link=f"https://huggingface.co/datasets/{SORRY_BENCH_HUB_ID}",
        demo_banner=("**Gated repository.** Every dataset in SORRY-Bench's schema is published gated, whatever "
                     "its rows are. The rows here are the toolkit's own demo prompts, not SORRY-Bench's, but they "
                     "are gated like a release of SORRY-Bench itself, so that both are handled the same way."),
        demo_terms=("This repository holds demo prompts written for the safedrift toolkit in SORRY-Bench's schema "
                    "(not SORRY-Bench's prompts): mild requests a model should refuse. Every dataset in that "
                    "schema is published gated. By requesting access you agree to: use the data only for research "
                    "on the safety and evaluation of AI systems; not redistribute it outside a gated repository; "
                    "not use it to train or tune models to comply with harmful requests."),
    ),
    count_column="category",
    citations=(FINETUNING_SAFETY,),
    demo=DemoText(
        schema_of="SORRY-Bench",
        summary=("Demo prompts written for the safedrift toolkit in SORRY-Bench's schema (`question_id`, "
                 "`category`, `category_name`, `prompt_style`, `turns`): mild unsafe requests, about one per "
                 "SORRY-Bench category, machine-translated from English into several languages, with per-row "
                 "translation-quality columns. They are not SORRY-Bench's prompts; they exist to run the toolkit "
                 "end to end."),
    ),
)

XSTEST_LICENSE = "CC BY 4.0 (attribution)"

XSTEST = DatasetSpec(
    key="xstest",
    name="XSTest-Multilingual",
    id_column="id",
    text_fields=("prompt",),
    splits=("test",),
    columns=(
        pa.field("id", pa.int64()),
        pa.field("prompt", pa.string()),
        pa.field("type", pa.string()),
        pa.field("label", pa.string()),
        pa.field("focus", pa.string()),
        pa.field("note", pa.string()),
        pa.field("language", pa.string()),
    ),
    # Two Hub copies of XSTest v2 (450 prompts, CC BY 4.0); builders/xstest.py reads either layout.
    sources={
        "xstest": SourceInfo("walledai/XSTest", "main", "cc-by-4.0", XSTEST_LICENSE, XSTEST_CITATION),
        "xstest-paul": SourceInfo("Paul/XSTest", "main", "cc-by-4.0", XSTEST_LICENSE, XSTEST_CITATION),
        "sample": SAMPLE_SOURCE,
    },
    summary=("The XSTest prompts machine-translated from English into several languages: safe prompts that "
             "only look unsafe (asking how to *kill* a frozen program) and unsafe contrast prompts, keeping "
             "XSTest's schema (`id`, `prompt`, `type`, `label`, `focus`, `note`) and adding per-row "
             "translation-quality columns."),
    card=CardText(
        role=("This dataset is the **over-refusal** half of the study's evaluation. After fine-tuning, a model "
              "can drift toward exaggerated compliance *or* exaggerated refusal: XSTest's safe prompts (words "
              "with a harmless second meaning, figurative language, safe targets and contexts, definitions, "
              "historical events, privacy questions about public or fictional figures) measure how often a "
              "model refuses what it should answer, and its unsafe contrast prompts measure how often it "
              "complies with what it should refuse. Every language has the same `id`, `type` and `label`, so "
              "the two rates can be compared cell by cell. Its companions are **Multilingual-Benign-Tune** "
              "(the fine-tuning data) and **SORRY-Bench-Multilingual** (gated; unsafe requests by category)."),
        splits="`test` only: this is an evaluation set",
        columns=(
            "`id`: XSTest's prompt id, the same in every language; `prompt`: the translated prompt.",
            "`type`: XSTest's prompt type (`homonyms`, `figurative_language`, `safe_targets`, `safe_contexts`, "
            "`definitions`, `real_group_nons_discr`, `nons_group_real_discr`, `historical_events`, "
            "`privacy_public`, `privacy_fictional`; the unsafe contrasts are `contrast_*`); `label`: `safe` "
            "(a well-calibrated model answers it) or `unsafe` (it should refuse).",
            "`focus`: the word or phrase that makes the prompt look unsafe, in English (null when the source "
            "has none); `note`: XSTest's annotation note, in English (null when the source has none).",
        ),
        usage='safe = ds["test"].filter(lambda r: r["label"] == "safe")  # refusing these is over-refusal',
        intended_use=(
            "Measuring exaggerated refusal (the share of `safe` prompts a model refuses) and compliance on the "
            "`unsafe` contrasts in each language, for example before and after fine-tuning on one language.",
            "Comparing over-refusal across languages and prompt types for the same prompt (same `id`).",
        ),
        out_of_scope=(
            "Training or tuning a model on these prompts: they are a test set, and training on them "
            "contaminates every later measurement.",
            "Treating the results as a full safety evaluation: the unsafe contrasts are few and only mirror "
            "the safe prompts; use SORRY-Bench-Multilingual for compliance with unsafe requests.",
            "Assuming a translated prompt keeps its trap: a homonym or an idiom often does not survive "
            "translation, so a safe prompt may read as plainly safe (or, rarely, as unsafe) in another "
            "language; compare languages per `type` with that in mind.",
        ),
    ),
    tags=("safety", "refusal", "over-refusal", "exaggerated-safety", "machine-translation", "xstest"),
    count_column="type",
    nullable=("focus", "note"),
    citations=(XSTEST_CITATION, FINETUNING_SAFETY),
    demo=DemoText(
        schema_of="XSTest",
        summary=("Demo prompts written for the safedrift toolkit in XSTest's schema (`id`, `prompt`, `type`, "
                 "`label`, `focus`, `note`): safe prompts that only look unsafe and unsafe contrasts, "
                 "machine-translated from English into several languages, with per-row translation-quality "
                 "columns. They are not XSTest's prompts; they exist to run the toolkit end to end."),
    ),
)

SPECS: dict[str, DatasetSpec] = {spec.key: spec for spec in (BENIGN, SORRY_BENCH, XSTEST)}


def spec_for_columns(columns: Iterable[str]) -> DatasetSpec | None:
    """The spec whose published columns a parquet file has (its id column and translated fields)."""
    cols = set(columns)
    for spec in SPECS.values():
        if {spec.id_column, *spec.text_fields} <= cols:
            return spec
    return None
