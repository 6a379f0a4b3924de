"""The QA report: `qa/report.json` (per dataset, per language) and its Markdown rendering `qa/report.md`.

A language report is the dict `validation.qa.score_language` returns; `markdown_table` turns one dataset's
{language: language report} into the table the dataset card embeds.
"""

from __future__ import annotations

from pathlib import Path

from safedrift.files import atomic_write_json, atomic_write_text
from safedrift.languages import LANGUAGES, SOURCE_LANGUAGE

TABLE_HEADER = (
    "| language | rows | back-translation chrF | BLEU | COMET | language-ID agreement | QA pass rate "
    "| dropped | failed checks |"
)


def _num(value, fmt: str = ".1f") -> str:
    return "–" if value is None else format(value, fmt)


def _comet_cell(lang_report: dict) -> str:
    comet = lang_report.get("comet") or {}
    qe = (comet.get("qe") or {}).get("system")
    ref = (comet.get("ref") or {}).get("system")
    if qe is None and ref is None:
        return "–"
    if ref is None:
        return _num(qe, ".3f")
    return f"{_num(qe, '.3f')} (bt {_num(ref, '.3f')})"


def _checks_cell(lang_report: dict) -> str:
    counts = lang_report.get("failed_checks") or {}
    parts = [f"{name} {n}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n]
    return ", ".join(parts) or "none"


def markdown_table(dataset_report: dict) -> str:
    """One dataset's report ({language: language report}) as a Markdown table, one row per language."""
    lines = [TABLE_HEADER, "|---|---|---|---|---|---|---|---|---|"]
    for lang, r in dataset_report.items():
        name = LANGUAGES[lang].name if lang in LANGUAGES else lang
        lines.append(
            f"| {lang} ({name}) | {r['n']} | {_num(r.get('corpus_chrf'))} | {_num(r.get('corpus_bleu'))} | "
            f"{_comet_cell(r)} | {_num(r.get('lang_id_agreement'), '.0%')} | {_num(r.get('pass_rate'), '.0%')} | "
            f"{r.get('dropped', 0)} | {_checks_cell(r)} |"
        )
    return "\n".join(lines)


def table_notes(dataset_report: dict) -> list[str]:
    """Signatures, COMET skip reasons, reference scores and length bounds under the table."""
    notes: list[str] = []
    first: dict = next(iter(dataset_report.values()), {})
    if first.get("corpus_chrf_signature"):
        notes.append(f"- chrF signature: `{first['corpus_chrf_signature']}`")
        notes.append(f"- BLEU signature: `{first.get('corpus_bleu_signature', 'n/a')}`")
    for lang, r in dataset_report.items():
        if lang == SOURCE_LANGUAGE:
            continue  # the English source is measured against itself: nothing to note
        comet = r.get("comet") or {}
        reasons = sorted({c["skipped"] for c in comet.values() if isinstance(c, dict) and c.get("skipped")})
        if reasons:
            notes.append(f"- {lang}: COMET skipped ({'; '.join(reasons)})")
        ref = r.get("reference")
        if ref and ref.get("n"):
            notes.append(f"- {lang}: against {ref['n']} reference translations, chrF {ref['chrf']:.1f}, "
                         f"BLEU {ref['bleu']:.1f} (`{ref['bleu_signature']}`)")
        bounds = r.get("length_ratio")
        if bounds and bounds.get("low") is not None:
            notes.append(f"- {lang}: length ratio bounds {bounds['low']:.2f}–{bounds['high']:.2f} "
                         f"({bounds['rule']})")
    return notes


def markdown_report(report: dict) -> str:
    parts = [f"# QA report (version {report.get('version', '?')})", ""]
    for dataset, dataset_report in report.get("datasets", {}).items():
        parts += [f"## {dataset}", "", markdown_table(dataset_report), "", *table_notes(dataset_report), ""]
    return "\n".join(parts)


def write_report(qa_dir: Path, report: dict) -> list[str]:
    """Write report.json and report.md into qa_dir; returns their names (for the stage manifest)."""
    atomic_write_json(qa_dir / "report.json", report)
    atomic_write_text(qa_dir / "report.md", markdown_report(report))
    return ["report.json", "report.md"]
