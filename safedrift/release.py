"""The release pipeline, the one place that knows the order: build -> QA -> stage -> gate -> swap -> push.

Each step is one stage's function; the stages never call each other. Every command that writes takes the
work directory's lock (build, qa, publish, release, push), and whatever writes into the release folder takes
that folder's lock too, so two work dirs cannot publish into it at once. Every run first finishes or removes
what a crashed run left in the release folder (cards.swap.recover). A phase boundary is a crash point
(safedrift.core.files.crash_point) for the crash tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from builders.build import run_build
from cards.config import ReleaseConfig
from cards.push import preflight, run_push
from cards.release import stage_release, swap_release
from cards.swap import recover
from safedrift.core.errors import ConfigError, SafedriftError, disk_error, disk_errors
from safedrift.core.files import WORK_LOCK, crash_point, output_lock, work_lock
from validation.gate import check_gate
from validation.qa import run_qa

LOCK_FILE = WORK_LOCK  # the name tests and the README use

__all__ = ["LOCK_FILE", "build", "check_paths", "publish", "qa", "release", "work_lock"]


def check_paths(cfg: ReleaseConfig) -> None:
    """The work and output folders can be folders: checked before any work, not after minutes of it."""
    for what, path, option in (("work directory", cfg.work_path, "--work-dir"),
                               ("release folder", cfg.output_path, "--output-dir")):
        for part in (path, *path.parents):
            if part.exists() and not part.is_dir():
                raise ConfigError(f"the {what} {path} cannot be created: {part} is a file, not a folder; choose "
                                  f"another {option} (or `{'work_dir' if option == '--work-dir' else 'output_dir'}"
                                  ":` in the config) or move the file away.")
            if part.is_dir():
                break


@contextmanager
def _writing(cfg: ReleaseConfig) -> Iterator[None]:
    """The work-dir lock, with a refused write in it (full disk, file-size limit, read-only) as one sentence."""
    check_paths(cfg)
    with work_lock(cfg.work_path), disk_errors(cfg.work_path):
        yield


def build(cfg) -> Path:
    """`safedrift build`: the build stage under the work-dir lock (cfg: a builders BuildConfig)."""
    with _writing(cfg):
        return run_build(cfg)


def qa(cfg) -> Path:
    """`safedrift qa`: the QA stage under the work-dir lock (cfg: a validation QAStageConfig)."""
    with _writing(cfg):
        return run_qa(cfg)


def publish(cfg: ReleaseConfig, hub_org: str | None = None) -> dict[str, Path]:
    """Stage every dataset's folder, run the release gate on the staged folders, then swap them into place.

    A gate failure raises before anything is swapped; the staging folders are removed either way.
    """
    with _writing(cfg):
        return _publish(cfg, hub_org)


def _publish(cfg: ReleaseConfig, hub_org: str | None) -> dict[str, Path]:
    out = cfg.output_path
    try:
        with output_lock(out):
            recover(out)
            staged = stage_release(cfg, hub_org)
            try:
                crash_point("staged")
                if cfg.qa.gate.enabled:
                    check_gate(staged.folders, staged.languages, cfg,
                               docs_dirs={key: folder / "qa" / "data_docs" for key, folder in staged.folders.items()},
                               failure_docs_dir=cfg.work_path / "gate" / "data_docs")
                crash_point("gated")
                written = swap_release(staged, cfg)
            finally:
                staged.discard()
            crash_point("swapped")
            return written
    except OSError as exc:
        if disk_error(exc) is None:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        raise SafedriftError(f"cannot write the release into {out} ({exc.strerror}{where}); free space or make it "
                             "writable, or choose another --output-dir; the previous release is unchanged.") from None


def release(cfg: ReleaseConfig, *, hub_org: str | None = None, push: bool = False, dry_run: bool = False,
            echo: Callable[[str], None] = print) -> dict[str, Path]:
    """The whole release; with `push` (or `dry_run`, which only prints the plan) it goes to the Hub after."""
    org = hub_org or cfg.hub.org
    if (push or dry_run) and not org:
        raise ConfigError("--push and --dry-run need --hub-org ORG (make: HUB_ORG=ORG) or hub.org in the config.")
    if push and dry_run:
        raise ConfigError("--push and --dry-run exclude each other: --dry-run only prints what --push would send.")
    with _writing(cfg):
        if push:
            # a missing token, an offline or unreachable Hub surfaces before the long build, not after it
            preflight(cfg.hub.endpoint, reach=True)
        with output_lock(cfg.output_path):
            recover(cfg.output_path)
        run_build(cfg)
        crash_point("built")
        run_qa(cfg)
        crash_point("qa")
        written = _publish(cfg, org)
        for name, path in written.items():
            echo(f"{name}: {path}")
        if push or dry_run:
            with output_lock(cfg.output_path):
                run_push(cfg, org=org, yes=push, echo=echo)  # crash points inside (cards.push.push_plans)
    for lang, why in skipped_languages(cfg, written_languages(cfg)).items():
        echo(f"skipped {lang}: {why}")
    return written


def written_languages(cfg: ReleaseConfig) -> list[str]:
    from cards.card import read_provenance

    return list(read_provenance(cfg.work_path)["translated"]["languages"])


def skipped_languages(cfg, built: list[str]) -> dict[str, str]:
    """Every known language (safedrift.core.languages) the release did not build, with why: not configured, or
    no configured engine translates it (`safedrift engines` gives each engine's install hint)."""
    from builders.build import engine_candidates, make_engine
    from safedrift.core.languages import LANGUAGES, SOURCE_LANGUAGE

    tcfg, out, engines, unavailable = cfg.translation, {}, {}, {}
    for name in dict.fromkeys([*tcfg.engines, *tcfg.per_language.values()]):
        try:
            engines[name] = make_engine(tcfg, name)
        except SafedriftError as exc:  # an engine the build never needed, e.g. a missing extra
            unavailable[name] = f"{name} is unavailable: {exc}"
    for lang in (code for code in LANGUAGES if code not in built):
        names = engine_candidates(tcfg, lang)
        able = [n for n in names if n in engines and engines[n].supports(SOURCE_LANGUAGE, lang)
                and (not tcfg.back_translate or engines[n].supports(lang, SOURCE_LANGUAGE))]
        if able:
            out[lang] = f"not in the config's `languages:` ({able[0]} can translate it; add it there)"
        else:
            gone = "".join(f"; {unavailable[n]}" for n in names if n in unavailable)
            out[lang] = (f"no configured engine translates {SOURCE_LANGUAGE}<->{lang} (tried {', '.join(names)}{gone}); "
                         "`safedrift engines` says how to add the pair")
    return out
