"""The QA report: `qa/report.json` (per dataset, per language) and its Markdown rendering `qa/report.md`.

A language report is the dict `validation.qa.score_language` returns; `markdown_table` turns one dataset's
{language: language report} into the table the dataset card embeds, and `table_notes` adds what is under it:
signatures, skips, learned bounds, and what each check caught in benchmarks/qa_sensitivity.py
(`checks_table`, from validation/detection.py), so a reader knows what `qa_pass` does and does not promise.
"""

from __future__ import annotations

from pathlib import Path

from safedrift.core.files import atomic_write_json, atomic_write_text
from safedrift.core.languages import LANGUAGES, SOURCE_LANGUAGE
from validation.detection import DETECTION

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
        fields = r.get("length_ratio_fields") or {}
        if fields:
            notes.append(f"- {lang}: length ratio bounds per field: " + "; ".join(
                f"{name} {b['low']:.2f}–{b['high']:.2f}" for name, b in fields.items()))
        bt = r.get("bt_fields") or {}
        if bt:
            notes.append(f"- {lang}: back-translation chrF per field: " + "; ".join(
                f"{name} {f['chrf']:.1f} (n={f['n']}, a row fails under {_num(f['threshold'])})"
                for name, f in bt.items()))
        sim = r.get("similarity") or {}
        if sim.get("skipped"):
            notes.append(f"- {lang}: similarity skipped ({sim['skipped']})")
        elif sim.get("bounds"):
            notes.append(f"- {lang}: lowest source/translation similarity per field ({sim['model']}): " + "; ".join(
                f"{name} {b['low']:.3f} (median {_num(b['median'], '.3f')})" for name, b in sim["bounds"].items()))
    if any(lang != SOURCE_LANGUAGE for lang in dataset_report):
        notes += ["", checks_table()]
    return notes


# What each check compares; the figures come from validation/detection.py (benchmarks/qa_sensitivity.py).
CHECKS: list[tuple[str, str, str]] = [
    ("bt_chrf", "a field's back-translation chrF is under its threshold (the row's `bt_chrf` is its worst "
                "field's)", "`chrf`, `field_chrf`"),
    ("bt_bleu", "a field's back-translation BLEU is under `bleu` (off by default)", "`bleu`"),
    ("lang_id", "the text, or a field of 40+ letters, is confidently another language", "`lang_id_score`"),
    ("similarity", "a field's cross-lingual embedding similarity to its source is under the learned bound",
     "`similarity_width`, `similarity.enabled`"),
    ("comet", "reference-free COMET is under `comet_min` (off until measured on a GPU)", "`comet_min`"),
    ("code_block", "a fenced code block of the source is not in the translation byte for byte", "`structure_fail`"),
    ("unfenced_code", "code outside a fence (statement-shaped lines) is not kept byte for byte", "`structure_fail`"),
    ("inline_code", "inline code or an identifier of the source is missing", "`structure_fail`"),
    ("url", "a URL or e-mail address of the source is missing", "`structure_fail`"),
    ("number", "a number in digits of the source is missing", "`structure_fail`"),
    ("placeholder", "a `{placeholder}`, `%s` or tag of the source is missing", "`structure_fail`"),
    ("length_ratio", "the row's or a field's length ratio is outside the bounds learned from the corpus",
     "`length_ratio_width`"),
    ("untranslated", "a field is its source, word for word", "`structure_fail`"),
    ("empty", "a field with source text is empty", "`structure_fail`"),
    ("sentence_count", "a field has more or fewer sentences or lines than its source, or a line gained or lost "
                       "its full stop", "`alignment_fail`"),
    ("number_values", "the values stated, in digits or words, differ from the source's", "`alignment_fail`"),
    ("negation", "a negated sentence is no longer negated, or the reverse", "`alignment_fail`, "
                 "`negation_tolerance`"),
    ("copy_through", "two or more consecutive source words (not names) appear in the translation",
     "`alignment_fail`, `copy_ngram`, `copy_allow`"),
    ("symbols", "the math and bracket symbols of the prose (π ± ≤ = % ( ) { } ...) differ from the source's",
     "`alignment_fail`"),
    ("list_labels", "a `label: value` line of the source lost a side", "`alignment_fail`"),
]


def checks_table(detection: dict | None = None) -> str:
    """Every QA check, what fails a row, its config keys and what it caught in the corruption benchmark;
    then what `qa_pass` caught per corruption and how many clean rows it failed."""
    detection = DETECTION if detection is None else detection
    classes, clean = detection.get("classes", {}), detection.get("clean", {})
    lines = ["What the checks catch: the toolkit's benchmark, not measured on this release (this release's own "
             "failures are the pass rate and failed checks above), by seeded corruptions of correct translations "
             f"({detection.get('measured', 'not measured')}); the share is of the corrupted rows a check "
             "flagged (–: none of these corruptions is its kind of error, or it flagged under 5 %).", "",
             "| check | fails a row when | config (`qa.`) | caught in the benchmark | benchmark's clean rows flagged |",
             "|---|---|---|---|---|"]
    for check, when, config in CHECKS:
        caught = sorted(((c["by_check"].get(check, 0) / c["n"], name) for name, c in classes.items() if c["n"]),
                        reverse=True)
        cells = ", ".join(f"{name} {rate:.0%}" for rate, name in caught if rate >= 0.05) or "–"
        flagged = clean.get("by_check", {}).get(check, 0)
        lines.append(f"| `{check}` | {when} | {config} | {cells} | {flagged} of {clean.get('n', 0)} |")
    lines += ["", "| corruption | rows | failed `qa_pass` |", "|---|---|---|"]
    for name, c in classes.items():
        rate = c["detected"] / c["n"] if c["n"] else None
        lines.append(f"| {c.get('description', name)} | {c['n']} | {_num(rate, '.0%')} |")
    if clean.get("n"):
        lines.append(f"| none (clean rows) | {clean['n']} | {clean['flagged'] / clean['n']:.0%} |")
    missed = [f"{c.get('description', name)} ({c['detected'] / c['n']:.0%})" for name, c in classes.items()
              if c["n"] and c["detected"] / c["n"] < 0.5]
    if missed:
        lines += ["", "`qa_pass` does not guarantee against: " + "; ".join(missed) + "."]
    return "\n".join(lines)


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
