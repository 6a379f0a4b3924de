"""An OpenAI-compatible model server: started as a guarded subprocess (no orphans), or one already running.

`ServerProcess` starts a server command under bench_runner/serving/guard.py, waits for `/health` and stops the
whole process group at the end, on an error, on Ctrl-C/SIGTERM (the runner's finally blocks and atexit) and
when the runner is killed outright (the guard sees its pipe close). `ServerClient` talks to any
OpenAI-compatible server (ours or `base_url`): `/version`, `/v1/models`, and `/v1/completions` for many
prompts at once, with bounded concurrency, results returned as they finish.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safedrift.core.errors import SafedriftError

GUARD = Path(__file__).with_name("guard.py")


class ServerError(SafedriftError):
    """The model server did not start, died, or refused a request."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 12) -> str:
    """The server log's last lines that say something (its error is at the end)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            tail = collections.deque((ln.rstrip() for ln in fh if ln.strip()), maxlen=lines)
    except OSError:
        return ""
    return "\n".join(tail)


# Wrappers around the real cause, which vLLM logs before them.
_GENERIC_ERRORS = ("Engine core initialization failed", "validation error for", "WorkerProc initialization failed")


def log_error(path: Path) -> str:
    """The most telling line of a failed server's log: its last specific exception line, else its last line."""
    lines = log_tail(path, 300).splitlines()
    found = []
    for line in lines:
        text = line.split("] ", 1)[-1].strip() if line.startswith("(") else line.strip()
        head = text.split(":", 1)[0]
        if text.startswith("Value error, ") or (head.endswith(("Error", "Exception")) and " " not in head):
            found.append(text)
    specific = [t for t in found if not any(g in t for g in _GENERIC_ERRORS)]
    best = (specific or found or lines[-1:] or ["no output"])[-1]
    return best[:600]


# ---- the server process --------------------------------------------------------------------------------
_LIVE: set[ServerProcess] = set()
_PREVIOUS_SIGTERM: Any = None


def _sigterm_to_exit(signum, frame) -> None:
    # SIGTERM ends the runner through SystemExit, so finally blocks and atexit stop the servers.
    raise SystemExit(128 + signum)


def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


atexit.register(_stop_all)


class ServerProcess:
    """A server command run under the guard; use as a context manager or call stop()."""

    def __init__(self, command: Sequence[str], url: str, log_path: str | os.PathLike, name: str = "server",
                 env: dict[str, str] | None = None, grace_s: float = 20.0):
        self.command = list(command)
        self.url = url.rstrip("/")
        self.log_path = Path(log_path)
        self.name = name
        self.env = env
        self.grace_s = grace_s
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The guard's pid, which is also the process group of the server and its workers."""
        return self.proc.pid if self.proc else None

    def start(self) -> ServerProcess:
        global _PREVIOUS_SIGTERM

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as out:
            try:
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", str(GUARD), "--grace", str(self.grace_s), "--", *self.command],
                    stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                    start_new_session=True)
            except OSError as exc:
                raise ServerError(f"could not start the {self.name} ({exc.strerror or exc}).") from None
        _LIVE.add(self)
        if threading.current_thread() is threading.main_thread() and len(_LIVE) == 1:
            _PREVIOUS_SIGTERM = signal.signal(signal.SIGTERM, _sigterm_to_exit)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout_s: float, client: ServerClient) -> None:
        """Poll /health until the server answers; its death or the timeout is one clear error."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.running():
                raise ServerError(f"the {self.name} exited during start-up: {log_error(self.log_path)} "
                                  f"(full log: {self.log_path}).")
            if client.healthy():
                return
            if time.monotonic() > deadline:
                raise ServerError(f"the {self.name} did not answer {self.url}/health within {timeout_s:g} s; "
                                  f"raise generation.vllm.startup_timeout_s or read {self.log_path}.")
            time.sleep(1.0)

    def stop(self) -> None:
        """Close the guard's pipe (it stops the group: SIGTERM, SIGKILL after the grace), then make sure."""
        global _PREVIOUS_SIGTERM

        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=self.grace_s + 15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything the guard could not stop (or the guard itself)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        self.proc = None
        _LIVE.discard(self)
        if not _LIVE and _PREVIOUS_SIGTERM is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _PREVIOUS_SIGTERM)
            _PREVIOUS_SIGTERM = None

    def __enter__(self) -> ServerProcess:
        return self if self.proc else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- the client ----------------------------------------------------------------------------------------
COMPLETIONS = "/v1/completions"  # a prompt text in, its continuation out
CHAT = "/v1/chat/completions"  # messages in, rendered by the server's own chat template; the answer out
@dataclass(frozen=True)
class Completion:
    text: str
    completion_tokens: int
    finish_reason: str | None  # "stop" (an end or stop token), "length" (max_tokens reached), ...


def _error_message(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, dict):
        return str(err.get("message") or err.get("detail") or err)[:300]
    return str(err)[:300]


class ServerClient:
    """An OpenAI-compatible server at `url` (http://host:port, without /v1)."""

    def __init__(self, url: str, request_timeout_s: float = 3600.0, api_key: str | None = None):
        self.url = url.rstrip("/")
        if self.url.endswith("/v1"):
            self.url = self.url[:-3]
        self.request_timeout_s = request_timeout_s
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _get(self, path: str, timeout: float = 10.0):
        import httpx

        try:
            return httpx.get(self.url + path, timeout=timeout, headers=self.headers)
        except httpx.HTTPError as exc:
            raise ServerError(f"no answer from the model server at {self.url}{path} ({type(exc).__name__}: "
                              f"{exc}); check that it is running and that generation.base_url is right.") from None

    def healthy(self) -> bool:
        import httpx

        try:
            return httpx.get(self.url + "/health", timeout=5.0, headers=self.headers).status_code == 200
        except httpx.HTTPError:
            return False

    def version(self) -> str | None:
        """The server's version (vLLM's /version), None when it has no such endpoint."""
        r = self._get("/version")
        if r.status_code != 200:
            return None
        try:
            return str(r.json().get("version"))
        except ValueError:
            return None

    def models(self) -> list[dict]:
        r = self._get("/v1/models")
        if r.status_code != 200:
            raise ServerError(f"{self.url}/v1/models answered {r.status_code}: {_error_message(r)}.")
        return list(r.json().get("data", []))

    def check_models(self, names: Sequence[str]) -> list[dict]:
        """Every name is served, or one error naming the missing ones and what the server has."""
        served = self.models()
        have = [str(m.get("id")) for m in served]
        missing = [n for n in names if n not in have]
        if missing:
            raise ServerError(
                f"the model server at {self.url} serves no model or adapter named "
                f"{', '.join(repr(m) for m in missing)}; it has {', '.join(repr(h) for h in have) or 'none'}. "
                "Start it with the base model under that name and every adapter as `--lora-modules "
                "<language>=<runs/.../finetune/<language>-.../adapter>`, or fix generation.vllm.base_model_name.")
        return served

    def stream_completions(self, bodies: Sequence[dict], concurrency: int,
                           endpoint: str = COMPLETIONS) -> Iterator[tuple[int, Completion]]:
        """POST every body to /v1/completions (or /v1/chat/completions: CHAT, bodies with `messages`), at most
        `concurrency` in flight; yield (index, completion) as each finishes. The requests run on an event loop in a helper thread, so the caller (the main thread)
        keeps Ctrl-C and writes results as they come; leaving the loop early stops sending."""
        results: queue.Queue = queue.Queue()
        stop = threading.Event()

        def run() -> None:
            try:
                asyncio.run(self._complete_all(bodies, concurrency, results, stop, endpoint))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                results.put(exc)

        worker = threading.Thread(target=run, name="completions", daemon=True)
        worker.start()
        received = 0
        try:
            while received < len(bodies):
                try:
                    item = results.get(timeout=0.5)
                except queue.Empty:
                    if not worker.is_alive() and results.empty():
                        raise ServerError("the completion requests stopped without an answer or an error.") from None
                    continue
                if isinstance(item, BaseException):
                    raise item
                received += 1
                yield item
        finally:
            stop.set()

    async def _complete_all(self, bodies: Sequence[dict], concurrency: int, results: queue.Queue,
                            stop: threading.Event, endpoint: str = COMPLETIONS) -> None:
        import httpx

        todo = iter(range(len(bodies)))
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=self.url, timeout=self.request_timeout_s, limits=limits,
                                     headers=self.headers) as client:

            async def work() -> None:
                for i in todo:  # one shared iterator: each index is taken by one worker
                    if stop.is_set():
                        return
                    try:
                        results.put((i, await self._complete(client, bodies[i], endpoint)))
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                        stop.set()
                        results.put(exc)
                        return

            await asyncio.gather(*(work() for _ in range(min(concurrency, len(bodies)) or 1)))

    async def _complete(self, client, body: dict, endpoint: str = COMPLETIONS) -> Completion:
        import httpx

        try:
            r = await client.post(endpoint, json=body)
        except httpx.HTTPError as exc:
            raise ServerError(f"the request to {self.url}{endpoint} for model {body.get('model')!r} failed "
                              f"({type(exc).__name__}: {exc}); the server may have stopped.") from None
        if r.status_code != 200:
            raise ServerError(f"{self.url}{endpoint} answered {r.status_code} for model "
                              f"{body.get('model')!r}: {_error_message(r)}.")
        data = r.json()
        choice = data["choices"][0]
        # A completion's text, or a chat answer's message content.
        text = choice.get("text") if endpoint == COMPLETIONS else (choice.get("message") or {}).get("content")
        return Completion(text=text or "", finish_reason=choice.get("finish_reason"),
                          completion_tokens=int((data.get("usage") or {}).get("completion_tokens") or 0))

    def complete(self, bodies: Sequence[dict], concurrency: int) -> list[Completion]:
        out: list[Completion | None] = [None] * len(bodies)
        for i, completion in self.stream_completions(bodies, concurrency):
            out[i] = completion
        return [c for c in out if c is not None]


def wait_gone(pids: Sequence[int], timeout_s: float) -> list[int]:
    """The pids still alive after up to `timeout_s` (zombies count as gone)."""
    deadline = time.monotonic() + timeout_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        if alive:
            time.sleep(0.2)
    return alive


def _alive(pid: int) -> bool:
    if os.path.isdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
