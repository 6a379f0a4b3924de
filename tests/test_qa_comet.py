"""COMET through its own venv: skipped with a reason when absent, real scores from tiny local checkpoints
when `make comet-env` has been run (those tests skip with "run `make comet-env`" otherwise)."""

from __future__ import annotations

import math
import shutil

import pytest
from support.tiny_comet import COMET_PYTHON, build_tiny_comet

from safedrift.core.errors import ConfigError, DataError, MissingDependencyError
from validation.comet import CometError, CometResult, run_comet
from validation.config import CometConfig

# Written for these tests.
SOURCES = [
    "The ferry leaves the harbour at seven.",
    "Write two sentences about a sleeping cat.",
    "Sort the numbers 4, 19 and 7.",
]
TRANSLATIONS = [
    "O barco sai do porto às sete.",
    "Escreva duas frases sobre um gato dormindo.",
    "Ordene os números 4, 19 e 7.",
]
BACK = [
    "The boat leaves the port at seven.",
    "Write two phrases about a sleeping cat.",
    "Order the numbers 4, 19 and 7.",
]


def _one_sentence(msg: str) -> None:
    assert "\n" not in msg and msg.endswith("."), msg
    assert ". " not in msg.rstrip("."), msg


# --- COMET absent -------------------------------------------------------------------------------------------


def test_missing_venv_is_a_recorded_skip(tmp_path, isolated_home):
    python = tmp_path / "no-venv" / "bin" / "python"
    res = run_comet(SOURCES, TRANSLATIONS, None, CometConfig(python=str(python)), model="Unbabel/wmt22-cometkiwi-da")
    reason = f"the COMET venv was not found ({python}); run `make comet-env` to create it"
    assert res == CometResult(scores=None, system=None, model="Unbabel/wmt22-cometkiwi-da", skipped=reason)


def test_missing_venv_with_enabled_on_raises_one_sentence(tmp_path, isolated_home):
    cfg = CometConfig(enabled="on", python=str(tmp_path / "no-venv" / "bin" / "python"))
    with pytest.raises(MissingDependencyError) as err:
        run_comet(SOURCES, TRANSLATIONS, BACK, cfg, model="Unbabel/wmt22-comet-da")
    msg = str(err.value)
    assert msg.startswith("COMET is required (qa.comet.enabled: on) but the COMET venv was not found")
    assert "run `make comet-env`" in msg
    _one_sentence(msg)


def test_disabled_is_skipped_even_with_a_broken_python(tmp_path):
    cfg = CometConfig(enabled="off", python=str(tmp_path / "missing"))
    res = run_comet(SOURCES, TRANSLATIONS, None, cfg, model="m")
    assert res.skipped == "disabled in the config (qa.comet.enabled: off)" and res.scores is None


def test_python_without_comet_is_reported(isolated_home):
    import sys

    # The main venv's python runs but has no unbabel-comet (its pins conflict with the main venv).
    res = run_comet(SOURCES, TRANSLATIONS, None, CometConfig(python=sys.executable), model="m")
    assert res.scores is None and res.skipped == f"{sys.executable} has no unbabel-comet installed; run `make comet-env`"


def test_mismatched_lengths_are_a_data_error():
    with pytest.raises(DataError, match="one source and reference per translation"):
        run_comet(SOURCES, TRANSLATIONS, BACK[:2], CometConfig(enabled="off"), model="m")


# --- COMET venv present: tiny real checkpoints ---------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_comet(tmp_path_factory, isolated_env):
    if not COMET_PYTHON.exists():
        pytest.skip("run `make comet-env` to create the COMET venv these tests use")
    return build_tiny_comet(tmp_path_factory.mktemp("tiny-comet"), env=isolated_env)


@pytest.fixture
def comet_cfg():
    # The default, relative python path (.venv-comet/bin/python): taken from the working directory, else
    # from the repository root.
    return CometConfig(enabled="on", batch_size=2)


def _check_scores(res: CometResult, n: int) -> None:
    assert res.skipped is None
    assert res.scores is not None and len(res.scores) == n
    assert all(isinstance(s, float) and math.isfinite(s) for s in res.scores)
    assert res.system == pytest.approx(sum(res.scores) / n)
    # Random weights still read the input: different rows get different scores.
    assert len({round(s, 9) for s in res.scores}) == n


def test_reference_free_scores_are_real_and_deterministic(tiny_comet, comet_cfg, isolated_home, capsys,
                                                          tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the relative venv path then resolves from the repository root
    model = str(tiny_comet["qe"])
    first = run_comet(SOURCES, TRANSLATIONS, None, comet_cfg, model=model, desc="comet-qe test")
    _check_scores(first, 3)
    assert first.model == model
    # The worker's progress was forwarded to a tqdm bar named by `desc`.
    err = capsys.readouterr().err
    assert "comet-qe test" in err and "3/3" in err
    second = run_comet(SOURCES, TRANSLATIONS, None, comet_cfg, model=model)
    assert second.scores == first.scores and second.system == first.system


def test_reference_based_scores_from_a_checkpoint_file(tiny_comet, comet_cfg, isolated_home):
    # The QA stage scores the back-translation against the English source as reference.
    ckpt = tiny_comet["ref"] / "checkpoints" / "model.ckpt"
    res = run_comet(TRANSLATIONS, BACK, SOURCES, comet_cfg, model=str(ckpt))
    _check_scores(res, 3)
    # Reference-based: swapping in different references changes the scores.
    other = run_comet(TRANSLATIONS, BACK, list(reversed(SOURCES)), comet_cfg, model=str(ckpt))
    assert other.scores != res.scores and other.scores[1] == pytest.approx(res.scores[1])


def test_reference_based_model_without_references_is_skipped_with_the_worker_reason(tiny_comet, isolated_home):
    cfg = CometConfig(python=str(COMET_PYTHON))
    res = run_comet(TRANSLATIONS, BACK, None, cfg, model=str(tiny_comet["ref"]))
    assert res.scores is None and res.system is None
    assert res.skipped.startswith(f"the COMET worker for {tiny_comet['ref']} failed (exit 1): ")
    assert res.skipped.endswith("this COMET model is reference-based; every row needs a reference")


def test_broken_checkpoint_is_skipped_then_remembered_and_raises_when_on(tiny_comet, comet_cfg, tmp_path,
                                                                          isolated_home):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_comet["qe"], broken)
    (broken / "checkpoints" / "model.ckpt").write_bytes(b"not a checkpoint")
    auto = comet_cfg.model_copy(update={"enabled": "auto"})
    res = run_comet(SOURCES, TRANSLATIONS, None, auto, model=str(broken))
    assert res.scores is None
    assert res.skipped.startswith(f"the COMET worker for {broken} failed (exit 1): COMET could not load {broken} (")
    # Remembered: a started worker could not finish within this timeout, so the same reason means none started.
    again = run_comet(SOURCES, TRANSLATIONS, None, auto, model=str(broken), timeout_s=0.001)
    assert again.skipped == res.skipped
    with pytest.raises(ConfigError) as err:
        run_comet(SOURCES, TRANSLATIONS, None, comet_cfg, model=str(broken))
    msg = str(err.value)
    assert msg == f"COMET is required (qa.comet.enabled: on) but {res.skipped}."
    assert "\n" not in msg


def test_hub_id_is_loaded_from_the_hugging_face_cache_offline(tiny_comet, comet_cfg, isolated_home):
    # The Hub code path (comet.download_model -> snapshot_download, local files only), on a cache laid out as
    # huggingface_hub writes it, holding the tiny reference-free checkpoint.
    repo = isolated_home / ".cache/huggingface/hub/models--safedrift-test--tiny-cometkiwi"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_comet["qe"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    res = run_comet(SOURCES, TRANSLATIONS, None, comet_cfg, model="safedrift-test/tiny-cometkiwi")
    _check_scores(res, 3)
    local = run_comet(SOURCES, TRANSLATIONS, None, comet_cfg, model=str(tiny_comet["qe"]))
    assert res.scores == local.scores


def test_hub_model_missing_offline_is_skipped_before_starting_the_worker(tiny_comet, isolated_home):
    cfg = CometConfig(python=str(COMET_PYTHON))
    res = run_comet(SOURCES, TRANSLATIONS, None, cfg, model="Unbabel/wmt22-cometkiwi-da")
    assert res.scores is None
    assert res.skipped.startswith("the COMET model Unbabel/wmt22-cometkiwi-da is not in the Hugging Face cache")
    with pytest.raises(ConfigError, match="download it once online or point the config at a local checkpoint"):
        run_comet(SOURCES, TRANSLATIONS, None, cfg.model_copy(update={"enabled": "on"}),
                  model="Unbabel/wmt22-cometkiwi-da")


def test_missing_local_model_path_is_reported(tiny_comet, tmp_path, isolated_home):
    cfg = CometConfig(python=str(COMET_PYTHON))
    res = run_comet(SOURCES, TRANSLATIONS, None, cfg, model=str(tmp_path / "nowhere"))
    assert res.skipped == f"the COMET model path {tmp_path / 'nowhere'} does not exist"


def test_worker_timeout_is_a_skip_not_a_hang(tiny_comet, isolated_home):
    cfg = CometConfig(python=str(COMET_PYTHON))
    # Importing torch alone takes longer than this, so the worker is killed and the skip names the timeout.
    res = run_comet(SOURCES, TRANSLATIONS, None, cfg, model=str(tiny_comet["qe"]), timeout_s=0.2)
    assert res.scores is None and res.skipped == f"the COMET worker for {tiny_comet['qe']} timed out after 0.2 s"
    with pytest.raises(CometError, match=r"^COMET is required \(qa.comet.enabled: on\) but .* timed out after 0.2 s\.$"):
        run_comet(SOURCES, TRANSLATIONS, None, cfg.model_copy(update={"enabled": "on"}),
                  model=str(tiny_comet["qe"]), timeout_s=0.2)


def test_qa_stage_fills_the_comet_column_and_threshold(tiny_comet, isolated_home):
    """The QA stage's comet scorer: reference-free per row into `comet`, both system scores in the report,
    and `comet_min` flags rows below it."""
    from safedrift.core.specs import BENIGN
    from validation.config import QAConfig
    from validation.qa import score_language

    en = [{"id": f"r{i}", "instruction": t, "input": "", "output": o} for i, (t, o) in enumerate([
        ("Name a fruit.", "An apple."), ("Say hello.", "Hello there!"), ("Count to three.", "One, two, three.")])]
    pt = [{"id": r["id"], "instruction": t, "input": "", "output": o,
           "bt_instruction": r["instruction"], "bt_input": "", "bt_output": r["output"]}
          for r, (t, o) in zip(en, [("Cite uma fruta.", "Uma maçã."), ("Diga olá.", "Olá!"),
                                    ("Conte até três.", "Um, dois, três.")], strict=True)]
    comet = CometConfig(enabled="on", qe_model=str(tiny_comet["qe"]), ref_model=str(tiny_comet["ref"]))
    qa = QAConfig(scorers=["comet"], comet=comet)
    rows, report = score_language(BENIGN, "pt", pt, en, qa)
    scores = [r["comet"] for r in rows]
    assert all(isinstance(s, float) for s in scores) and len(set(scores)) == 3
    assert report["comet"]["qe"]["system"] == pytest.approx(sum(scores) / 3, abs=1e-3)
    assert report["comet"]["ref"]["system"] is not None and report["comet"]["ref"]["skipped"] is None
    assert all(r["qa_pass"] for r in rows)
    # A minimum between the lowest and highest score fails exactly the rows under it.
    cut = sorted(scores)[1]
    rows, report = score_language(BENIGN, "pt", pt, en, qa.model_copy(update={"comet_min": cut}))
    assert [("comet" in r["qa_flags"]) for r in rows] == [s < cut for s in scores]
    assert report["failed_checks"] == {"comet": 1}


def test_a_gpu_request_without_a_gpu_is_a_recorded_skip(tiny_comet, isolated_home):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the request is met")
    cfg = CometConfig(gpus=1)
    res = run_comet(SOURCES, TRANSLATIONS, None, cfg, str(tiny_comet["qe"]))
    assert res.scores is None
    assert res.skipped.endswith("qa.comet.gpus asks for a GPU but none is visible; set qa.comet.gpus: 0 to score "
                                "on the CPU (slow for large models)")
