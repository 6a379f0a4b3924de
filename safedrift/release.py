"""The release pipeline, the one place that knows the order: build -> QA -> stage -> gate -> swap -> push.

Each step is one stage's function; the stages never call each other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from builders.build import run_build
from cards.config import ReleaseConfig
from cards.push import preflight, run_push
from cards.release import stage_release, swap_release
from safedrift.errors import ConfigError
from validation.gate import check_gate
from validation.qa import run_qa


def publish(cfg: ReleaseConfig, hub_org: str | None = None) -> dict[str, Path]:
    """Stage every dataset's folder, run the release gate on the staged folders, then swap them into place.

    A gate failure raises before anything is swapped; the staging folders are removed either way.
    """
    staged = stage_release(cfg, hub_org)
    try:
        if cfg.qa.gate.enabled:
            check_gate(staged.folders, staged.languages, cfg,
                       docs_dirs={key: folder / "qa" / "data_docs" for key, folder in staged.folders.items()},
                       failure_docs_dir=cfg.work_path / "gate" / "data_docs")
        return swap_release(staged, cfg)
    finally:
        staged.discard()


def release(cfg: ReleaseConfig, *, hub_org: str | None = None, push: bool = False, dry_run: bool = False,
            echo: Callable[[str], None] = print) -> dict[str, Path]:
    """The whole release; with `push` (or `dry_run`, which only prints the plan) it goes to the Hub after."""
    org = hub_org or cfg.hub.org
    if (push or dry_run) and not org:
        raise ConfigError("--push and --dry-run need --hub-org ORG (make: HUB_ORG=ORG) or hub.org in the config.")
    if push and dry_run:
        raise ConfigError("--push and --dry-run exclude each other: --dry-run only prints what --push would send.")
    if push:
        preflight()  # a missing token or an offline Hub surfaces before the long build, not after it
    run_build(cfg)
    run_qa(cfg)
    written = publish(cfg, org)
    for name, path in written.items():
        echo(f"{name}: {path}")
    if push or dry_run:
        run_push(cfg, org=org, yes=push, echo=echo)
    return written
