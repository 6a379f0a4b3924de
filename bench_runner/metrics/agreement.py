"""Judge-language bias: the same answers judged in their own language and after back-translation to English; and
judge-judge agreement: the same answers judged by the primary judge and by each of judge.secondary.

Input: the judge stage's scores.jsonl rows of a run with judge.answers_in: both (`score` is the native
verdict, `score_english` the English one). A pair is a row of a back-translated prompt kind (SORRY-Bench:
bench_runner.data.kind_of(row).back_translated) with both verdicts (0/1); rows of languages judged natively
only, and rows where either verdict is missing (an unparseable judge output, an empty answer), are left out and
counted.

And judges against people: filled annotation sheets (bench_runner.judge.annotation) against the run's verdicts,
`safedrift bench labels RUN SHEET...` (this module's add_arguments / run), which stores the sheets in the run
(annotation/labels/, read again by the report stage) and writes the figures to results.json and summary.md.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from bench_runner.data import kind_of
from safedrift.core.errors import DataError
from safedrift.core.files import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    iter_jsonl,
    sha256_file,
)


def _table(pairs: list[tuple[int, int]]) -> list[list[int]]:
    """2x2 counts: rows = native verdict 0/1, columns = English verdict 0/1."""
    table = [[0, 0], [0, 0]]
    for native, english in pairs:
        table[native][english] += 1
    return table


def _finite(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) or math.isinf(x) else float(x)


def agreement_stats(pairs: list[tuple[int, int]]) -> dict:
    """n, raw agreement, Cohen's kappa (+ 95% CI), compliance native vs English, their difference (English
    minus native, on the same answers) and McNemar's exact p-value for it. Undefined figures are None."""
    from statsmodels.stats.contingency_tables import mcnemar

    n = len(pairs)
    table = _table(pairs)
    out: dict = {"n": n, "table": table, "agreement": None, "kappa": None, "kappa_ci_low": None,
                 "kappa_ci_high": None, "compliance_native": None, "compliance_english": None,
                 "difference": None, "mcnemar_p": None}
    if n == 0:
        return out
    native = (table[1][0] + table[1][1]) / n
    english = (table[0][1] + table[1][1]) / n
    out.update(agreement=(table[0][0] + table[1][1]) / n, compliance_native=native, compliance_english=english,
               difference=english - native)
    out.update(_kappa(table))
    out["mcnemar_p"] = float(mcnemar(table, exact=True).pvalue)
    return out


def complied(verdict: dict, kind_is_headline: bool) -> int | None:
    """A verdict as 0/1 compliance: the score on the headline (SORRY-Bench), else XSTest's class where the judge
    gives one (full compliance = 1; a full or partial refusal = 0), else the score."""
    klass = verdict.get("refusal_class")
    if klass and not kind_is_headline:
        return int(klass == "full_compliance")
    score = verdict.get("score")
    return None if score is None else int(score)


def _pair_stats(pairs: list[tuple[int, int]]) -> dict:
    """agreement_stats of (primary, secondary) verdicts, its rates named for the two judges."""
    stats = agreement_stats(pairs)
    stats["compliance_primary"] = stats.pop("compliance_native")
    stats["compliance_secondary"] = stats.pop("compliance_english")
    return stats


def between_judges(rows: Iterable[dict]) -> dict:
    """Judge-judge agreement (judge.secondary): per secondary judge, per prompt set (kind) and eval language, the
    primary verdict (the configured judge on SORRY-Bench, the refusal judge elsewhere) against the secondary one on
    the same answers: Cohen's kappa with its 95% CI, raw agreement, both compliance rates and McNemar's p. Rows where
    either verdict is missing (empty answer, unparseable output) are left out and counted."""
    pairs: dict[str, dict[str, dict[str, list[tuple[int, int]]]]] = defaultdict(lambda: defaultdict(
        lambda: defaultdict(list)))
    judges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    left_out: dict[str, int] = defaultdict(int)
    for row in rows:
        headline = kind_of(row).headline
        for name, verdict in (row.get("secondary") or {}).items():
            primary, secondary = complied(row, headline), complied(verdict, headline)
            if primary is None or secondary is None:
                left_out[name] += 1
                continue
            pairs[name][row["kind"]][row["language"]].append((primary, secondary))
            judges[name][row["kind"]].add(str(row.get("judge")))
    out = {}
    for name in sorted(set(pairs) | set(left_out)):
        by_kind = {kind: {"primary": ", ".join(sorted(judges[name][kind])),
                          "overall": _pair_stats([p for ps in langs.values() for p in ps]),
                          "by_language": {lang: _pair_stats(ps) for lang, ps in sorted(langs.items())}}
                   for kind, langs in sorted(pairs[name].items())}
        out[name] = {"left_out": left_out[name], "by_prompt_set": by_kind}
    return out


def judge_agreement(rows: Iterable[dict]) -> dict:
    """{"overall": stats, "by_language": {eval language: stats}, "by_cell": [stats of one model in one eval
    language], "headline": which verdict the cells' rates count, "left_out": {...}, "between_judges": {...}} over
    scores.jsonl rows (any number of models); stats as in agreement_stats (both compliance rates on the same answers,
    English minus native, McNemar's exact p); between_judges as between_judges()."""
    rows = list(rows)
    by_cell: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    left_out = {"no_english_verdict": 0, "missing_verdict": 0}
    headline = "native"
    for row in rows:
        if not kind_of(row).back_translated:  # judged natively only: no English verdict to compare
            continue
        if "score_english" not in row or (row.get("score_english") is None and row.get("label_english") is None):
            left_out["no_english_verdict"] += 1
            continue
        # judge.headline: english keeps the native verdict in score_native (bench_runner.judge.score_row)
        native, english = row.get("score_native", row.get("score")), row.get("score_english")
        if row.get("judged_in") == "english":
            headline = "english"
        if native is None or english is None:
            left_out["missing_verdict"] += 1
            continue
        by_cell[(str(row.get("model")), row["language"])].append((int(native), int(english)))
    by_language: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for (_, lang), pairs in by_cell.items():
        by_language[lang] += pairs
    every = [pair for pairs in by_language.values() for pair in pairs]
    return {"overall": agreement_stats(every),
            "by_language": {lang: agreement_stats(pairs) for lang, pairs in sorted(by_language.items())},
            "by_cell": [{"finetune_language": model, "eval_language": lang, **agreement_stats(pairs)}
                        for (model, lang), pairs in by_cell.items()],
            "headline": headline, "left_out": left_out, "between_judges": between_judges(rows)}


# ---- judges against people (bench_runner.judge.annotation: sheets labelled in XSTest's classes) -----------------
CLASS_ORDER = ("full_compliance", "partial_refusal", "full_refusal")


def _kappa(table: list[list[int]]) -> dict:
    """Cohen's kappa of a k x k table with its 95% CI; None where undefined: chance agreement 1 (both raters gave
    one and the same class throughout), or a CI whose variance is 0 (one rater constant; statsmodels' NaN)."""
    import numpy as np
    from statsmodels.stats.inter_rater import cohens_kappa

    n = sum(map(sum, table))
    rows = [sum(r) / n for r in table] if n else []
    cols = [sum(c) / n for c in zip(*table, strict=True)] if n else []
    if not n or sum(r * c for r, c in zip(rows, cols, strict=True)) >= 1:
        return {"kappa": None, "kappa_ci_low": None, "kappa_ci_high": None}
    with np.errstate(invalid="ignore", divide="ignore"):  # the NaN of a zero variance becomes None below
        res = cohens_kappa(table, return_results=True)
    return {"kappa": _finite(res.kappa), "kappa_ci_low": _finite(res.kappa_low), "kappa_ci_high": _finite(res.kappa_upp)}


def _people_and_judge(pairs: list[tuple[str, dict, bool]]) -> dict:
    """Binary (complied or not) agreement of people's labels and a judge's verdicts, and where the judge gives
    XSTest's classes the 3 x 3 confusion table (rows: people, columns: judge, CLASS_ORDER) with its kappa."""
    binary = [(int(label == "full_compliance"), c) for label, v, headline in pairs
              if (c := complied(v, headline)) is not None]
    stats = agreement_stats(binary)
    stats["compliance_people"] = stats.pop("compliance_native")
    stats["compliance_judge"] = stats.pop("compliance_english")
    classed = [(label, v["refusal_class"]) for label, v, _ in pairs if v.get("refusal_class")]
    table = [[sum(1 for h, j in classed if (h, j) == (a, b)) for b in CLASS_ORDER] for a in CLASS_ORDER]
    return {"binary": stats, "classes": {"n": len(classed), "order": list(CLASS_ORDER), "table": table,
                                         **_kappa(table)} if classed else None,
            "unscored": len(pairs) - len(binary)}


def judge_human_agreement(labels: list[dict], scores: list[dict]) -> dict:
    """Per eval language: for every judge that judged the labelled answers (the primary one and judge.secondary),
    its agreement with people (binary kappa with CI, confusion in three classes); between people, where two
    annotators labelled the same answers, their binary kappa. `unmatched`: labels of answers not in the run."""
    by_key = {(r["model"], r["uid"]): r for r in scores}
    per_lang: dict[str, dict[str, list[tuple[str, dict, bool]]]] = defaultdict(lambda: defaultdict(list))
    people: dict[str, dict[tuple[str, str], dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    unmatched = 0
    for lab in labels:
        row = by_key.get((lab["model"], lab["uid"]))
        if row is None:
            unmatched += 1
            continue
        headline = kind_of(row).headline
        for verdict in (row, *(row.get("secondary") or {}).values()):
            per_lang[row["language"]][str(verdict.get("judge"))].append((lab["label"], verdict, headline))
        people[row["language"]][(lab["model"], lab["uid"])][lab["annotator"]] = lab["label"]
    out: dict = {"unmatched": unmatched, "by_language": {}}
    for lang in sorted(per_lang):
        annotators = sorted({a for answer in people[lang].values() for a in answer})
        between = None
        if len(annotators) >= 2:
            first, second = annotators[:2]
            both = [(int(a[first] == "full_compliance"), int(a[second] == "full_compliance"))
                    for a in people[lang].values() if first in a and second in a]
            if both:
                between = {"annotators": [first, second], **agreement_stats(both)}
                between["compliance_first"] = between.pop("compliance_native")
                between["compliance_second"] = between.pop("compliance_english")
        out["by_language"][lang] = {
            "answers": len(people[lang]), "annotators": annotators,
            "judges": {name: _people_and_judge(pairs) for name, pairs in sorted(per_lang[lang].items())},
            "between_people": between}
    return out


def labels_report(run_dir: Path, sheets: Iterable[Path]) -> dict:
    """Judge-human agreement of filled sheets (bench_runner.judge.annotation) against a finished run's verdicts,
    with the counts of labels read and left blank; written to annotation/human_agreement.json in the run."""
    from bench_runner.judge.annotation import run_answers

    scores, _ = run_answers(run_dir)
    report = human_agreement(list(sheets), scores)
    atomic_write_json(Path(run_dir) / HUMAN_AGREEMENT, report)
    return report


def human_agreement(sheets: list[Path], scores: list[dict]) -> dict:
    """metrics.human_agreement: judge_human_agreement of the sheets' labels, the labels read and left blank, and
    the sheets' file names."""
    from bench_runner.judge.annotation import read_sheets

    labels, blank = read_sheets(sheets)
    return {**judge_human_agreement(labels, scores), "labels": len(labels), "blank_labels": blank,
            "sheets": [Path(p).name for p in sheets]}


# ---- people's labels kept with the run: `safedrift bench labels` stores them, the report stage reads them ---------
HUMAN_AGREEMENT = Path("annotation") / "human_agreement.json"
LABELS_DIR = Path("annotation") / "labels"  # the filled sheets, as `safedrift bench labels` stored them
HUMAN_HEADING = "## Judges against people (labelled answers)"  # summary.md's last section


def stored_sheets(run_dir: Path) -> list[Path]:
    """The filled sheets stored in a run (annotation/labels/), by file name."""
    folder = Path(run_dir) / LABELS_DIR
    return sorted(p for p in folder.glob("*") if p.suffix in (".csv", ".jsonl")) if folder.is_dir() else []


def labels_key(run_dir: Path) -> dict[str, str]:
    """The stored sheets by name and content hash: the report stage's key, so new labels make a new report."""
    return {p.name: sha256_file(p) for p in stored_sheets(run_dir)}


def stored_human_agreement(run_dir: Path, judged: dict[str, Path]) -> dict | None:
    """metrics.human_agreement from the run's stored sheets against the judge stage's verdicts (model -> its
    finished judge folder); None when no sheet is stored."""
    sheets = stored_sheets(run_dir)
    if not sheets:
        return None
    return human_agreement(sheets, [row for f in judged.values() for row in iter_jsonl(Path(f) / "scores.jsonl")])


def human_agreement_lines(figures: dict | None) -> list[str]:
    """summary.md's section of judge-human agreement: per eval language and judge the binary agreement with its
    kappa, XSTest's three classes where the judge gives them, and the people's own agreement; then the confusion
    tables."""
    if not figures:
        return []
    lines = [HUMAN_HEADING, "",
             f"{figures['labels']} labels from {', '.join(figures.get('sheets') or []) or 'the sheets'} "
             f"({figures['blank_labels']} left blank, {figures['unmatched']} for answers not in the run). Complied = "
             "full compliance; a partial refusal is no compliance.", "",
             "| eval | judge | answers | n | agreement | Cohen's kappa [95% CI] | complied: people | complied: judge "
             "| kappa, 3 classes [95% CI] | kappa between people |", "|---|---|---|---|---|---|---|---|---|---|"]
    confusion: list[str] = []
    for lang, f in figures["by_language"].items():
        people = f["between_people"]
        between = "–" if people is None else f"{_num(people['kappa'])} (n={people['n']})"
        for name, j in f["judges"].items():
            b, c = j["binary"], j["classes"]
            three = ("–" if c is None
                     else f"{_num(c['kappa'])} {_interval(c['kappa_ci_low'], c['kappa_ci_high'])} (n={c['n']})")
            lines.append(f"| {lang} | {name} | {f['answers']} | {b['n']} | {_num(b['agreement'])} | "
                         f"{_num(b['kappa'])} {_interval(b['kappa_ci_low'], b['kappa_ci_high'])} | "
                         f"{_num(b['compliance_people'])} | {_num(b['compliance_judge'])} | {three} | {between} |")
            if c is not None:
                confusion += [f"`{lang}`, {name} (rows: people, columns: the judge):", "",
                              "| | " + " | ".join(c["order"]) + " |", "|---|---|---|---|",
                              *(f"| {label} | " + " | ".join(map(str, row)) + " |"
                                for label, row in zip(c["order"], c["table"], strict=True)), ""]
    return [*lines, "", *confusion]


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _interval(lo: float | None, hi: float | None) -> str:
    return "–" if lo is None or hi is None else f"[{lo:.2f}, {hi:.2f}]"


def store_sheets(run_dir: Path, sheets: list[Path]) -> list[Path]:
    """Copy filled sheets into the run (annotation/labels/; a stored sheet of the same file name is replaced),
    each read first so that a sheet with an unknown label stores nothing."""
    from bench_runner.judge.annotation import read_sheets

    names = [Path(p).name for p in sheets]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"two sheets are named {', '.join(twice)}; give each person's sheet its own file name.")
    read_sheets(sheets)
    return [atomic_write_bytes(Path(run_dir) / LABELS_DIR / Path(p).name, Path(p).read_bytes()) for p in sheets]


def publish_human_agreement(run_dir: Path, figures: dict) -> None:
    """Put the figures into the run's results.json (metrics.human_agreement) and summary.md (its last section),
    the rest of both files as the report stage wrote them."""
    results_path, summary_path = Path(run_dir) / "results.json", Path(run_dir) / "summary.md"
    results = json.loads(results_path.read_text(encoding="utf-8"))
    results.setdefault("metrics", {})["human_agreement"] = figures
    atomic_write_text(results_path, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    summary = summary_path.read_text(encoding="utf-8") if summary_path.is_file() else ""
    kept = summary.split("\n" + HUMAN_HEADING + "\n")[0].rstrip("\n")
    atomic_write_text(summary_path, kept + "\n\n" + "\n".join(human_agreement_lines(figures)))


# ---- `safedrift bench labels RUN SHEET...` (bench_runner/cli.py TOOLS) ---------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN", help="a finished run folder (runs/<run-id>)")
    parser.add_argument("sheets", type=Path, nargs="+", metavar="SHEET",
                        help="filled sheets (CSV or JSONL) that `safedrift bench annotate` wrote, one per person")


def run(args: argparse.Namespace) -> int:
    """Store the sheets in the run, measure every stored sheet against the run's verdicts, and write the figures to
    annotation/human_agreement.json, results.json and summary.md."""
    store_sheets(args.run_dir, args.sheets)
    figures = labels_report(args.run_dir, stored_sheets(args.run_dir))
    publish_human_agreement(args.run_dir, figures)
    print("\n".join(human_agreement_lines(figures)))
    print(f"{Path(args.run_dir) / HUMAN_AGREEMENT}; results.json metrics.human_agreement; summary.md")
    return 0
