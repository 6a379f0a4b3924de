"""The QA report: `qa/report.json` (per dataset, per language) and its Markdown rendering `qa/report.md`.

A language report is the dict `validation.qa.score_language` returns; `markdown_table` turns one dataset's
{language: language report} into the table the dataset card embeds, and `table_notes` adds what is under it:
signatures, skips, learned bounds, the rows this release's QA failed (`release_flagged`), and per check the rows
it failed here beside what it caught in the toolkit's benchmark (`checks_table`, from validation/detection.py,
labelled as the toolkit's with its corpus and date), so a reader knows what `qa_pass` does and does not promise.
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
    harm = harm_note(dataset_report)
    if harm:
        notes.append(f"- {harm}")
    flagged = release_flagged(dataset_report)
    if flagged:
        notes += ["", flagged, "", checks_table(dataset_report)]
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
    ("intent_lost", "a prompt the guard finds unsafe in English is safe in its translation (SORRY-Bench prompts, "
                    "XSTest contrasts)", "`harm.guard`, `harm.model`, `harm.rows`"),
]


def failed_rows(lang_report: dict) -> int:
    """Rows of one language that failed `qa_pass` (the report's `failed`; from its pass rate in an older one)."""
    if "failed" in lang_report:
        return int(lang_report["failed"])
    return round(lang_report["n"] * (1 - (lang_report.get("pass_rate") or 0)))


def release_flagged(dataset_report: dict) -> str | None:
    """This release's own false-alarm ceiling: how many of its translated rows QA failed, per language (a clean
    row can only be flagged among these); None when nothing was translated."""
    langs = {lang: r for lang, r in dataset_report.items() if lang != SOURCE_LANGUAGE}
    if not langs:
        return None
    failed = {lang: failed_rows(r) for lang, r in langs.items()}
    total, n = sum(failed.values()), sum(r["n"] for r in langs.values())
    per_lang = ", ".join(f"`{lang}` {failed[lang]} of {r['n']}" for lang, r in langs.items())
    return (f"Rows QA flagged in this release: **{total}** of {n} translated rows failed `qa_pass` ({per_lang}); "
            "each is a real error or a false alarm (the checks that failed are in the table above).")


def harm_note(dataset_report: dict) -> str | None:
    """Whether the harm-preserved check ran on this dataset (validation/scorers/harm.py), and what it found or
    why it was skipped; None for a dataset it does not check."""
    runs = {lang: r["harm"] for lang, r in dataset_report.items() if r.get("harm")}
    if not runs:
        return None
    skipped = sorted({h["skipped"] for h in runs.values() if h.get("skipped")})
    if skipped:
        n = max(h.get("prompts", 0) for h in runs.values())
        return (f"Harm preserved: **not checked**, {'; '.join(skipped)}; a translation that softens an unsafe "
                f"request is not caught ({n} prompts per language unchecked).")
    guard = next(iter(runs.values()))["guard"]
    found = "; ".join(f"`{lang}` {h['intent_lost']} of {h['prompts']} (unsafe in English: {h['unsafe_en']}, "
                      f"unparsed verdicts: {h['unparsed']})" for lang, h in runs.items())
    return (f"Harm preserved (guard `{guard}`): prompts unsafe in English and safe once translated, flagged "
            f"`intent_lost` and failed: {found}.")


def checks_table(dataset_report: dict, detection: dict | None = None) -> str:
    """Every QA check, what fails a row, its config keys, the rows of this release it failed, and what it caught
    in the toolkit's corruption benchmark (validation/detection.py, labelled with its corpus and date); then the
    benchmark's detection per corruption. The benchmark is the toolkit's, not this release's: the release's own
    figures are the rows each check failed here."""
    detection = DETECTION if detection is None else detection
    classes, clean = detection.get("classes", {}), detection.get("clean", {})
    langs = {lang: r for lang, r in dataset_report.items() if lang != SOURCE_LANGUAGE}
    measured = detection.get("measured", "not measured")
    lines = ["Checks: what each one fails a row for, the rows it failed in this release, and what it caught in the "
             f"toolkit's corruption benchmark (**not measured on this release**: {measured}); the share is of the "
             "benchmark's corrupted rows a check flagged (–: none of these corruptions is its kind of error, or it "
             "flagged under 5 %). `benchmarks/qa_sensitivity.py WORKDIR` measures the same on a built release.", "",
             "| check | fails a row when | config (`qa.`) | rows failed in this release | caught in the toolkit's "
             "benchmark |",
             "|---|---|---|---|---|"]
    for check, when, config in CHECKS:
        caught = sorted(((c["by_check"].get(check, 0) / c["n"], name) for name, c in classes.items() if c["n"]),
                        reverse=True)
        cells = ", ".join(f"{name} {rate:.0%}" for rate, name in caught if rate >= 0.05) or "–"
        own = ", ".join(f"{lang} {(r.get('failed_checks') or {}).get(check, 0)} of {r['n']}"
                        for lang, r in langs.items()) or "–"
        lines.append(f"| `{check}` | {when} | {config} | {own} | {cells} |")
    lines += ["", f"The toolkit's benchmark ({measured}):", "",
              "| corruption | rows | failed `qa_pass` |", "|---|---|---|"]
    for name, c in classes.items():
        rate = c["detected"] / c["n"] if c["n"] else None
        lines.append(f"| {c.get('description', name)} | {c['n']} | {_num(rate, '.0%')} |")
    if clean.get("n"):
        lines.append(f"| none (the benchmark corpus's clean rows, not this release's) | {clean['n']} | "
                     f"{clean['flagged'] / clean['n']:.0%} |")
    missed = missed_corruptions(detection)
    if missed:
        lines += ["", "`qa_pass` does not guarantee against: " + "; ".join(missed) + "."]
    return "\n".join(lines)


def missed_corruptions(detection: dict | None = None) -> list[str]:
    """The corruptions `qa_pass` caught in under half of the benchmark's rows, with the share it caught."""
    classes = (DETECTION if detection is None else detection).get("classes", {})
    return [f"{c.get('description', name)} ({c['detected'] / c['n']:.0%})" for name, c in classes.items()
            if c["n"] and c["detected"] / c["n"] < 0.5]


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
