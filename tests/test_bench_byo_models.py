"""Bring your own models (config `models:`): an adapter trained elsewhere, a full checkpoint and a served model,
compared against the base in one eval-only run; and the config's errors, each one sentence."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from support.fixtures import tiny_config_dict
from test_bench_judge_served import Stub, entry

from bench_runner.config import parse_config
from bench_runner.executor import run_grid
from bench_runner.pipeline import BenchRun
from bench_runner.preflight import preflight
from bench_runner.report.schema import Results
from bench_runner.stage import NO_WEIGHTS, RunContext
from safedrift.core.errors import ConfigError
from safedrift.core.files import iter_jsonl

BUILTIN = {"builtin": "smollm2-135m-instruct", "device": "cpu"}


def config(models: list[dict], **more) -> dict:
    return {"run_id": "byo", "model": BUILTIN, "finetune_languages": ["base"], "models": models, **more}


# ---- the config ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("models", "message"), [
    ([{"label": "mine", "adapter": "a", "adaptor": "b"}],
     r"models\.0\.adaptor: unknown key; did you mean 'adapter'\?"),
    ([{"label": "mine", "adapter": "a"}, {"label": "mine", "checkpoint": "c"}],
     r"models: label 'mine' is taken \(base, a fine-tune language or adapter, or another entry\)"),
    ([{"label": "mine", "adapter": "a", "checkpoint": "c"}],
     r"models: 'mine' needs exactly one of adapter, checkpoint or served"),
    ([{"label": "mine"}], r"models: 'mine' needs exactly one of adapter, checkpoint or served"),
    ([{"label": "base", "adapter": "a"}], r"label 'base' must be a plain folder name other than 'base'"),
    ([{"label": "served", "served": {"base_url": "http://x", "name": "m"}, "revision": "main"}],
     r"'served' is served, so revision has nothing to pin"),
])
def test_config_errors_are_one_sentence(models, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(config(models))


def test_bench_eval_refuses_a_config_that_fine_tunes(tmp_path, capsys):
    from safedrift.cli import main
    from safedrift.core.errors import run_cli

    trains = tmp_path / "trains.yaml"
    trains.write_text(json.dumps({"run_id": "t", "model": BUILTIN, "finetune_languages": ["base", "pt"],
                                  "runs_dir": str(tmp_path / "runs")}))
    assert run_cli(main, ["bench", "eval", str(trains)]) == 2
    err = capsys.readouterr().err
    assert "safedrift bench eval trains nothing, and this config fine-tunes ['pt']" in err
    assert not (tmp_path / "runs").exists()  # refused before any stage


def test_a_label_may_not_be_a_fine_tune_language_or_a_seed_adapter():
    with pytest.raises(ConfigError, match="label 'en-seed1' is taken"):
        parse_config(config([{"label": "en-seed1", "adapter": "a"}], finetune_languages=["base", "en"],
                            training={"seeds": [0, 1]}))


def test_the_models_are_base_then_trained_then_brought_in_and_only_trained_ones_are_fine_tuned():
    cfg = parse_config(config([{"label": "mine", "adapter": "a"}, {"label": "api", "served": {
        "base_url": "http://127.0.0.1:1", "name": "m"}}], finetune_languages=["base", "en"]))
    ctx = RunContext(cfg)
    assert ctx.models == ["base", "en", "mine", "api"] and ctx.trained == ["en"]
    assert ctx.with_weights(ctx.finetuned) == ["en", "mine"] and ctx.skipped() == {"api": NO_WEIGHTS}
    assert BenchRun(cfg).labels("finetune") == ["en"]
    assert BenchRun(cfg).labels("generate") == ["base", "en", "mine", "api"]
    # Without models: the config's dump (results.json, a shard's record) is what it was before the option.
    assert "models" not in parse_config(config([])).model_dump() and "models" in cfg.model_dump()


def test_each_model_brought_in_is_a_shard_unit_of_its_own_and_is_never_fine_tuned():
    from bench_runner.executor.shards import Shard, grid_units

    ctx = RunContext(parse_config(config([{"label": "mine", "adapter": "a"}], finetune_languages=["base", "en"])))
    assert grid_units(ctx) == {"base": ["base"], "en": ["en"], "mine": ["mine"]}
    assert [Shard(i, 3).models(ctx) for i in (1, 2, 3)] == [["base"], ["en"], ["mine"]]


def test_without_models_the_stage_keys_hold_what_they_held(tmp_path, tiny_model, tiny_release):
    """An adapter trained here is keyed by its finetune folder, base by nothing: no key of a config without
    `models:` moves (the sample run's folders stay cached)."""
    run = BenchRun(parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release)))
    tuned = run.finetune.folder("en").name
    for stage in (run.generate, run.capability):
        assert stage is not None
        assert stage.inputs("en")["adapter"] == tuned and stage.inputs("base")["adapter"] is None
        assert "imported" not in stage.inputs("en") and "imported" not in stage.inputs("base")
    assert run.representation is not None
    assert run.representation.inputs("en")["adapter"] == tuned and "imported" not in run.representation.inputs("en")
    assert set(run.generate.inputs("en")) == {"model", "adapter", "generation", "prompts", "versions"}


def test_a_model_is_keyed_by_its_content_or_its_hub_commit_and_a_served_one_by_its_server(tmp_path):
    from bench_runner.finetune.imported import identity

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    sha = "0123456789abcdef0123456789abcdef01234567"
    cfg = parse_config(config([{"label": "a", "adapter": str(adapter)},
                               {"label": "hub", "checkpoint": "someone/model", "revision": sha},
                               {"label": "api", "served": {"base_url": "http://h:8000/", "name": "m",
                                                           "api_key_env": "K"}}]))
    first = identity(cfg, cfg.models[0])
    assert first["adapter"].startswith("sha256:")
    assert identity(cfg, cfg.models[1]) == {"checkpoint": f"hub:someone/model@{sha}"}
    assert identity(cfg, cfg.models[2]) == {"served": {"base_url": "http://h:8000", "name": "m"}}  # no key in it
    (adapter / "adapter_model.safetensors").write_bytes(b"other weights")
    assert identity(cfg, cfg.models[0]) != first


def test_a_hub_adapter_is_found_offline_at_the_commit_its_branch_names(bench_home, tmp_path):
    """An adapter on the Hub, cached: `revision: main` resolves to the cached commit (the key), preflight finds it and
    the weights are read from that snapshot, with the Hub offline (the isolated test home)."""
    import huggingface_hub.constants as hf

    from bench_runner.finetune.imported import identity, weights

    sha = "89abcdef0123456789abcdef0123456789abcdef"
    repo = Path(hf.HF_HUB_CACHE) / "models--someone--my-adapter"
    snapshot = repo / "snapshots" / sha
    snapshot.mkdir(parents=True)
    (snapshot / "adapter_config.json").write_text(json.dumps({"r": 4}))
    (snapshot / "adapter_model.safetensors").write_bytes(b"weights")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    cfg = parse_config(config([{"label": "hub", "adapter": "someone/my-adapter", "revision": "main"}],
                              runs_dir=str(tmp_path / "runs")))
    entry = cfg.models[0]
    assert identity(cfg, entry) == {"adapter": f"hub:someone/my-adapter@{sha}"}
    found = weights(cfg, entry)
    assert found is not None and found.adapter is not None and found.adapter.resolve() == snapshot.resolve()
    assert "models[hub].hub_id someone/my-adapter@main in the Hugging Face cache" in preflight(cfg).checked


def test_preflight_names_a_missing_api_key_a_folder_that_is_no_adapter_and_an_unpinned_hub_id(tmp_path, monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    (tmp_path / "not-an-adapter").mkdir()
    cfg = parse_config(config([
        {"label": "api", "served": {"base_url": "http://127.0.0.1:1", "name": "m", "api_key_env": "MY_KEY"}},
        {"label": "folder", "adapter": str(tmp_path / "not-an-adapter")},
        {"label": "hub", "checkpoint": "someone/some-model"},
        {"label": "gone", "checkpoint": str(tmp_path / "gone")},
    ], runs_dir=str(tmp_path / "runs")))
    problems = [p for p in preflight(cfg).problems if p.startswith("models")]
    assert problems == [
        "models: 'api' reads its API key from $MY_KEY, which is not set; export MY_KEY=<key> before the run, or "
        "remove api_key_env for a server without a key",
        f"models[folder].adapter {tmp_path / 'not-an-adapter'} has no adapter_config.json; point it at a peft "
        "adapter folder, or list a full model as checkpoint:",
        "models[hub]: someone/some-model is a Hub id (no such local folder), so set its revision to the commit to "
        "evaluate",
        f"models[gone].checkpoint: {str(tmp_path / 'gone')!r} does not exist; point it at a saved model's folder",
    ]
    monkeypatch.setenv("MY_KEY", "secret")
    served = [p for p in preflight(cfg).problems if p.startswith("models: 'api'")]
    assert len(served) == 1 and served[0].startswith(
        "models: 'api' is served at http://127.0.0.1:1, which did not list its models (no answer from the model "
        "server at http://127.0.0.1:1/v1/models (ConnectError")
    assert served[0].endswith("start the server, or fix base_url (and api_key_env for a server that needs a key)")


def test_preflight_asks_the_server_for_the_served_name(stub_server):
    cfg = parse_config(config([{"label": "api", "served": {"base_url": stub_server.url, "name": "other"}}]))
    assert [p for p in preflight(cfg).problems if p.startswith("models")] == [
        f"models: 'api' is served at {stub_server.url}, which serves no model named 'other' (it has 'my-served'); "
        "fix served.name"]
    right = parse_config(config([{"label": "api", "served": {"base_url": stub_server.url, "name": "my-served"}}]))
    assert f"models[api].served my-served at {stub_server.url}" in preflight(right).checked


def test_the_vllm_backend_refuses_a_checkpoint_before_running(tmp_path):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "config.json").write_text("{}")
    cfg = parse_config(config([{"label": "full", "checkpoint": str(tmp_path / "ckpt")}],
                              generation={"backend": "vllm"}, runs_dir=str(tmp_path / "runs")))
    assert any(p.startswith("models[full].checkpoint: generation.backend vllm serves the base model with adapters")
               for p in preflight(cfg).problems)


def test_the_vllm_server_takes_the_largest_lora_rank_of_the_adapters(tmp_path):
    from bench_runner.generate.vllm import max_lora_rank

    for name, rank in (("mine", 64), ("broken", None)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text(json.dumps({"r": rank}) if rank else "{")
    assert max_lora_rank(8, {"mine": tmp_path / "mine", "broken": tmp_path / "broken"}) == 64
    assert max_lora_rank(16, {"broken": tmp_path / "broken"}) == 16


class ChatStub(Stub):
    """The judge tests' stub, answering /v1/chat/completions as a hosted API does (the answer in message.content)
    and recording each request's Authorization header."""

    def __init__(self, models: list[dict]):
        super().__init__(models)
        stub, plain = self, self.server.RequestHandlerClass
        self.auth: list[str | None] = []

        class Chat(plain):  # type: ignore[misc, valid-type]
            def _json(self, body: dict, status: int = 200) -> None:
                if self.command == "POST":
                    stub.auth.append(self.headers.get("Authorization"))
                if self.path == "/v1/chat/completions":
                    body = {"choices": [{"message": {"role": "assistant", "content": "I will not."},
                                         "finish_reason": "stop"}], "usage": body["usage"]}
                super()._json(body, status)

        self.server.RequestHandlerClass = Chat


def test_a_hosted_chat_api_gets_the_messages_the_key_and_only_standard_fields(tmp_path, bench_home, tiny_model,
                                                                              tiny_release, monkeypatch):
    server = ChatStub([{"id": "gpt-x", "object": "model"}])
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HOSTED_KEY", "sk-test")
    try:
        cfg = parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base"],
                                            eval_languages=["en"], models=[{"label": "hosted", "served": {
                                                "base_url": server.url + "/v1", "name": "gpt-x", "api": "chat",
                                                "api_key_env": "HOSTED_KEY"}}]))
        run = BenchRun(cfg)
        rows = list(iter_jsonl(run.generate("hosted") / "samples.jsonl"))
    finally:
        server.server.shutdown()
    prompts = {p.uid: p for p in run.ctx.prompts}
    assert len(rows) == len(server.posts) == len(prompts) and set(server.auth) == {"Bearer sk-test"}
    for post in server.posts:
        assert set(post) == {"model", "messages", "max_tokens", "temperature", "top_p", "n", "seed"}
    assert sorted(json.dumps(p["messages"]) for p in server.posts) == sorted(
        json.dumps([dict(m) for m in p.messages]) for p in prompts.values())
    assert {(r["raw_response"], r["prompt"], r["api"]) for r in rows} == {("I will not.", "", "chat")}


def test_a_model_that_answers_exactly_as_base_stops_the_run(tmp_path, bench_home, tiny_model, tiny_release):
    from safedrift.core.errors import DataError

    cfg = parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base"],
                                        eval_languages=["en"], models=[{"label": "same", "checkpoint": str(tiny_model)}]))
    with pytest.raises(DataError, match="models: 'same' answered every prompt exactly as the base model, so it is the "
                                        "base model or its adapter was not applied"):
        BenchRun(cfg).generate("same")


# ---- one eval-only run: an adapter, its merged checkpoint and a served model against base ----------------------
@pytest.fixture
def stub_server():
    server = Stub([entry("/srv/models/my-fine-tune", name="my-served")])
    threading.Thread(target=server.server.serve_forever, daemon=True).start()
    yield server
    server.server.shutdown()


def merged_checkpoint(model_dir: Path, adapter: Path, out: Path) -> Path:
    """The adapter folded into the base weights and saved as a full model (what a user would bring)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir), str(adapter))
    model.merge_and_unload().save_pretrained(out)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
    return out


@pytest.mark.slow
def test_an_eval_only_run_reports_an_adapter_a_checkpoint_and_a_served_model_against_base(
        tmp_path, bench_home, tiny_model, tiny_release, stub_server, monkeypatch):
    # A previous run trained an adapter (the finetune stage alone).
    trained = BenchRun(parse_config(tiny_config_dict(tmp_path / "before", tiny_model, tiny_release,
                                                     finetune_languages=["base", "en"], eval_languages=["en"])))
    adapter = trained.finetune("en") / "adapter"
    checkpoint = merged_checkpoint(tiny_model, adapter, tmp_path / "merged")
    monkeypatch.setenv("STUB_API_KEY", "not-written-anywhere")
    models = [{"label": "my-adapter", "adapter": str(adapter)},
              {"label": "my-merged", "checkpoint": str(checkpoint)},
              {"label": "my-api", "served": {"base_url": stub_server.url + "/v1", "name": "my-served",
                                             "api_key_env": "STUB_API_KEY", "max_concurrency": 4}}]
    cfg = parse_config(tiny_config_dict(tmp_path, tiny_model, tiny_release, finetune_languages=["base"],
                                        eval_languages=["en", "pt"], models=models))
    run = BenchRun(cfg)
    assert not preflight(cfg).problems
    run_grid(run)

    results = Results.model_validate_json((run.run_dir / "results.json").read_text())
    labels = ["base", "my-adapter", "my-merged", "my-api"]
    assert [(c.finetune_language, c.eval_language) for c in results.metrics.cells] == [
        (m, ev) for m in labels for ev in ("en", "pt")]
    for c in results.metrics.cells:
        assert (c.vs_base is None) == (c.finetune_language == "base")
    assert not (run.run_dir / "finetune").exists() and results.finetune == {}  # eval-only: nothing trained
    assert results.imported["my-adapter"]["adapter"].startswith("sha256:")
    assert results.imported["my-merged"]["checkpoint"].startswith("sha256:")
    assert results.imported["my-api"] == {"served": {"base_url": stub_server.url + "/v1", "name": "my-served"}}

    samples = {m: [r for r in iter_jsonl(run.run_dir / "samples.jsonl") if r["model"] == m] for m in labels}
    n = len(samples["base"])
    assert n and all(len(rows) == n for rows in samples.values())
    # The served model was asked every prompt, rendered with the base model's chat template, under its own name.
    assert len(stub_server.posts) == n and {p["model"] for p in stub_server.posts} == {"my-served"}
    assert {p["prompt"] for p in stub_server.posts} == {r["prompt"] for r in samples["base"]}
    assert {r["raw_response"] for r in samples["my-api"]} == {"1"}
    # The merged checkpoint answers as the adapter on the base does (greedy, the same weights up to rounding).
    adapter_answers = {r["uid"]: r["raw_response"] for r in samples["my-adapter"]}
    same = sum(adapter_answers[r["uid"]] == r["raw_response"] for r in samples["my-merged"])
    assert same / n >= 0.9, f"{same}/{n}"
    # Capability and representation where weights exist; the served model is named as skipped, with why.
    capability, representation = results.metrics.capability, results.metrics.representation
    assert capability is not None and representation is not None
    assert {c.finetune_language for c in capability.cells} == {"base", "my-adapter", "my-merged"}
    assert {c.finetune_language for c in representation.cells} == {"my-adapter", "my-merged"}
    assert results.metrics.skipped == {"capability": {"my-api": NO_WEIGHTS}, "representation": {"my-api": NO_WEIGHTS}}
    # A rerun finds every model's folders cached: the served model is not asked again.
    asked = len(stub_server.posts)
    BenchRun(cfg).run()
    assert len(stub_server.posts) == asked
    assert ("Not measured for capability: my-api (served model: no weights here"
            in (run.run_dir / "summary.md").read_text())
    assert "not-written-anywhere" not in json.dumps([p.read_text(errors="replace") for p in run.run_dir.rglob("*")
                                                     if p.is_file() and p.suffix in (".json", ".jsonl", ".md")])
