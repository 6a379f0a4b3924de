"""generation.backend: vllm on vLLM's CPU build (.venv-vllm): SmolLM2-135M + a LoRA trained here, one server.

The server tests are slow (each server start takes minutes on 2 cores) and skip when .venv-vllm is missing;
the guard and the pure functions are checked without it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, isolate
from support.fixtures import tiny_config_dict
from support.tiny_release import write_release
from support.vllm_runner import CPU_ARGS

from bench_runner.config import GenerationConfig, JudgeConfig, ModelConfig, VllmConfig, parse_config
from bench_runner.generate.vllm import check_parity, parity, parity_indices, read_parity
from bench_runner.judge.sorry_bench import SorryBenchJudge
from bench_runner.pipeline import BenchRun
from bench_runner.serving.sampling import SamplingParams
from bench_runner.serving.server import ServerError, wait_gone
from bench_runner.serving.vllm import (
    VllmCompleter,
    VllmServing,
    lora_rank_limit,
    request_body,
    servable_model_dir,
    server_command,
)
from safedrift.core.errors import ConfigError, DataError, MissingDependencyError
from safedrift.core.files import iter_jsonl, read_manifest

VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
RUNNER = REPO / "tests" / "support" / "vllm_runner.py"


# ---- without a server ----------------------------------------------------------------------------------
def test_server_command_serves_every_adapter_with_a_spare_lora_slot(tmp_path):
    cmd = server_command(Path("/v/bin/python"), "/m", served_name="base", port=8123, dtype="float32", seed=3,
                         adapters={"en": tmp_path / "en", "pt": tmp_path / "pt"}, lora_rank=4, max_model_len=1024,
                         extra_args=["--kv-cache-memory-bytes", "1"])
    assert cmd == ["/v/bin/python", "-m", "vllm.entrypoints.openai.api_server", "--model", "/m",
                   "--served-model-name", "base", "--host", "127.0.0.1", "--port", "8123", "--dtype", "float32",
                   "--seed", "3", "--disable-log-stats", "--max-model-len", "1024", "--enable-lora",
                   "--max-loras", "3", "--max-lora-rank", "8", "--lora-modules", f"en={tmp_path / 'en'}",
                   f"pt={tmp_path / 'pt'}", "--kv-cache-memory-bytes", "1"]
    assert "--enable-lora" not in server_command(Path("p"), "m", served_name="b", port=1, dtype="auto", seed=0)
    assert [lora_rank_limit(r) for r in (1, 4, 8, 9, 64, 600)] == [1, 8, 8, 16, 64, 600]


def test_requests_are_greedy_completions_of_the_rendered_prompt():
    assert request_body("pt", SamplingParams(max_new_tokens=32, seed=7)) == {
        "model": "pt", "max_tokens": 32, "temperature": 0.0, "top_p": 1.0, "seed": 7, "n": 1,
        "add_special_tokens": False, "skip_special_tokens": True}
    # A judge's literal prompt gets the tokenizer's BOS, as vLLM's LLM.generate gives a text prompt.
    assert request_body("judge", SamplingParams(max_new_tokens=1024), add_special_tokens=True)["add_special_tokens"]


def test_parity_figures_and_the_floor(tmp_path):
    tf, base = ["a", "b", "c", "d"], ["a", "x", "y", "d"]
    good = parity(["a", "b", "c", "z"], tf, 0.5, base, uids=["u1", "u2", "u3", "u4"])
    assert (good["identical"], good["share"], good["passed"]) == (3, 0.75, True)
    assert good["differ"] == [{"uid": "u4", "vllm": "z", "transformers": "d"}]
    # An adapter vLLM did not apply answers like the base model where the adapter changed answers.
    unloaded = parity(base, tf, 0.5, base)
    assert (unloaded["share"], unloaded["passed"]) == (0.5, True)
    assert (unloaded["adapter_changed_under_transformers"], unloaded["vllm_gave_base_answer_where_adapter_changed"]) == (2, 2)
    bad = parity(["q", "r", "s", "d"], tf, 0.5)
    assert (bad["share"], bad["passed"]) == (0.25, False)
    with pytest.raises(DataError, match=r"too few parity prompts \(pt 1/4; floor 0.5\)"):
        check_parity({"base": good, "pt": bad, "en": None})
    check_parity({"base": good})
    (tmp_path / "parity.json").write_text(json.dumps(bad))
    assert read_parity(tmp_path) is None  # a failed check is redone, never reused
    (tmp_path / "parity.json").write_text(json.dumps(good))
    assert read_parity(tmp_path) == good
    assert parity_indices(8, 8) == list(range(8))
    assert parity_indices(100, 4) == [0, 25, 50, 75] and parity_indices(3, 8) == [0, 1, 2]
    assert parity_indices(10, 0) == []


def test_a_dequantized_gguf_folder_gets_a_view_vllm_can_load(tmp_path):
    folder = tmp_path / "SmolLM2-abc"
    folder.mkdir()
    config = {"model_type": "llama", "quantization_config": {"quant_method": "gguf", "gguf_file": "x.gguf"}}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(b"weights")
    view = servable_model_dir(folder)
    assert view == tmp_path / "SmolLM2-abc-vllm"
    assert json.loads((view / "config.json").read_text()) == {"model_type": "llama"}
    assert (view / "model.safetensors").is_symlink() and (view / "model.safetensors").read_bytes() == b"weights"
    assert servable_model_dir(folder) == view
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert servable_model_dir(plain) == plain


def test_vllm_config_keys():
    gen = GenerationConfig()
    assert gen.base_url is None and gen.vllm.python == ".venv-vllm/bin/python"
    assert (gen.vllm.parity_prompts, gen.vllm.parity_floor) == (8, 0.5)
    with pytest.raises(ConfigError, match=r"generation\.vllm\.pyton: unknown key.*did you mean 'python'"):
        parse_config({"run_id": "r", "model": {"local_dir": "m"}, "generation": {"vllm": {"pyton": "x"}}})
    with pytest.raises(ConfigError, match="parity_floor"):
        parse_config({"run_id": "r", "model": {"local_dir": "m"}, "generation": {"vllm": {"parity_floor": 2}}})


# ---- the guard: no server outlives its runner ----------------------------------------------------------
def group_members(pgid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != b"Z":
                out.append(int(entry))
    return out


def read_json_line(proc: subprocess.Popen, timeout_s: float, log: Path) -> dict:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            if line.startswith("{"):
                return json.loads(line)
        if proc.poll() is not None:
            break
    proc.kill()
    tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
    pytest.fail(f"the runner gave no ready line (exit {proc.poll()}); server log tail:\n{tail}")


def start_runner(args: list[str], timeout_s: float, log: Path) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, str(RUNNER), *args], stdout=subprocess.PIPE, text=True)
    return proc, read_json_line(proc, timeout_s, log)


# A stand-in server that spawns a worker of its own, as vLLM spawns its engine core.
TREE = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        "time.sleep(600)")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process groups from /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_the_guard_takes_the_server_and_its_workers_down_with_the_runner(tmp_path, sig):
    log = tmp_path / "server.log"
    runner, info = start_runner(["plain", str(log), "--", sys.executable, "-c", TREE], 60, log)
    deadline = time.monotonic() + 30
    while len(group_members(info["guard"])) < 3 and time.monotonic() < deadline:  # guard, server, worker
        time.sleep(0.1)
    members = group_members(info["guard"])
    assert len(members) == 3 and runner.pid not in members
    runner.send_signal(sig)
    runner.wait(timeout=30)
    assert wait_gone(members, 30) == []


def test_a_server_that_dies_at_start_up_is_one_error_with_its_cause(tmp_path):
    from bench_runner.serving.server import ServerClient, ServerProcess, free_port

    # The shape of a vLLM start-up failure: the cause first, then the engine's generic wrapper.
    script = ("import sys; print('(EngineCore pid=7) ERROR 11-29 16:27:33 [core.py:1] ValueError: head_dim 8 is "
              "not supported'); print('RuntimeError: Engine core initialization failed. See root cause above.');"
              " sys.exit(1)")
    port = free_port()
    log = tmp_path / "server.log"
    with ServerProcess([sys.executable, "-c", script], f"http://127.0.0.1:{port}", log, name="vLLM server") as server:
        with pytest.raises(ServerError) as err:
            server.wait_ready(60, ServerClient(server.url))
    assert str(err.value) == (f"the vLLM server exited during start-up: ValueError: head_dim 8 is not supported "
                              f"(full log: {log}).")


# ---- SmolLM2-135M and a LoRA on vLLM's CPU build ----------------------------------------------------------
@pytest.fixture(scope="module")
def smol(tmp_path_factory):
    """SmolLM2-135M with a pt LoRA trained on the tiny release (six steps at a high lr, so it changes
    answers); generation.backend: vllm."""
    if not VLLM_PYTHON.exists():
        pytest.skip(".venv-vllm is missing: `make vllm-env` builds vLLM's CPU build")
    root = tmp_path_factory.mktemp("vllm")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, root / "home")
        data = tiny_config_dict(
            root, root, write_release(root / "release"), finetune_languages=["base", "pt"],
            datasets={"sorry_limit": 3, "benign_test_limit": 1},
            training={"lr": 2e-3, "max_steps": 6, "batch_size": 2, "max_length": 128},
            generation={"backend": "vllm", "max_new_tokens": 16, "batch_size": 4,
                        "vllm": {"max_model_len": 1024, "extra_args": CPU_ARGS, "parity_prompts": 8}})
        data["model"] = {"builtin": "smollm2-135m-instruct", "device": "cpu"}
        run = BenchRun(parse_config(data))
        run.finetune("pt")
        yield run


def answers(folder: Path) -> dict[str, dict]:
    return {r["uid"]: r for r in iter_jsonl(folder / "samples.jsonl")}


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason=".venv-vllm is missing: `make vllm-env`")
def test_one_server_answers_for_the_base_model_and_the_adapter(smol):
    t0 = time.perf_counter()
    pt = smol.generate("pt")  # trains nothing (cached), starts one server for base + pt, checks parity
    seconds = time.perf_counter() - t0
    base = smol.generate("base")
    rows = {"base": answers(base), "pt": answers(pt)}
    assert len(rows["base"]) == 8 and rows["base"].keys() == rows["pt"].keys()
    versions = set()
    for model, by_uid in rows.items():
        for r in by_uid.values():
            assert r["backend"] == "vllm" and r["request"] == request_body(model, SamplingParams(16))
            assert r["raw_response"] and 0 < r["new_tokens"] <= 16
            assert not r["truncated"] or r["new_tokens"] == 16
            versions.add(r["server_version"])
    assert len(versions) == 1 and next(iter(versions)).split(".")[0].isdigit()
    # The adapter changes answers in the same server that answers for the base model.
    changed = sum(rows["base"][u]["raw_response"] != rows["pt"][u]["raw_response"] for u in rows["base"])
    assert changed >= 6  # measured: 8 of 8
    figures = {}
    for model, folder in (("base", base), ("pt", pt)):
        manifest = read_manifest(folder)
        check = manifest["parity"]
        assert check["prompts"] == 8 and check["passed"] and manifest["stats"]["parity_share"] == check["share"]
        assert check["share"] >= 0.75  # measured: 8 of 8 for both on 16 new tokens
        assert manifest["stats"]["backend"] == "vllm" and manifest["stats"]["served_with"] == ["base", "pt"]
        assert manifest["server"]["started_here"] and manifest["server"]["adapters"] == {
            "pt": str(smol.finetune("pt") / "adapter")}
        figures[model] = check["share"]
    # What a LoRA the server did not load looks like never happened: no pt answer fell back to the base's.
    assert read_manifest(pt)["parity"]["vllm_gave_base_answer_where_adapter_changed"] == 0
    print(f"\nparity vLLM vs transformers (identical greedy answers): {figures}; adapter changed {changed}/8 "
          f"answers; generate stage {seconds:.0f} s")


@pytest.fixture(scope="module")
def served(smol, tmp_path_factory):
    """A runner process that started a server through our code (base + the pt adapter), used by base_url."""
    log = tmp_path_factory.mktemp("served") / "server.log"
    runner, info = start_runner(["serve", str(log), f"pt={smol.finetune('pt') / 'adapter'}"], 1500, log)
    yield {**info, "runner": runner, "log": log}
    members = group_members(info["guard"])
    if runner.poll() is None:
        runner.kill()
        runner.wait()
    assert wait_gone(members, 60) == []


def base_url_run(smol, url: str) -> BenchRun:
    data = smol.cfg.model_dump(mode="json")
    data["generation"]["base_url"] = url
    return BenchRun(parse_config(data))


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason=".venv-vllm is missing: `make vllm-env`")
def test_a_running_server_by_base_url_gives_the_same_answers_and_resumes(smol, served, monkeypatch):
    import bench_runner.generate.vllm as vllm_backend

    run = base_url_run(smol, served["url"])
    pt = run.generate("pt")
    assert pt != smol.generate("pt")  # base_url is part of the stage key
    server = read_manifest(pt)["server"]
    assert (server["base_url"], server["started_here"], server["base_model_name"]) == (served["url"], False, "base")
    for model in ("base", "pt"):  # the same greedy answers as the server the runner started itself
        mine, theirs = answers(run.generate(model)), answers(smol.generate(model))
        assert {u: r["raw_response"] for u, r in mine.items()} == {u: r["raw_response"] for u, r in theirs.items()}
    # A crash in the middle: no manifest, 3 rows and half a row on disk. The rerun sends only what is missing
    # and keeps the parity check that passed (transformers is not asked again).
    path = pt / "samples.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    (pt / "manifest.json").unlink()
    path.write_text("".join(lines[:3]) + lines[3][:25])
    monkeypatch.setattr(vllm_backend, "transformers_answers", lambda *a, **k: pytest.fail("parity redone"))
    again = base_url_run(smol, served["url"]).generate("pt")
    assert again == pt and path.read_text().startswith("".join(lines[:3]))
    rows = list(iter_jsonl(path))
    assert len(rows) == 8 == len({r["uid"] for r in rows})
    assert read_manifest(pt)["parity"]["share"] == read_manifest(smol.generate("pt"))["parity"]["share"]


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason=".venv-vllm is missing: `make vllm-env`")
def test_a_missing_adapter_or_base_name_is_one_error_naming_what_the_server_has(smol, served):
    model, cfg = smol.cfg.model, VllmConfig()
    with pytest.raises(ServerError, match=r"serves no model or adapter named 'de'; it has 'base', 'pt'\."):
        VllmServing(model, cfg, base_url=served["url"], adapters={"pt": Path("a"), "de": Path("b")}).open()
    with pytest.raises(ServerError, match=r"named 'llama'; it has 'base', 'pt'"):
        VllmServing(model, cfg.model_copy(update={"base_model_name": "llama"}), base_url=served["url"]).open()


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason=".venv-vllm is missing: `make vllm-env`")
def test_literal_prompts_complete_greedily_for_a_judge(smol, served):
    rows = list(answers(smol.generate("base")).values())
    with VllmCompleter(smol.cfg.model, base_url=served["url"], served_name="base") as judge:
        out = judge.complete([r["prompt"] for r in rows], max_tokens=16)
        assert judge.describe()["server_version"] == served["version"]
    # SmolLM2's tokenizer adds no BOS, so with its special tokens the prompt is what the runner sent.
    assert out == [r["raw_response"] for r in rows]


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason=".venv-vllm is missing: `make vllm-env`")
def test_the_sorry_bench_judge_through_vllm_gives_the_transformers_verdicts(smol, served, monkeypatch):
    """The judge's path (literal input, completions endpoint, greedy), with SmolLM2 standing in for the 7B judge:
    the same completions and verdicts as the in-process transformers judge."""
    rows = list(answers(smol.generate("base")).values())[:4]
    outputs, verdicts = {}, {}
    for backend, keys in (("vllm", {"base_url": served["url"], "served_name": "base"}),
                          ("transformers", {"backend": "transformers"})):
        # SmolLM2 in place of the judge model; generation.backend vllm, so judge.backend "same" means vLLM.
        cfg = smol.cfg.model_copy(update={
            "judge": JudgeConfig(name="sorry-bench", model=smol.cfg.model, **keys),
            "generation": smol.cfg.generation.model_copy(update={"backend": "vllm"})})
        judge = SorryBenchJudge(cfg)
        monkeypatch.setattr(judge, "max_new_tokens", 16)
        # SmolLM2 ends at once on the judge's prompt (no chat turn), so the completions are compared on the chat
        # prompts the runner sent, which it answers; the verdicts on the official judge input.
        outputs[backend] = judge.complete([r["prompt"] for r in rows])
        verdicts[backend] = [v.to_dict() for v in judge.judge(
            [r["messages"][-1]["content"] for r in rows], [r["response"] for r in rows], ["en"] * len(rows))]
        described = judge.describe()
        assert described["backend"] == backend
        if backend == "vllm":
            assert described["server"]["server_version"] == served["version"]
            assert not described["server"]["started_here"]
        judge.close()
    print(f"\njudge completions: {outputs}")
    assert all(outputs["vllm"]) and len(outputs["vllm"]) == 4
    assert outputs["vllm"] == [r["raw_response"] for r in rows]  # what generation got from the same server
    same = sum(a == b for a, b in zip(outputs["vllm"], outputs["transformers"], strict=True))
    assert same >= 3  # measured: 4 of 4
    assert [(v["score"], v["label"], v["judge_output"]) for v in verdicts["vllm"]] == [
        (v["score"], v["label"], v["judge_output"]) for v in verdicts["transformers"]]


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason=".venv-vllm is missing: `make vllm-env`")
def test_kill_9_of_the_runner_leaves_no_vllm_process(served):
    members = group_members(served["guard"])
    assert len(members) >= 3  # the guard, the API server, the engine core (and its worker)
    served["runner"].send_signal(signal.SIGKILL)
    served["runner"].wait()
    assert wait_gone(members, 90) == []


@pytest.mark.slow
@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason=".venv-vllm is missing: `make vllm-env`")
def test_ctrl_c_while_the_server_starts_leaves_no_vllm_process(tmp_path):
    log = tmp_path / "server.log"
    runner, info = start_runner(["start", str(log)], 120, log)
    deadline = time.monotonic() + 600
    while len(group_members(info["guard"])) < 3 and time.monotonic() < deadline:  # the engine core is up
        time.sleep(0.5)
    members = group_members(info["guard"])
    assert len(members) >= 3
    runner.send_signal(signal.SIGINT)
    assert runner.wait(timeout=90) != 0
    assert wait_gone(members, 60) == []


def test_no_vllm_environment_is_one_clear_error(tmp_path):
    cfg = VllmConfig(python=str(tmp_path / "none" / "bin" / "python"))
    with pytest.raises(MissingDependencyError, match=r"make vllm-env") as err:
        VllmServing(ModelConfig(local_dir=str(tmp_path)), cfg).open()
    assert "\n" not in str(err.value)
