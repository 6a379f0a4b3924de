"""Dataset cards built with huggingface_hub's DatasetCard / DatasetCardData."""

from __future__ import annotations

from huggingface_hub import DatasetCard, DatasetCardData

from builders.languages import get_language

SOURCE_LICENSES = {"alpaca": "cc-by-nc-4.0", "dolly": "cc-by-sa-3.0", "sample": "apache-2.0"}
SOURCE_DATASETS = {"alpaca": "tatsu-lab/alpaca", "dolly": "databricks/databricks-dolly-15k"}
SORRY_BENCH_TERMS = (
    "SORRY-Bench-Multilingual is a machine translation of SORRY-Bench, whose terms forbid redistribution. "
    "By requesting access you agree to SORRY-Bench's terms of use: use the data only for research on "
    "AI safety, do not redistribute it, and do not use it to train models to produce harmful content."
)


def size_category(n: int) -> str:
    for bound, label in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]:
        if n < bound:
            return label
    return "n>1M"


def configs_yaml(files: dict[str, dict[str, str]]) -> list[dict]:
    """files: lang -> split -> glob path; one `configs:` entry per language."""
    return [
        {"config_name": lang, "data_files": [{"split": s, "path": p} for s, p in sorted(splits.items())]}
        for lang, splits in files.items()
    ]


def _qa_table(report: dict) -> str:
    lines = ["| language | rows | back-translation chrF | BLEU | language-ID agreement | QA pass rate |",
             "|---|---|---|---|---|---|"]
    for lang, r in report.items():
        lines.append(f"| {lang} ({get_language(lang).name}) | {r['n']} | {r['corpus_chrf']:.1f} | "
                     f"{r['corpus_bleu']:.1f} | {r['lang_id_agreement']:.0%} | {r['pass_rate']:.0%} |")
    return "\n".join(lines)


def _counts_table(counts: dict[str, dict[str, int]]) -> str:
    splits = sorted({s for c in counts.values() for s in c})
    lines = ["| language | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for lang, c in counts.items():
        lines.append(f"| {lang} | " + " | ".join(str(c.get(s, 0)) for s in splits) + " |")
    return "\n".join(lines)


BODY = """
# {pretty_name}

{summary}

Version {version}. Languages: {language_names}.

## Rows per language

{counts_table}

## Translation quality (back-translation into English, sacrebleu)

{qa_table}

chrF signature: `{chrf_signature}`; BLEU signature: `{bleu_signature}`.

## Translators

{translators}

## Usage

```python
from datasets import load_dataset
ds = load_dataset("{repo}", "{example_lang}")
```
"""


def build_card(*, pretty_name: str, repo: str, summary: str, version: str, license: str | list[str],
               source_datasets: list[str], task_categories: list[str], counts: dict[str, dict[str, int]],
               files: dict[str, dict[str, str]], qa_report: dict, translators: dict[str, str],
               gated: bool) -> DatasetCard:
    langs = list(files)
    extra = {}
    if gated:
        extra = {
            "extra_gated_prompt": SORRY_BENCH_TERMS,
            "extra_gated_fields": {"Name": "text", "Affiliation": "text",
                                   "I agree to use this dataset for AI-safety research only": "checkbox"},
        }
    data = DatasetCardData(
        pretty_name=pretty_name,
        language=langs,
        license=license,
        multilinguality="translation",
        annotations_creators=["machine-generated"],
        language_creators=["machine-generated"],
        source_datasets=source_datasets or None,
        task_categories=task_categories,
        size_categories=size_category(sum(sum(c.values()) for c in counts.values())),
        configs=configs_yaml(files),
        **extra,
    )
    first = next(iter(qa_report.values()), {})
    body = BODY.format(
        pretty_name=pretty_name, summary=summary, version=version, repo=repo,
        language_names=", ".join(f"{get_language(lang).name} (`{lang}`)" for lang in langs),
        counts_table=_counts_table(counts), qa_table=_qa_table(qa_report),
        chrf_signature=first.get("corpus_chrf_signature", "n/a"),
        bleu_signature=first.get("corpus_bleu_signature", "n/a"),
        translators="\n".join(f"- `{lang}`: {t}" for lang, t in translators.items()),
        example_lang=langs[-1],
    )
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}")
