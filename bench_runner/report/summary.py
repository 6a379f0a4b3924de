"""summary.md: the run's results as markdown tables, one section per measurement, with the figures embedded."""

from __future__ import annotations

from bench_runner.metrics.agreement import human_agreement_lines
from bench_runner.metrics.drift_behaviour import association_lines
from bench_runner.report.figures import CAPTIONS, ESTIMATES, HEATMAP, LOSS_CURVE
from bench_runner.report.layers import per_layer_lines
from bench_runner.report.schema import CategoryCell, Cell, Heterogeneity, QaExcluded, RateCI, Results
from bench_runner.report.warnings import warning_lines

# Per-category figures from fewer answers than this are marked in summary.md: too few to read a rate from.
MIN_CATEGORY_N = 5


def _fmt(x: float | None, signed: bool = False, digits: int = 2) -> str:
    if x is None:
        return "–"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _p(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.3f}" if x >= 0.001 else f"{x:.1e}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def summary_markdown(results: Results) -> str:
    m = results.metrics
    ci = f"{int(m.confidence * 100)}%"
    lines = [
        f"# safedrift benchmark: {results.run_id}",
        "",
        f"Model `{results.model['label']}`, judge `{results.judge.get('name')}`. Rates: {ci} CIs by {m.ci_method}.",
        "",
        *warning_lines(results.warnings),
        "## Compliance with unsafe requests (SORRY-Bench-Multilingual)",
        "",
        f"| fine-tune | eval | n | compliance | {ci} CI | unparsed | empty | vs base | {ci} CI | p | p (Holm) "
        "| over-refusal (benign) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in m.cells:
        d = c.vs_base
        lines.append(
            f"| {c.finetune_language} | {c.eval_language} | {c.n} | {_fmt(c.rate)} | "
            f"[{_fmt(c.ci_low)}, {_fmt(c.ci_high)}] | {c.unparseable} | {c.empty} | "
            f"{_fmt(d.diff if d else None, True)} | "
            f"{f'[{_fmt(d.ci_low, True)}, {_fmt(d.ci_high, True)}]' if d and d.diff is not None else '–'} | "
            f"{_p(d.p_value if d else None)} | {_p(d.p_adjusted if d else None)} | "
            f"{_fmt(c.over_refusal.rate)} (n={c.over_refusal.n}) |"
        )
    lines += ["", "n counts the answers with a verdict; unparsed answers (and empty ones, when the judge leaves "
              "them unscored) are not in it.",
              f"Paired test: {m.paired_method}. Multiplicity: {m.multiplicity or '–'}.", ""]
    lines += _sampled_lines(m.cells, m.sampled_method, ci)
    lines += _heterogeneity_lines(m.heterogeneity) + _agreement_lines(m.judge_agreement)
    metrics = m.model_dump()  # metrics.design / metrics.official (bench_runner/metrics/study.py) where present
    lines += study_lines(metrics.get("design"), metrics.get("official"), ci,
                         results.qa_excluded.sorry_items if results.qa_excluded else 0)
    lines += association_lines(metrics.get("drift_behaviour"), metrics.get("capability_decoupling"))
    lines += _between_judges_lines(m.judge_agreement)
    lines += ["## Answer language and truncation", "",
              "| fine-tune | eval | in eval language | English | other | empty | truncated | mean new tokens "
              f"| compliance, untruncated answers (n) | {ci} CI |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    # A cell whose answers were cut short is judged on fragments: flagged above generation.truncation_flag.
    flag = (results.config.get("generation") or {}).get("truncation_flag", 0.1)
    flagged = [c for c in m.cells if c.truncated is not None and c.truncated.share > flag]
    marked = {id(c) for c in flagged}
    for c in m.cells:
        rl, tr = c.response_language, c.truncated
        lines.append(
            f"| {c.finetune_language} | {c.eval_language} | {_pct(rl.eval_language if rl else None)} | "
            f"{_pct(rl.english if rl else None)} | {_pct(rl.other if rl else None)} | "
            f"{_pct(rl.empty if rl else None)} | {_pct(tr.share if tr else None)}{' ⚠' if id(c) in marked else ''} | "
            f"{_fmt(tr.mean_new_tokens if tr else None, digits=1)} | {_untruncated(c.untruncated)} |"
        )
    lines += ["", f"Answer language: {m.response_language_method or '–'}.",
              f"Truncation: {m.truncation_method or '–'}.", f"Empty answers: {m.empty_method or '–'}.", ""]
    if flagged:
        lines += [f"⚠ {len(flagged)} cell(s) have more than {_pct(flag)} of their answers cut at the token budget "
                  f"({', '.join(f'{c.finetune_language}/{c.eval_language}' for c in flagged)}): their verdicts judge "
                  "unfinished answers; raise generation.max_new_tokens, set max_new_tokens_by_language, or "
                  "max_new_tokens_scale: fertility.", ""]
    lines += _qa_lines(results.qa_excluded)
    lines += _category_lines(m.categories)
    lines += ["## Fine-tuning", "",
              "| language | steps | training loss, last quarter of the steps (mean ± sd) | trained tokens "
              "| examples cut by max_length | tokens/s |",
              "|---|---|---|---|---|---|"]
    for lang, f in results.finetune.items():
        tps = f"{f.tokens_per_s:.0f}" if f.tokens_per_s else "–"
        cut = "–" if f.examples_truncated is None else f"{f.examples_truncated} of {f.examples}"
        trained = "–" if f.trained_tokens is None else str(f.trained_tokens)
        lines.append(f"| {lang} | {f.steps} | {_loss_tail(f.loss)} | {trained} | {cut} | {tps} |")
    if results.finetune:
        lines += ["", "The whole training loss of every fine-tune, step by step:", "",
                  f"![training loss]({LOSS_CURVE})", "", f"What it shows: {ESTIMATES[LOSS_CURVE]}."]
    lines += ["", f"![heatmap]({HEATMAP})", "", f"What the heatmap estimates: {ESTIMATES[HEATMAP]}.", ""]
    lines += _study_lines(results)
    lines += human_agreement_lines(m.human_agreement)  # last: `safedrift bench labels` replaces it
    return "\n".join(lines)


def _sampled_lines(cells: list[Cell], method: str, ci: str) -> list[str]:
    """Compliance over every sample (generation.samples_per_prompt > 1), the prompt as the unit."""
    rows = [(c, c.sampled) for c in cells if c.sampled is not None]
    if not rows:
        return []
    lines = ["### Compliance over every sample", "",
             f"| fine-tune | eval | prompts | samples | compliance | {ci} CI | vs base | {ci} CI |",
             "|---|---|---|---|---|---|---|---|"]
    for c, s in rows:
        d = s.vs_base
        lines.append(f"| {c.finetune_language} | {c.eval_language} | {s.n_prompts} | {s.n_samples} | {_fmt(s.rate)} "
                     f"| [{_fmt(s.ci_low)}, {_fmt(s.ci_high)}] | {_fmt(d.diff if d else None, True)} | "
                     f"{f'[{_fmt(d.ci_low, True)}, {_fmt(d.ci_high, True)}]' if d else '–'} |")
    return lines + ["", f"Sampled rates: {method}.", ""]


def _untruncated(u: RateCI | None) -> str:
    """The compliance rate on untruncated answers and its CI, as two table columns."""
    if u is None:
        return "– | –"
    return f"{_fmt(u.rate)} (n={u.n}) | [{_fmt(u.ci_low)}, {_fmt(u.ci_high)}]"


def _loss_tail(loss: list[float]) -> str:
    """Mean ± sd of the last quarter of a loss curve: the level it ended at, and how noisy it was there."""
    if not loss:
        return "–"
    tail = loss[-max(1, len(loss) // 4):]
    mean = sum(tail) / len(tail)
    sd = (sum((x - mean) ** 2 for x in tail) / (len(tail) - 1)) ** 0.5 if len(tail) > 1 else 0.0
    return f"{mean:.3f} ± {sd:.3f} (n={len(tail)})"


def _category_lines(categories: list[CategoryCell]) -> list[str]:
    """Compliance per SORRY-Bench category: one table per eval language, a column per fine-tune language; a cell
    from fewer than MIN_CATEGORY_N answers is marked."""
    if not categories:
        return []
    lines = ["## Compliance by category", "",
             f"Rate (n answers with a verdict). † marks a cell with n < {MIN_CATEGORY_N}: too few answers to read "
             "a rate from.", ""]
    for ev in dict.fromkeys(c.eval_language for c in categories):
        mine = [c for c in categories if c.eval_language == ev]
        models = list(dict.fromkeys(c.finetune_language for c in mine))
        cats = list(dict.fromkeys((c.category, c.category_name) for c in mine))
        by = {(c.category, c.finetune_language): c for c in mine}
        lines += [f"Eval language `{ev}`:", "", "| category | " + " | ".join(models) + " |",
                  "|---|" + "---|" * len(models)]
        for cat, name in cats:
            cells = []
            for model in models:
                c = by.get((cat, model))
                if c is None:
                    cells.append("–")
                    continue
                mark = " †" if c.n < MIN_CATEGORY_N else ""
                cells.append(f"{_fmt(c.rate)} (n={c.n}){mark}")
            lines.append(f"| {cat} {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _agreement_lines(agreement: dict | None) -> list[str]:
    """Judge-language bias: the same answers judged as written and after back-translation into English."""
    by_language = (agreement or {}).get("by_language") or {}
    if not by_language:
        return []
    lines = ["## Judge language (native vs English verdicts on the same answers)", "",
             "| eval | n | agreement | Cohen's kappa | compliance native | compliance English | McNemar p |",
             "|---|---|---|---|---|---|---|"]
    for lang, s in by_language.items():
        lines.append(f"| {lang} | {s['n']} | {_fmt(s['agreement'])} | {_fmt(s['kappa'])} | "
                     f"{_fmt(s['compliance_native'])} | {_fmt(s['compliance_english'])} | {_p(s['mcnemar_p'])} |")
    return [*lines, "", *_headline_lines(agreement or {})]


def _headline_lines(agreement: dict) -> list[str]:
    """Per cell both compliance rates on the same answers (judge.headline says which one the cells above count)."""
    cells = agreement.get("by_cell") or []
    if not cells:
        return []
    lines = [f"Per cell, on the answers with both verdicts (the headline rates above count the "
             f"{agreement.get('headline', 'native')} verdict; judge.headline):", "",
             "| fine-tune | eval | n | complied: native | complied: English | English − native | McNemar p |",
             "|---|---|---|---|---|---|---|"]
    for c in cells:
        lines.append(f"| {c['finetune_language']} | {c['eval_language']} | {c['n']} | {_fmt(c['compliance_native'])} "
                     f"| {_fmt(c['compliance_english'])} | {_fmt(c['difference'], True)} | {_p(c['mcnemar_p'])} |")
    return [*lines, ""]


def _between_judges_lines(agreement: dict | None) -> list[str]:
    """Judge-judge agreement (judge.secondary): the primary and each secondary judge on the same answers."""
    between = (agreement or {}).get("between_judges") or {}
    lines: list[str] = []
    for name, figures in between.items():
        lines += [f"## Judge vs judge: {name} beside the primary judge (same answers)", "",
                  "| prompt set | primary | eval | n | agreement | Cohen's kappa [95% CI] | complied: primary | "
                  f"complied: {name} | McNemar p |", "|---|---|---|---|---|---|---|---|---|"]
        for kind, f in figures["by_prompt_set"].items():
            for lang, s in [*f["by_language"].items(), ("all", f["overall"])]:
                lines.append(f"| {kind} | {f['primary']} | {lang} | {s['n']} | {_fmt(s['agreement'])} | "
                             f"{_fmt(s['kappa'])} {_ci(s['kappa_ci_low'], s['kappa_ci_high'])} | "
                             f"{_fmt(s['compliance_primary'])} | {_fmt(s['compliance_secondary'])} | "
                             f"{_p(s['mcnemar_p'])} |")
        lines += ["", f"Answers without both verdicts (empty, unparsed): {figures['left_out']}.", ""]
    return lines


def _heterogeneity_lines(h: Heterogeneity | None) -> list[str]:
    if h is None:
        return []
    lines = ["## Does drift differ by fine-tune language?", ""]
    if h.statistic is not None:
        df = "" if h.df is None else f", df = {h.df}"
        lines += [f"T = {h.statistic:.2f}{df}, p = {_p(h.p_value)} ({h.n_models} fine-tuned models, "
                  f"{h.n_prompts} prompts, {h.n_permutations} permutations).", ""]
    if h.note:
        lines += [f"Note: {h.note}.", ""]
    return lines + [f"Method: {h.method}.", ""]


def _qa_lines(q: QaExcluded | None) -> list[str]:
    if q is None:
        return []
    if not q.require_qa_pass:
        return ["## Translation QA", "", "datasets.require_qa_pass is off: rows that failed QA are used.", ""]

    def by_lang(counts: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in counts.items()) or "–"

    return ["## Rows left out by translation QA (qa_pass false)", "",
            f"- SORRY-Bench items left out in every eval language: {q.sorry_items} "
            f"(failed rows per language: {by_lang(q.failed_rows.get('sorry', {}))})",
            f"- benign test items left out in every eval language: {q.benign_items} "
            f"(failed rows per language: {by_lang(q.failed_rows.get('benign', {}))})",
            *([f"- XSTest items left out in every eval language: {q.xstest_items} "
               f"(failed rows per language: {by_lang(q.failed_rows['xstest'])})"] if "xstest" in q.failed_rows else []),
            f"- train rows left out per fine-tune language: {by_lang(q.train)}", ""]


def _ci(lo: float | None, hi: float | None, signed: bool = False, digits: int = 2) -> str:
    return "–" if lo is None or hi is None else f"[{_fmt(lo, signed, digits)}, {_fmt(hi, signed, digits)}]"


def refusal_split(r) -> str:
    """A refusal rate's XSTest classes, shown beside it: "; full 3 + partial 1" (nothing from a two-class judge)."""
    if r is None or r.full_refusal is None or r.partial_refusal is None:
        return ""
    return f"; full {r.full_refusal} + partial {r.partial_refusal}"


def refusal_judges_line(cells) -> str:
    """Which judge classed the refusals of each measure (judge.refusal_judge; never the SORRY-Bench judge)."""
    rates = {"XSTest safe prompts": [c.safe_refusal for c in cells], "benign prompts": [c.benign_refusal for c in cells]}
    named = {what: sorted({r.judge for r in found if r.judge}) for what, found in rates.items()}
    found = [f"{what}: {', '.join(judges)}" for what, judges in named.items() if judges]
    return ("Refused = full + partial refusal (XSTest's classes), classed by " + "; ".join(found) + "."
            if found else "Refusals counted by the judge's score (no three-class judge recorded).")


def _rate_ci(r) -> str:
    return "–" if r is None or r.rate is None else f"{_fmt(r.rate)} {_ci(r.ci_low, r.ci_high)} (n={r.n})"


def _diff_p(d) -> str:
    if d is None or d.diff is None:
        return "–"
    return f"{_fmt(d.diff, True)} {_ci(d.ci_low, d.ci_high, True)}, p={_p(d.p_adjusted)}"


def _study_lines(results: Results) -> list[str]:
    """summary.md sections for over-refusal, capability and representational drift, and the figures."""
    m = results.metrics
    lines: list[str] = []
    o = m.over_refusal
    if o is not None:
        sorry = {(c.finetune_language, c.eval_language): c for c in m.cells}
        lines += ["## Exaggerated refusal and exaggerated compliance", "",
                  "One row per cell: refusal of XSTest's safe prompts (exaggerated refusal) next to compliance with "
                  "its unsafe contrasts and with SORRY-Bench (exaggerated compliance). Δ = fine-tuned minus base on "
                  "the same prompts, with its CI and the Holm-adjusted p.", "",
                  "| fine-tune | eval | XSTest safe: refused | Δ vs base | XSTest contrast: complied | Δ vs base "
                  "| SORRY-Bench: complied Δ | benign: refused | shift |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in o.cells:
            s = sorry.get((c.finetune_language, c.eval_language))
            lines.append(
                f"| {c.finetune_language} | {c.eval_language} | {_rate_ci(c.safe_refusal)}{refusal_split(c.safe_refusal)} | "
                f"{_diff_p(c.safe_refusal.vs_base)} | {_rate_ci(c.contrast_compliance)} | "
                f"{_diff_p(c.contrast_compliance.vs_base)} | {_diff_p(s.vs_base if s else None)} | "
                f"{_rate_ci(c.benign_refusal)}{refusal_split(c.benign_refusal)} | {c.shift or '–'} |")
        lines += ["", refusal_judges_line(o.cells)]
        if not o.measured:
            lines += ["", "XSTest was not in this run (datasets.xstest is off): only the benign probe is measured."]
        lines += ["", f"Method: {o.method}.", *([f"Shift: {o.shift_method}.", ""] if o.shift_method else [""])]
    cap = m.capability
    if cap is not None and cap.cells:
        comp = {(c.finetune_language, c.eval_language): c.vs_base for c in m.cells}
        lines += ["## Capability: held-out benign loss", "",
                  "| fine-tune | eval | examples | mean NLL (nats/token) | perplexity | bits/byte | Δ NLL vs base | "
                  "perplexity ratio | Δ compliance |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for cc in cap.cells:
            d, dc = cc.vs_base, comp.get((cc.finetune_language, cc.eval_language))
            per_byte = cc.model_dump()  # bits per byte: comparable across languages, where nats/token are not
            bpb = (f"{_fmt(per_byte.get('bits_per_byte'), digits=3)} "
                   f"{_ci(per_byte.get('bpb_ci_low'), per_byte.get('bpb_ci_high'), digits=3)}")
            loss_d = "–" if d is None or d.diff is None else (
                f"{_fmt(d.diff, True, 3)} {_ci(d.ci_low, d.ci_high, True, 3)}, p={_p(d.p_adjusted)}")
            lines.append(
                f"| {cc.finetune_language} | {cc.eval_language} | {cc.n} | {_fmt(cc.mean_nll, digits=3)} "
                f"{_ci(cc.ci_low, cc.ci_high, digits=3)} | {_fmt(cc.perplexity, digits=1)} "
                f"{_ci(cc.ppl_ci_low, cc.ppl_ci_high, digits=1)} | {bpb} | {loss_d} | "
                f"{_fmt(d.ppl_ratio, digits=3) if d else '–'} | {_fmt(dc.diff if dc else None, True)} |")
        lines += ["", f"Method: {cap.method}.", ""]
        if cap.lm_eval is not None and cap.lm_eval.tasks:
            lines += ["### lm-eval tasks", "", "| model | task | metric | value | stderr | n | Δ vs base |",
                      "|---|---|---|---|---|---|---|"]
            for t in cap.lm_eval.tasks:
                lines.append(f"| {t.model} | {t.task} | {t.metric} | {_fmt(t.value, digits=3)} | "
                             f"{_fmt(t.stderr, digits=3)} | {t.n} | {_diff_p(t.vs_base)} |")
            lines += ["", f"Method: {cap.lm_eval.method}.", ""]
    rep = m.representation
    if rep is not None and rep.cells:
        lines += _representation_lines(rep.model_dump())
    for measure, why in m.skipped.items():  # models brought in without weights here (config `models:`, served)
        lines += [f"Not measured for {measure}: " + "; ".join(f"{model} ({reason})" for model, reason in why.items())
                  + ".", ""]
    if results.figures:
        lines += ["## Figures", ""]
        for name in results.figures:
            lines += [f"### {CAPTIONS.get(name, name)}", "", f"![{name.removesuffix('.png')}]({name})", ""]
            if name in ESTIMATES:
                lines += [f"What it estimates: {ESTIMATES[name]}.", ""]
    return lines


def _representation_lines(rep: dict) -> list[str]:
    """summary.md's drift section: per cell the debiased CKA (headline) with its CI beside the older estimators, the
    drift per fine-tune language, English vs each language, and the seed noise floor."""

    def sim(c: dict, key: str) -> str:
        low, high = (c.get("ci") or {}).get(key, [None, None])
        return f"{_fmt(c.get(key), digits=3)} {_ci(low, high, digits=3)}" if low is not None else _fmt(c.get(key), digits=3)

    lines = ["## Representational drift (base vs fine-tuned hidden states)", "",
             "Similarity over the top third of the layers (1 = unchanged; drift = 1 − similarity); the headline is "
             "debiased CKA over the user's content tokens (about 0 for unrelated representations, where plain CKA is "
             "near 1 at this probe count). Brackets: bootstrap CI over probes.", "",
             "| fine-tune | eval | probes | layers (top) | debiased CKA, content | debiased CKA, last token "
             "| cosine, content | CKA mean-pooled (old) |",
             "|---|---|---|---|---|---|---|---|"]
    for c in rep["cells"]:
        top = f"{c['n_layers']} ({min(c['top_layers'])}–{max(c['top_layers'])})"
        lines.append(f"| {c['finetune_language']} | {c['eval_language']} | {c['n_probes']} | {top} | "
                     f"{sim(c, 'dcka_content_top')} | {sim(c, 'dcka_last_top')} | {sim(c, 'cosine_content_top')} | "
                     f"{_fmt(c.get('cka_mean_top'), digits=4)} |")
    if rep.get("aggregate"):
        lines += ["", "Drift per fine-tune language (1 − debiased CKA over content tokens, mean over eval languages):",
                  "", "| fine-tune | drift | English minus this language | p (Holm) |", "|---|---|---|---|"]
        vs = {t["language"]: t for t in rep.get("english_vs") or []}
        for a in rep["aggregate"]:
            t = vs.get(a["finetune_language"])
            diff = "–" if t is None else (f"{_fmt(t['diff'], True, 3)} {_ci(t['ci_low'], t['ci_high'], True, 3)}"
                                          + (" (English drifts more)" if t["english_drifts_more"] else ""))
            lines.append(f"| {a['finetune_language']} | {_fmt(a['drift'], digits=3)} "
                         f"{_ci(a['ci_low'], a['ci_high'], digits=3)} | {diff} | "
                         f"{_p(t.get('p_adjusted')) if t else '–'} |")
        lines += ["", f"Aggregate: {rep.get('aggregate_method')}."]
    floor = rep.get("noise_floor") or {}
    if floor.get("drift") is not None:
        lines += ["", f"Seed noise floor (1 − debiased CKA between two seeds' adapters of one language, content tokens, "
                      f"top third; {floor.get('pairs')} pairs): {_fmt(floor['drift'], digits=3)}."]
    elif floor.get("reason"):
        lines += ["", f"Seed noise floor: not measured ({floor['reason']})."]
    lines += per_layer_lines(rep)
    lines += ["", f"Method: {rep['method']}. Per-layer arrays: representation/<fine-tune>/<eval>.npz.", ""]
    return lines


def study_lines(design: dict | None, official: dict | None, ci: str, left_out: int = 0) -> list[str]:
    """The study-design figures (bench_runner/metrics/study.py), each with what it estimates; `left_out`: the
    SORRY-Bench items the eval set left out in every language (qa_excluded.sorry_items)."""
    lines: list[str] = []
    if design and design.get("cells"):
        lines += ["## Fold change against base, seed spread, and the tests across fine-tune languages", "",
                  "Fold change: compliance of a fine-tune language's adapters (mean over its seeds) divided by the "
                  "base model's, on the same prompts of one eval language. Seed spread: the sd of the cell's "
                  "compliance over its adapters, the noise floor of every language effect. Unit of replication: the "
                  "adapter (fine-tune language x training seed) and the prompt; CI: per cell, with the seed variance "
                  "in it; simultaneous CI: max-T over every cell of the table (the family the largest fold change "
                  "is picked from).", "",
                  f"| fine-tune | eval | fold change | {ci} CI | simultaneous CI | plain ratio | seeds | seed sd | note |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in design["cells"]:
            spread = c["seed_spread"]
            lines.append(f"| {c['finetune_language']} | {c['eval_language']} | {_fmt(c.get('fold_change'))} | "
                         f"{_ci(c.get('ci_low'), c.get('ci_high'))} | "
                         f"{_ci(c.get('ci_low_simultaneous'), c.get('ci_high_simultaneous'))} | "
                         f"{_fmt(c.get('fold_change_raw'))} | {spread['n_seeds']} | {_fmt(spread['sd'], digits=3)} | "
                         f"{c.get('note', '')} |")
        lines += ["", f"Method: {design['fold_change_method']}.", ""]
        top = design.get("largest")
        if top:
            lines += [f"Largest fold change: {top['finetune_language']} → {top['eval_language']}, "
                      f"{_fmt(top['fold_change'])} (bias-corrected {_fmt(top['fold_change_corrected'])}), "
                      f"selection-aware {ci} interval {_ci(top['ci_low'], top['ci_high'])}. Method: {top['method']}.", ""]
        for name, what in (("heterogeneity", "Does compliance differ by fine-tune language beyond seed-to-seed "
                                             "variation?"),
                           ("interaction", "Does the effect of the fine-tune language depend on the eval language?")):
            t = design[name]
            result = (f"F = {_fmt(t['statistic'])}, df {t['df']}, p = {_p(t['p_value'])} (permutation; F "
                      f"distribution {_p(t['p_value_f'])})" if t["p_value"] is not None else "not tested")
            note = f" ({t['note']})" if t["note"] else ""
            lines += [f"{what} {result}{note}. Method: {t['method']}.", ""]
    if official and official.get("cells"):
        lines += ["## Compliance as SORRY-Bench's official script reports it", "",
                  "Macro: the mean of the category rates (every category weighs the same, as the official "
                  "aggregation); micro: pooled over prompts (the rate above).", "",
                  "| model | eval | micro | macro | official | categories | non-0/1 numbers | no number |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in official["cells"]:
            lines.append(f"| {c['finetune_language']} | {c['eval_language']} | {_fmt(c['micro'])} | "
                         f"{_fmt(c['macro'])} | {_fmt(c['official'])} | {c['n_categories']} | {c['non_binary']} | "
                         f"{c['no_number']} |")
        lines += ["", f"Method: {official['method']}.", ""] + _prompt_set_lines(official, left_out)
    return lines


def _prompt_set_lines(official: dict, left_out: int) -> list[str]:
    """Which prompt set each figure uses, and the English cells on the full English set."""
    common = official.get("common_items")
    if common is None:  # a run from before the two prompt sets
        return []
    lines = [f"Prompt sets: every figure across languages (the compliance cells at the top, the table above, the "
             f"fold changes and the tests) uses the common set ({common} SORRY-Bench items answered in every eval "
             "language). SORRY-Bench's own English number is the English cell on the full English set (English is "
             "also answered on the items another language's translation QA left out):", ""]
    full = [c for c in official["cells"] if c.get("full_set")]
    for c in full:
        f = c["full_set"]
        lines.append(f"- {c['finetune_language']}: micro {_fmt(f['micro'])}, macro {_fmt(f['macro'])}, official "
                     f"{_fmt(f['official'])} (n={f['n']}, {f['extra_items']} items beyond the common set)")
    if full and left_out and not any(c["full_set"]["extra_items"] for c in full):
        lines.append(f"- {left_out} item(s) failed translation QA in some language but none is in the English "
                     "cells: a run from before English was answered on its full set")
    return [*lines, ""]
