"""Preflight (bench_runner/preflight.py), path resolution (bench_runner/paths.py) and what a failed stage leaves.

Each late failure of a run (a language missing from the release, a judge not in the cache offline, a local path
that does not exist, a vLLM environment that is not there, an output folder that cannot be written) is reported
before any stage runs, all of them in one message; `safedrift bench --check` runs only the checks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support.fixtures import tiny_config_dict

from bench_runner.config import config_locations, load_config, parse_config
from bench_runner.data import load_split
from bench_runner.pipeline import BenchRun
from bench_runner.preflight import PreflightError, check, preflight
from safedrift.core.errors import DataError, MissingDependencyError, run_cli
from safedrift.core.files import JsonlAppender

SHA = "0123456789abcdef0123456789abcdef01234567"


def _cfg(tmp_path, tiny_model, tiny_release, **overrides):
    data = tiny_config_dict(tmp_path, tiny_model, tiny_release, **overrides)
    data["datasets"]["xstest"] = None  # the tiny release has no XSTest
    return parse_config(data)


def test_every_late_failure_is_listed_at_once_and_nothing_runs(tmp_path, bench_home, tiny_model, tiny_release,
                                                               monkeypatch):
    monkeypatch.setattr("bench_runner.model_checks.total_memory", lambda: 64 * 2**30)  # a 7B judge fits in RAM
    cfg = _cfg(tmp_path, tiny_model, tiny_release, finetune_languages=["base", "en", "de"],
               eval_languages=["en", "fr"], model={"local_dir": str(tmp_path / "no-model")},
               judge={"name": "sorry-bench", "model": {"hub_id": "safedrift-tests/no-judge", "revision": SHA}})
    with pytest.raises(PreflightError) as err:
        run = BenchRun(cfg)
        run.preflight()  # as `safedrift bench` does before the first stage
        run.run()
    problems = err.value.problems
    text = str(err.value)
    assert len(problems) == 5, text
    assert "datasets.benign: fine-tune language de is not in the release" in text and "(it has en, pt)" in text
    assert "datasets.sorry: eval language fr is not in the release" in text
    assert "datasets.benign: eval language fr is not in the release" in text  # its held-out test split
    assert f"model.local_dir: '{tmp_path / 'no-model'}' does not exist" in text
    # The judge's own key is named, not model.local_dir.
    judge = next(p for p in problems if p.startswith("judge.model.hub_id"))
    assert "not in the Hugging Face cache and the Hub is offline" in judge and "judge.model.local_dir" in judge
    assert "model.local_dir" not in judge.replace("judge.model.local_dir", "")
    assert text.startswith("run tiny: 5 problems found before running anything (nothing was run):\n  - ")
    assert not (tmp_path / "runs").exists()  # no stage folder, no empty file


def test_a_branch_revision_offline_and_a_missing_judge_dir_name_the_judge_keys(tmp_path, bench_home, tiny_model,
                                                                              tiny_release):
    official = "sorry-bench/ft-mistral-7b-instruct-v0.2-sorry-bench-202406"
    cfg = _cfg(tmp_path, tiny_model, tiny_release,
               judge={"name": "sorry-bench", "model": {"hub_id": official, "revision": "main"}})
    problems = preflight(cfg).problems
    assert [p for p in problems if p.startswith("judge.")] == [
        f"judge.model.revision 'main' is a branch or tag, which cannot be resolved to a commit while the Hub is "
        f"offline (HF_HUB_OFFLINE) and {official} is not cached; set judge.model.revision to the commit sha of "
        f"{official} (40 hex characters, listed under the model's 'Files and versions' history on the Hub), or "
        "point judge.model.local_dir at a downloaded copy"]
    # No revision written at all: the official judge is never run at whatever `main` is today.
    cfg = _cfg(tmp_path, tiny_model, tiny_release, judge={"name": "sorry-bench", "model": {"hub_id": official}})
    (problem,) = [p for p in preflight(cfg).problems if p.startswith("judge.")]
    assert problem.startswith(f"judge.model.revision must pin {official} to a commit sha")
    cfg = _cfg(tmp_path, tiny_model, tiny_release,
               judge={"name": "sorry-bench", "model": {"local_dir": str(tmp_path / "j")}})
    assert [p for p in preflight(cfg).problems if p.startswith("judge.")] == [
        f"judge.model.local_dir: '{tmp_path / 'j'}' does not exist; point it at a saved model's folder"]


def test_a_sorry_bench_judge_on_a_cpu_is_named(tmp_path, bench_home, tiny_model, tiny_release, monkeypatch):
    cfg = _cfg(tmp_path, tiny_model, tiny_release, judge={"name": "sorry-bench", "model": {"local_dir": str(tiny_model)}})
    result = check(cfg)  # the tiny judge fits in memory: a warning, not a problem
    assert result.problems == []
    (warning,) = [w for w in result.warnings if "sorry-bench" in w]
    assert f"judge sorry-bench ({tiny_model})" in warning and "no GPU is in use" in warning
    assert "judge.name: refusal" in warning
    # The official 7B judge on a machine with 8 GiB of memory cannot run at all: a problem.
    monkeypatch.setattr("bench_runner.model_checks.total_memory", lambda: 8 * 2**30)
    cfg = _cfg(tmp_path, tiny_model, tiny_release, judge={
        "name": "sorry-bench", "model": {"hub_id": "sorry-bench/ft-mistral-7b-instruct-v0.2-sorry-bench-202406",
                                         "revision": SHA, "dtype": "bfloat16"}})
    (problem,) = [p for p in preflight(cfg).problems if p.startswith("judge sorry-bench")]
    assert "7.2B-parameter model: on this CPU-only machine it needs about 13 GiB of memory and the machine has " \
           "8 GiB" in problem


def test_the_vllm_backend_without_its_environment(tmp_path, bench_home, tiny_model, tiny_release):
    cfg = _cfg(tmp_path, tiny_model, tiny_release,
               generation={"backend": "vllm", "vllm": {"python": str(tmp_path / "no-venv" / "bin" / "python")}})
    (problem,) = preflight(cfg).problems
    assert problem.startswith("generation.backend vllm: vllm is not installed (no vLLM environment at ")
    # The install hint a checkout needs, the make target, and the device vLLM needs.
    assert ".venv/bin/pip install -e '.[vllm]'" in problem and "`make vllm-env`" in problem
    assert "vLLM needs a GPU, or its CPU build" in problem
    with pytest.raises(MissingDependencyError, match="vLLM needs a GPU"):
        from bench_runner.serving.vllm import check_vllm_python

        check_vllm_python(cfg.generation.vllm)


def test_an_output_folder_that_cannot_be_written(tmp_path, bench_home, tiny_model, tiny_release):
    (tmp_path / "a-file").write_text("not a folder")
    cfg = _cfg(tmp_path, tiny_model, tiny_release, runs_dir=str(tmp_path / "a-file" / "runs"))
    assert preflight(cfg).problems == [f"runs_dir: {tmp_path / 'a-file'} is a file, not a folder; set runs_dir "
                                       "to a folder"]


def test_a_ready_config_passes_with_what_it_checked(tmp_path, bench_home, tiny_model, tiny_release):
    result = check(_cfg(tmp_path, tiny_model, tiny_release))
    assert result.problems == []
    benign, sorry = tiny_release
    assert f"datasets.benign {benign}: train split for en, pt" in result.checked
    assert f"datasets.sorry {sorry}: test split for en, pt" in result.checked
    assert f"model.local_dir {tiny_model}" in result.checked
    assert any(c.startswith(f"runs_dir {tmp_path} writable") for c in result.checked)


# ---- relative paths and the command ---------------------------------------------------------------------------

def _project(tmp_path: Path, tiny_model: Path, tiny_release: tuple[Path, Path], **extra) -> Path:
    """<tmp>/project/configs/run.yaml with paths relative to it: ../data/<release>, ../model; returns the file."""
    project = tmp_path / "project"
    for folder in tiny_release:
        shutil.copytree(folder, project / "data" / folder.name)
    card = project / "data" / "SORRY-Bench-Multilingual" / "README.md"
    card.write_text(card.read_text().replace("---\nconfigs:", "---\nversion: 1.2.0\nconfigs:", 1))
    shutil.copytree(tiny_model, project / "model")
    cfg = tiny_config_dict(tmp_path, tiny_model, tiny_release, **extra)
    cfg["model"]["local_dir"] = "../model"
    cfg["datasets"].update(benign="../data/Multilingual-Benign-Tune", sorry="../data/SORRY-Bench-Multilingual",
                           xstest=None)
    path = project / "configs" / "run.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_relative_paths_are_read_from_the_config_folder(tmp_path, bench_home, tiny_model, tiny_release,
                                                        monkeypatch):
    path = _project(tmp_path, tiny_model, tiny_release)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(path)
    project = path.parent.parent
    assert cfg.datasets.sorry == str(project / "data" / "SORRY-Bench-Multilingual")
    assert cfg.model.local_dir == str(project / "model")
    where = config_locations(cfg)["datasets.benign"]
    assert (where.given, where.local, where.exists) == ("../data/Multilingual-Benign-Tune", True, True)
    # A Hub id stays a Hub id; a path-looking value that is nowhere is a local path that does not exist.
    from bench_runner.paths import locate

    assert not locate("datasets.sorry", "someorg/SORRY-Bench-Multilingual", path.parent).local
    missing = locate("datasets.sorry", "./release/SORRY-Bench-Multilingual", path.parent)
    assert missing.local and not missing.exists
    assert missing.missing_sentence() == (
        f"datasets.sorry: './release/SORRY-Bench-Multilingual' does not exist (a relative path is looked for in the "
        f"config file's folder, {path.parent}, then in the working directory, {elsewhere})")


def test_check_command_from_another_directory(tmp_path, bench_home, tiny_model, tiny_release, monkeypatch, capsys):
    from safedrift.cli import main

    path = _project(tmp_path, tiny_model, tiny_release)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run_cli(main, ["bench", "--check", str(path)]) == 0
    out = capsys.readouterr()
    project = path.parent.parent
    assert f"ok: datasets.sorry {project / 'data' / 'SORRY-Bench-Multilingual'}: test split for en, pt" in out.out
    assert f"{path}: ready to run" in out.out
    assert f"datasets.sorry: ../data/SORRY-Bench-Multilingual -> {project / 'data' / 'SORRY-Bench-Multilingual'}" \
        in out.err  # the resolved path is printed
    assert not (tmp_path / "runs").exists()  # --check runs nothing

    bad = yaml.safe_load(path.read_text())
    bad.update(eval_languages=["en", "de"], finetune_languages=["base", "fr"])
    bad["datasets"]["sorry"] = "./release/SORRY-Bench-Multilingual"
    path.write_text(yaml.safe_dump(bad))
    assert run_cli(main, ["bench", "--check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}: 3 problems found before running anything (nothing was run):\n  - " in err
    assert "datasets.sorry: './release/SORRY-Bench-Multilingual' does not exist" in err
    assert "datasets.benign: fine-tune language fr is not in the release" in err
    assert "datasets.benign: eval language de is not in the release" in err
    assert not (tmp_path / "runs").exists()


def test_a_missing_local_dataset_never_reaches_the_hub(tmp_path, bench_home, monkeypatch):
    import datasets

    def no_hub(*args, **kwargs):
        raise AssertionError("datasets.load_dataset was called")

    monkeypatch.setattr(datasets, "load_dataset", no_hub)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as err:
        load_split("./release/SORRY-Bench-Multilingual", "en", "test")
    msg = str(err.value)
    assert msg.startswith("dataset './release/SORRY-Bench-Multilingual' does not exist (a local path")
    assert "\n" not in msg and msg.endswith(".")
    # Offline, a Hub id that is not in the cache fails at once, in one sentence.
    with pytest.raises(DataError) as err:
        load_split("safedrift-tests/not-cached", "en", "test")
    assert "not in the Hugging Face cache, and the Hub is offline (HF_HUB_OFFLINE)" in str(err.value)
    assert "\n" not in str(err.value)


# ---- a failed stage leaves no empty file ----------------------------------------------------------------------

def test_jsonl_appender_creates_its_file_only_with_rows_or_success(tmp_path):
    with pytest.raises(RuntimeError), JsonlAppender(tmp_path / "a" / "samples.jsonl"):
        raise RuntimeError("the model did not load")
    assert not (tmp_path / "a").exists()
    with JsonlAppender(tmp_path / "b" / "samples.jsonl"):
        pass
    assert (tmp_path / "b" / "samples.jsonl").read_text() == ""
    with pytest.raises(RuntimeError), JsonlAppender(tmp_path / "c" / "samples.jsonl") as out:
        out.write_batch([{"uid": "x", "v": 1}])
        raise RuntimeError("crash after a batch")
    assert (tmp_path / "c" / "samples.jsonl").read_text() == '{"uid": "x", "v": 1}\n'


def test_a_failed_generation_leaves_no_empty_samples_file(tmp_path, bench_home, tiny_model, tiny_release,
                                                          monkeypatch):
    import bench_runner.generate

    def broken(*args, **kwargs):
        raise DataError("the backend did not start")

    monkeypatch.setattr(bench_runner.generate, "create_backend", broken)
    run = BenchRun(_cfg(tmp_path, tiny_model, tiny_release))
    with pytest.raises(DataError, match="did not start"):
        run.generate("base")
    assert list((tmp_path / "runs").rglob("*.jsonl")) == []


# ---- a run from another directory: resolved paths and provenance in results.json, readable outputs ---------------

def test_a_run_records_where_everything_came_from(tmp_path, bench_home, tiny_model, tiny_release, monkeypatch):
    import json

    from bench_runner.provenance import weights_sha256
    from bench_runner.report.schema import Results

    path = _project(tmp_path, tiny_model, tiny_release)
    project = path.parent.parent
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = BenchRun(load_config(path))
    run.run()
    raw = json.loads((run.run_dir / "results.json").read_text())
    results = Results.model_validate(raw)
    sorry = results.datasets["sorry"]
    assert sorry["given"] == "../data/SORRY-Bench-Multilingual" and sorry["local"] is True
    assert sorry["path"] == str(project / "data" / "SORRY-Bench-Multilingual")
    assert sorry["version"] == "1.2.0" and sorry["n_files"] == 2 and len(sorry["data_sha256"]) == 64
    benign = results.datasets["benign"]
    assert benign["version"] is None and benign["n_files"] == 4  # a card without a version says so
    assert results.config["datasets"]["sorry"] == sorry["path"] and results.config_file == str(path)
    # The weights by content, computed once and cached; no revision for a local model.
    weights = results.model["weights"]
    assert weights == {"path": str(project / "model"), "weights_sha256": weights_sha256(project / "model")}
    assert results.model["fingerprint"] == f"sha256:{weights['weights_sha256']}"
    assert "revision" not in results.model["spec"]
    toolkit = results.toolkit
    assert toolkit["version"] and len(toolkit["git_commit"] or "") in (0, 40)
    # summary.md: the loss curve as a figure, per-category cells with n < 5 marked, n and the vs-base CI.
    summary = (run.run_dir / "summary.md").read_text()
    assert "loss first → last" not in summary and "![training loss](loss_curve.png)" in summary
    assert (run.run_dir / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Compliance by category" in summary and "(n=2) †" in summary and "(n=1) †" in summary
    cell = next(c for c in results.metrics.cells if c.finetune_language == "pt" and c.eval_language == "en")
    d = cell.vs_base
    assert f"| pt | en | {cell.n} |" in summary and f"[{d.ci_low:+.2f}, {d.ci_high:+.2f}]" in summary
