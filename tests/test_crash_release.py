"""Crash-point tests (SQLite's crash tests are the model): the release process is killed with SIGKILL at every
phase boundary of build -> QA -> stage -> gate -> swap ($SAFEDRIFT_CRASH_AT, safedrift.core.files.crash_point),
then rerun; the release folder must end byte-identical to an uninterrupted run, and between the two it holds
the previous release or the new one (never a missing dataset), with nothing that trips `validate`.

The previous release is version 0.1.0, the new one 0.2.0 (cards, reports and data docs differ; the parquet
files do not). Each run is a child process started from the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from cards.swap import JOURNAL, recover
from safedrift.cli import main
from safedrift.core.errors import run_cli
from safedrift.core.files import CRASH_ENV
from validation.release_folder import release_folders

# Minutes in all (each boundary is a kill and a rerun): with the slow tests, in `make test`.
pytestmark = pytest.mark.slow

NAMES = ["Multilingual-Benign-Tune", "SORRY-Bench-Multilingual"]
GOOD = [{"instruction": "Name a fruit.", "input": "", "output": "An apple is a fruit."},
        {"instruction": "Name a colour.", "input": "", "output": "Blue is a colour."}]
# (boundary, command that passes it, what the release folder holds right after the kill, before any rerun)
BOUNDARIES = [
    ("built", "release", "old"),
    ("qa", "release", "old"),
    ("staged", "publish", "old"),
    ("gated", "publish", "old"),
    ("swap-journal", "publish", "old"),
    ("swap-mid", "publish", "mixed"),  # the journal is there: the next run completes it
    ("swap-renamed", "publish", "new"),
    ("swapped", "publish", "new"),
]


def _run(argv: list[str], crash_at: str | None = None) -> int:
    """`safedrift ARGV` in a child process (the environment the test isolated, from the checkout); its exit status,
    or -signal when it was killed. A child process, not a fork: a fork of a process that loaded torch's and
    CTranslate2's thread pools can crash in the child before it reaches the boundary."""
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run([sys.executable, "-m", "safedrift", *argv], cwd=REPO, env=env).returncode


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _visible(folder: Path) -> dict[str, bytes]:
    """The release as a consumer sees it: hidden entries (a crashed run's staging folders) left out."""
    return {k: v for k, v in _snapshot(folder).items() if not k.startswith(".")}


def _dataset(snapshot: dict[str, bytes], name: str) -> dict[str, bytes]:
    return {k: v for k, v in snapshot.items() if k.startswith(f"{name}/")}


def _config(root: Path, version: str, work: Path, out: Path) -> Path:
    data = root / "b.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in GOOD), encoding="utf-8")
    cfg = {"name": "crash", "version": version, "languages": ["en", "pt"], "output_dir": str(out),
           "work_dir": str(work),
           "datasets": {"benign": NAMES[0], "sorry_bench": NAMES[1]},
           "benign": {"sources": [{"name": "sample", "path": str(data)}], "test_fraction": 0.5},
           "sorry_bench": {"path": "data/sample/sorry_bench_demo.jsonl", "demo": True, "limit": 3},
           "translation": {"engines": ["bergamot"]}}
    path = root / f"crash-{version}-{work.name}.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """The previous release (0.1.0) and what an uninterrupted 0.2.0 run makes of it, with their work dirs."""
    from conftest import isolate

    root = tmp_path_factory.mktemp("crash")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, root / "home")
        mp.delenv(CRASH_ENV, raising=False)
        assert _run(["release", str(_config(root, "0.1.0", root / "work", root / "old"))]) == 0
        shutil.copytree(root / "work", root / "work-new")
        shutil.copytree(root / "old", root / "new")
        assert _run(["release", str(_config(root, "0.2.0", root / "work-new", root / "new"))]) == 0
        yield root, mp


@pytest.mark.parametrize(("boundary", "command", "after_kill"), BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_a_kill_at_every_boundary_then_a_rerun_gives_the_uninterrupted_release(releases, boundary, command,
                                                                                after_kill):
    root, _ = releases
    case = root / boundary
    shutil.copytree(root / "work", case / "work")
    shutil.copytree(root / "old", case / "out")
    old, new = _visible(root / "old"), _visible(root / "new")
    assert old != new
    config = _config(case, "0.2.0", case / "work", case / "out")

    assert _run([command, str(config)], crash_at=boundary) == -signal.SIGKILL
    seen = _visible(case / "out")
    if after_kill == "mixed":  # every dataset is there, each one whole: the first new, the rest still old
        assert [_dataset(seen, n) for n in NAMES] == [_dataset(new, NAMES[0]), _dataset(old, NAMES[1])]
        assert (case / "out" / JOURNAL).is_file()
    else:
        assert seen == (old if after_kill == "old" else new)
    # validate's view of the folder: the datasets, never a crashed run's staging or old copies
    assert [p.name for p in release_folders([case / "out"])] == NAMES

    assert _run([command, str(config)]) == 0
    assert _snapshot(case / "out") == _snapshot(root / "new")  # byte-identical, no debris left


@pytest.mark.parametrize(("boundary", "to"), [("staged", "old"), ("gated", "old"), ("swap-journal", "new")])
def test_recovery_rolls_back_before_the_journal_and_forward_after_it(releases, boundary, to):
    root, _ = releases
    case = root / f"recover-{boundary}"
    shutil.copytree(root / "work", case / "work")
    shutil.copytree(root / "old", case / "out")
    assert _run(["publish", str(_config(case, "0.2.0", case / "work", case / "out"))], crash_at=boundary) == -9
    assert any(p.name.startswith(".staging-") for p in (case / "out").iterdir())
    assert recover(case / "out") is not None
    assert _snapshot(case / "out") == _snapshot(root / to)


def test_a_crash_inside_an_old_unjournalled_swap_is_put_back(releases):
    """Before the journal, a kill between the two renames of one dataset left it missing, its copy in
    `.<name>.old-<pid>`; the next run puts it back and removes stray staging folders."""
    root, _ = releases
    out = root / "legacy"
    shutil.copytree(root / "old", out)
    os.replace(out / NAMES[0], out / f".{NAMES[0]}.old-4242")
    shutil.copytree(root / "new" / NAMES[1], out / f".staging-{NAMES[1]}-4242")
    assert "removed what an interrupted run left" in (recover(out) or "")
    assert _snapshot(out) == _snapshot(root / "old")


# --- push: killed after the repositories are created, and between two repositories' commits ---------------

TOKEN = "hf_crash_test_token"


@pytest.fixture(scope="module")
def org_release(releases):
    """The 0.1.0 release built for the org `me` (a push needs its cards to name the real repositories)."""
    root, _ = releases
    shutil.copytree(root / "work", root / "work-org")
    config = _config(root, "0.1.0", root / "work-org", root / "org")
    assert _run(["publish", str(config), "--hub-org", "me"]) == 0
    return config


def _hub_state(hub) -> dict:
    return {repo_id: (repo.gated, {path: hash(data) for path, data in repo.files.items()}, sorted(repo.tags),
                      len(repo.commits)) for repo_id, repo in sorted(hub.repos.items())}


@pytest.mark.parametrize("boundary", ["push-created", "push-committed"])
def test_a_push_killed_at_every_boundary_then_rerun_matches_an_uninterrupted_push(org_release, boundary,
                                                                                   monkeypatch):
    import huggingface_hub.constants as hf_constants
    from support.fake_hub import FakeHub

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    with FakeHub(TOKEN) as clean:
        assert _run(["push", str(org_release), "--hub-org", "me", "--endpoint", clean.url]) == 0
        expected = _hub_state(clean)
    assert [len(files) for _, files, _, _ in expected.values()] != [0, 0]
    with FakeHub(TOKEN) as hub:
        argv = ["push", str(org_release), "--hub-org", "me", "--endpoint", hub.url]
        assert _run(argv, crash_at=boundary) == -signal.SIGKILL
        cut = _hub_state(hub)
        committed = [n for n, (_, files, tags, _) in cut.items() if files or tags]
        assert committed == ([] if boundary == "push-created" else [f"me/{NAMES[0]}"])
        assert all(gated == expected[n][0] for n, (gated, *_) in cut.items())  # gated before any upload
        assert _run(argv) == 0
        assert _hub_state(hub) == expected  # one commit and one tag per repository, every file


def test_push_completes_an_interrupted_swap_before_reading_the_release(releases, capsys):
    """A push never sends half of one release and half of another: it finishes the journalled swap first."""
    root, _ = releases
    case = root / "push-after-swap-mid"
    shutil.copytree(root / "old", case / "out")
    out = case / "out"
    # the state a kill at swap-mid leaves: first dataset swapped, the second still staged, the journal there
    os.replace(out / NAMES[0], out / f".{NAMES[0]}.old")
    shutil.copytree(root / "new" / NAMES[0], out / NAMES[0])
    shutil.copytree(root / "new" / NAMES[1], out / f".staging-{NAMES[1]}")
    (out / JOURNAL).write_text(json.dumps({"swap": NAMES}), encoding="utf-8")
    config = _config(case, "0.2.0", case / "work", out)
    run_cli(main, ["push", str(config), "--hub-org", "me", "--dry-run"])  # refused later: the cards are local (built without an org)
    assert _snapshot(out) == _snapshot(root / "new")
    assert "completed the swap of" in capsys.readouterr().err
