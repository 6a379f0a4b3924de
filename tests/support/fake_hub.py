"""A small Hugging Face Hub stand-in on 127.0.0.1 for push tests: it answers the HTTP calls HfApi makes
(create repo, settings, repo info, validate-yaml, preupload, NDJSON commit, refs, tree, tag), keeps the
repositories in memory like the Hub would, and records every request so tests can assert on what was sent.

It is a fake only of what cannot exist here (the Hub); the client under test is huggingface_hub itself.
Every file is answered as a "regular" upload so its bytes arrive base64-encoded inside the commit, where
the test can hash them (the real Hub puts parquet files through LFS/Xet, which needs storage servers).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .http_json import send_json


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: what the Hub reports as a regular file's oid."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Request:
    method: str
    path: str
    query: dict
    body: object  # parsed JSON, a list of NDJSON items for commits, or None
    authorization: str | None


@dataclass
class Repo:
    repo_id: str
    private: bool = False
    gated: object = False  # False | "manual" | "auto", as the Hub reports it
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)  # oldest first; the last one is main
    tags: dict[str, str] = field(default_factory=dict)  # tag -> commit

    @property
    def head(self) -> str | None:
        return self.commits[-1] if self.commits else None


class FakeHub:
    """Start with `with FakeHub(token) as hub:`; `hub.url` is the endpoint for HfApi(endpoint=...).

    honour_gating=False: the settings call is accepted but the repo stays ungated (a Hub that ignores it).
    echo_token=True: validate-yaml warns and the commit call fails with messages that quote the
    Authorization header, as a careless proxy might; tests use it to prove the token is scrubbed.
    """

    def __init__(self, token: str, *, honour_gating: bool = True, echo_token: bool = False):
        self.token = token
        self.honour_gating = honour_gating
        self.echo_token = echo_token
        self.requests: list[Request] = []
        # huggingface_hub fetches its agent-harness registry from HF_ENDPOINT once a day (telemetry, no
        # token); kept apart so "nothing was sent" means no Hub API call was made.
        self.telemetry: list[Request] = []
        self.repos: dict[str, Repo] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --
    def __enter__(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hub._handle(self, "GET")

            def do_POST(self):
                hub._handle(self, "POST")

            def do_PUT(self):
                hub._handle(self, "PUT")

            def log_message(self, *args):  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- what tests read --
    def calls(self, method: str | None = None, contains: str = "") -> list[Request]:
        return [r for r in self.requests if (method is None or r.method == method) and contains in r.path]

    def commit_payloads(self, repo_id: str | None = None) -> list[list[dict]]:
        return [r.body for r in self.calls("POST", "/commit/") if repo_id is None or f"/{repo_id}/" in r.path]

    # -- HTTP plumbing --
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if "ndjson" in (handler.headers.get("Content-Type") or ""):
            body: object = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        else:
            body = json.loads(raw) if raw else None
        auth = handler.headers.get("Authorization")
        request = Request(method, unquote(url.path), parse_qs(url.query), body, auth)
        with self._lock:
            if request.path == "/api/agent-harnesses":
                self.telemetry.append(request)
                status, payload = 200, {"standardEnvVars": [], "harnesses": {}}
            elif auth != f"Bearer {self.token}":
                status, payload = 401, {"error": "Invalid credentials in Authorization header"}
            else:
                status, payload = self._route(request)
            if request.path != "/api/agent-harnesses":
                self.requests.append(request)
        send_json(handler, payload, status, {"X-Error-Code": "RepoNotFound"} if status == 404 else None)

    def _route(self, r: Request) -> tuple[int, object]:
        parts = r.path.strip("/").split("/")
        if r.path == "/api/repos/create" and r.method == "POST":
            return self._create(r.body)
        if r.path == "/api/validate-yaml" and r.method == "POST":
            warnings = [{"message": f"metadata checked for {r.authorization}"}] if self.echo_token else []
            return 200, {"errors": [], "warnings": warnings}
        if len(parts) < 4 or parts[:2] != ["api", "datasets"]:
            return 404, {"error": f"no route {r.method} {r.path}"}
        repo = self.repos.get(f"{parts[2]}/{parts[3]}")
        if repo is None:
            return 404, {"error": "Repository not found"}
        action, rest = (parts[4] if len(parts) > 4 else ""), parts[5:]
        if action in ("", "revision") and r.method == "GET":
            return 200, self._info(repo)
        if action == "settings" and r.method == "PUT":
            if self.honour_gating and "gated" in r.body:
                repo.gated = r.body["gated"]
            if "visibility" in r.body:
                repo.private = r.body["visibility"] == "private"
            return 200, {}
        if action == "preupload" and r.method == "POST":
            return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                                    "oid": git_blob_sha1(repo.files[f["path"]]) if f["path"] in repo.files else None}
                                   for f in r.body["files"]]}
        if action == "commit" and r.method == "POST":
            if self.echo_token:
                return 403, {"error": f"write access denied for {r.authorization}"}
            return self._commit(repo, r.body)
        if action == "refs" and r.method == "GET":
            branches = [{"name": "main", "ref": "refs/heads/main", "targetCommit": repo.head}] if repo.head else []
            tags = [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": c} for t, c in repo.tags.items()]
            return 200, {"branches": branches, "converts": [], "tags": tags, "pullRequests": []}
        if action == "tree" and r.method == "GET":
            return 200, [{"type": "file", "path": p, "size": len(b), "oid": git_blob_sha1(b)}
                         for p, b in sorted(repo.files.items())]
        if action == "tag" and r.method == "POST":
            tag = r.body["tag"]
            if tag in repo.tags:
                return 409, {"error": f"tag {tag} already exists"}
            target = repo.head if rest == ["main"] else rest[0]
            if target not in repo.commits:
                return 404, {"error": f"revision {target} not found"}
            repo.tags[tag] = target
            return 200, {}
        return 404, {"error": f"no route {r.method} {r.path}"}

    def _create(self, body: dict) -> tuple[int, object]:
        repo_id = f"{body['organization']}/{body['name']}"
        if repo_id in self.repos:
            return 409, {"error": "You already created this dataset repo", "url": f"{self.url}/datasets/{repo_id}"}
        self.repos[repo_id] = Repo(repo_id, private=body.get("visibility") == "private")
        return 200, {"url": f"{self.url}/datasets/{repo_id}"}

    def _info(self, repo: Repo) -> dict:
        return {"id": repo.repo_id, "sha": repo.head, "private": repo.private, "gated": repo.gated,
                "siblings": [{"rfilename": p} for p in sorted(repo.files)]}

    def _commit(self, repo: Repo, items: list[dict]) -> tuple[int, object]:
        for item in items:
            value = item["value"]
            if item["key"] == "file":
                repo.files[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] == "deletedFile":
                repo.files.pop(value["path"], None)
            elif item["key"] != "header":
                return 400, {"error": f"the fake Hub does not take {item['key']} operations"}
        oid = hashlib.sha1(json.dumps([repo.head, items], sort_keys=True).encode()).hexdigest()
        repo.commits.append(oid)
        return 200, {"commitUrl": f"{self.url}/datasets/{repo.repo_id}/commit/{oid}", "commitOid": oid,
                     "success": True}
