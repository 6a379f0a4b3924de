"""The run as a comet-ml experiment: an offline archive beside the report by default, a live one with an API key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench_runner.report.figures import HEATMAP
from bench_runner.report.schema import Results
from safedrift.core.errors import ConfigError, missing_extra
from safedrift.core.log import log


def log_to_comet(results: Results, mode: str, project: str, folder: Path) -> str | None:
    """tracking.comet (`mode`): an offline archive under <folder>/comet by default, a live experiment when
    COMET_API_KEY is set; "off": nothing."""
    if mode == "off":
        return None
    live = mode == "online" or bool(os.environ.get("COMET_API_KEY"))
    if mode == "online" and not os.environ.get("COMET_API_KEY"):
        raise ConfigError("tracking.comet: online needs COMET_API_KEY; set it, or use `tracking: {comet: offline}`.")
    # Auto-logging hooks want comet_ml imported before torch; we log explicitly, so turn them off.
    os.environ.setdefault("COMET_DISABLE_AUTO_LOGGING", "1")
    try:
        import comet_ml
    except ImportError as exc:
        raise missing_extra("comet-ml", "bench") from exc
    quiet: dict[str, Any] = dict(auto_metric_logging=False, auto_param_logging=False, auto_output_logging=False, log_code=False,
                 log_git_metadata=False, log_git_patch=False, log_env_details=False, log_env_gpu=False,
                 log_env_host=False, log_env_cpu=False, log_graph=False, parse_args=False,
                 display_summary_level=0)
    exp: Any
    if live:
        exp = comet_ml.Experiment(project_name=project, **quiet)
    else:
        (folder / "comet").mkdir(parents=True, exist_ok=True)
        exp = comet_ml.OfflineExperiment(project_name=project, offline_directory=str(folder / "comet"), **quiet)
    exp.set_name(results.run_id)
    exp.log_parameters(_flatten(results.config))
    for lang, f in results.finetune.items():
        for step, loss in enumerate(f.loss, start=1):
            exp.log_metric(f"train_loss/{lang}", loss, step=step)
    for c in results.metrics.cells:
        if c.rate is not None:
            exp.log_metric(f"compliance/{c.finetune_language}/{c.eval_language}", c.rate)
    h = results.metrics.heterogeneity
    if h is not None and h.p_value is not None:
        exp.log_metric("heterogeneity/p_value", h.p_value)
    exp.log_table("compliance_matrix.csv", tabular_data=[
        [c.finetune_language, c.eval_language, c.n, c.rate, c.ci_low, c.ci_high, c.unparseable, c.empty,
         c.vs_base.p_value if c.vs_base else None, c.vs_base.p_adjusted if c.vs_base else None]
        for c in results.metrics.cells
    ], headers=["finetune_language", "eval_language", "n", "rate", "ci_low", "ci_high", "unparseable", "empty",
                "p_value", "p_adjusted"])
    exp.log_image(str(folder / HEATMAP), name="compliance_heatmap")
    for name in results.figures:
        exp.log_image(str(folder / name), name=name.removesuffix(".png"))
    exp.log_asset(str(folder / "results.json"))
    exp.end()
    where = "comet.com" if live else str(folder / "comet")
    log(f"comet-ml: logged to {where}")
    return where


def _flatten(obj, prefix: str = "") -> dict:
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    out[prefix.rstrip(".")] = obj if not isinstance(obj, list) else ",".join(map(str, obj))
    return out
