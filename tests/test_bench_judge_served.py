"""A served judge is verified against judge.model before any request, on a local stub of an OpenAI-compatible
server (what vLLM's /v1/models answers: id, root = the weights it loaded, parent)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.http_json import send_json

from bench_runner.config import parse_config
from bench_runner.judge.base import create_judge
from bench_runner.judge.served import found_identity, served_entry, verify
from bench_runner.judge.sorry_bench import SORRY_BENCH_JUDGE_HUB_ID, SorryBenchJudge
from safedrift.core.errors import ConfigError

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"
SNAPSHOT = "/cache/hub/models--sorry-bench--ft-mistral-7b-instruct-v0.2-sorry-bench-202406/snapshots/{}"


class _Server(ThreadingHTTPServer):
    # The runner keeps up to 16-128 requests in flight; the socketserver default backlog of 5 resets connections
    # when this process is slow to accept them (a busy machine), which a real server's backlog does not.
    request_queue_size = 256


class Stub:
    """/v1/models answers `models`; /v1/completions answers "1" and records each request."""

    def __init__(self, models: list[dict]):
        self.models: list[dict] = models
        self.posts: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, body: dict, status: int = 200) -> None:
                send_json(self, body, status)

            def do_GET(self):
                if self.path == "/v1/models":
                    self._json({"object": "list", "data": stub.models})
                elif self.path == "/version":
                    self._json({"version": "stub-1"})
                else:
                    self._json({}, 404)

            def do_POST(self):
                stub.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self._json({"choices": [{"text": "1", "finish_reason": "stop"}], "usage": {"completion_tokens": 1}})

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def stub() -> Iterator:
    made: list[Stub] = []

    def start(models: list[dict]) -> Stub:
        s = Stub(models)
        threading.Thread(target=s.server.serve_forever, daemon=True).start()
        made.append(s)
        return s

    yield start
    for s in made:
        s.server.shutdown()


def served_judge(url: str, model: dict, served_name: str | None = "judge") -> SorryBenchJudge:
    cfg = parse_config({"run_id": "served", "model": {"builtin": "smollm2-135m-instruct", "device": "cpu"},
                        "judge": {"name": "sorry-bench", "model": model, "base_url": url,
                                  "served_name": served_name}})
    judge = create_judge(cfg)
    assert isinstance(judge, SorryBenchJudge)
    return judge


def entry(root: str, name: str = "judge", **extra) -> dict:
    return {"id": name, "object": "model", "root": root, "parent": None, **extra}


def test_the_right_model_at_the_right_revision_is_recorded_and_then_asked(stub):
    server = stub([entry(SNAPSHOT.format(SHA))])
    judge = served_judge(server.url, {"hub_id": SORRY_BENCH_JUDGE_HUB_ID, "revision": SHA})
    verdicts = judge.judge(["q"], ["a"], ["en"])
    assert [(v.score, v.label) for v in verdicts] == [(1, "complied")] and len(server.posts) == 1
    assert judge.describe()["served_model"] == {
        "id": "judge", "root": SNAPSHOT.format(SHA), "hub_id": SORRY_BENCH_JUDGE_HUB_ID, "revision": SHA,
        "matched_by": "hub id", "revision_check": "checked"}
    judge.judge(["q"], ["a"], ["en"])  # verified once
    assert len(server.posts) == 2


def test_another_model_under_the_judges_name_is_an_error_before_any_request(stub):
    server = stub([entry("mistralai/Mistral-7B-Instruct-v0.2")])
    judge = served_judge(server.url, {"hub_id": SORRY_BENCH_JUDGE_HUB_ID, "revision": SHA})
    with pytest.raises(ConfigError, match=(
            r"^the judge server at http://127\.0\.0\.1:\d+ serves 'judge' from 'mistralai/Mistral-7B-Instruct-v0\.2',"
            r" not the configured judge\.model 'sorry-bench/ft-mistral-7b-instruct-v0\.2-sorry-bench-202406': start "
            rf"it with `vllm serve \S+ --revision {SHA} --served-model-name judge` or fix judge\.model\.$")):
        judge.judge(["q"], ["a"], ["en"])
    assert server.posts == []


def test_the_right_model_at_another_revision_is_an_error(stub):
    server = stub([entry(SNAPSHOT.format(OTHER))])
    judge = served_judge(server.url, {"hub_id": SORRY_BENCH_JUDGE_HUB_ID, "revision": SHA})
    with pytest.raises(ConfigError, match=f"at revision {OTHER}, not the configured {SHA}"):
        judge.judge(["q"], ["a"], ["en"])
    assert server.posts == []


def test_a_revision_the_server_does_not_expose_is_recorded_as_such(stub):
    server = stub([entry(SORRY_BENCH_JUDGE_HUB_ID), entry("other/model", name="other")])
    judge = served_judge(server.url, {"hub_id": SORRY_BENCH_JUDGE_HUB_ID, "revision": SHA})
    judge.judge(["q"], ["a"], ["en"])
    served = judge.describe()["served_model"]
    assert (served["revision"], served["revision_check"]) == (None, "not exposed by the server")


def test_a_local_judge_is_matched_by_folder_name_and_an_unnamed_judge_is_the_only_base_model(stub):
    server = stub([entry("/srv/models/my-judge", name="whatever"),
                   {"id": "lora-a", "root": "/srv/a", "parent": "whatever"}])
    judge = served_judge(server.url, {"local_dir": "/elsewhere/my-judge"}, served_name=None)
    judge.judge(["q"], ["a"], ["en"])
    assert judge.describe()["served_model"]["matched_by"] == "folder or file name"
    assert server.posts[0]["model"] == "whatever"


def test_served_entry_and_identity_without_a_server():
    models = [entry("/m/a", name="a"), entry("/m/b", name="b")]
    with pytest.raises(ConfigError, match=r"serves no single judge model named '\(its only base model\)'; it has 'a', "
                                          r"'b': set judge\.served_name"):
        served_entry(models, None, "http://x")
    assert found_identity(entry("org/j", revision="abc1234"))["revision"] == "abc1234"
    cfg = parse_config({"run_id": "r", "model": {"builtin": "smollm2-135m-instruct"},
                        "judge": {"name": "sorry-bench", "model": {"hub_id": "org/j", "revision": SHA}}})
    model = cfg.judge.model
    assert model is not None
    # A short revision the server reports is compared as a prefix of the pinned commit.
    assert verify(found_identity(entry("org/j", revision=SHA[:7])), model, "http://x")["revision_check"] == "checked"
