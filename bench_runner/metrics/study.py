"""metrics/study.json: the study-design figures beside metrics.json, from the same judged rows.

design: per cell the fold change against base with its seed spread, the fine-tune-language heterogeneity and
fine-tune x eval interaction tests with adapters as the unit, and the largest fold change with a selection-aware
interval (design.py); official: macro and pooled compliance and the official aggregation (official.py). The
adapters are the run's (fine-tune language -> one model label per training seed). Both on the common set (the
items answered in every eval language); official's English cell also on its full set."""

from __future__ import annotations

from bench_runner.config import BASE, MetricsConfig
from bench_runner.data import COMPLIANCE, kind_of
from bench_runner.metrics.design import design_figures
from bench_runner.metrics.official import COMMON_SET, common_items, official_rates, on_common_set
from bench_runner.metrics.over_refusal import values_by_measure


def study_figures(scores: list[dict], adapters: dict[str, list[str]], eval_languages: list[str], m: MetricsConfig,
                  base: str = BASE) -> dict:
    """{"design", "official"} from the judge's score rows (model = a model label, base included)."""
    models = [base] + [label for labels in adapters.values() for label in labels]
    present = {row["model"] for row in scores}
    headline = [row for row in scores if kind_of(row).headline]
    # The design compares eval languages (the interaction test): on the items answered in every one of them.
    grid = on_common_set(values_by_measure(scores)[COMPLIANCE.name], common_items(headline, eval_languages))
    design = design_figures(grid, adapters, eval_languages, base if base in present else None, m.n_resamples,
                            m.confidence, m.seed)
    design["prompt_set"] = COMMON_SET
    return {"design": design, "official": official_rates(headline, [x for x in models if x in present],
                                                        eval_languages)}
