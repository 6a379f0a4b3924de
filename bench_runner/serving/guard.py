"""Run a model server and take its whole process group down with it, however the runner that started it ends.

    python -I guard.py --grace 15 -- <server command ...>

The runner starts this guard as the leader of a new session (so a Ctrl-C in the terminal reaches the runner
only) with a pipe on its stdin; the server and every process it spawns (vLLM's engine core and workers) stay
in the guard's process group. The group is stopped (SIGTERM, then SIGKILL after `--grace` seconds) when:
the pipe closes (the runner stopped it, exited, or was killed with SIGKILL: the kernel closes the pipe),
the guard gets SIGTERM/SIGINT/SIGHUP, or the runner dies (Linux: PR_SET_PDEATHSIG). Standard library only,
so it runs under any Python; -I keeps the runner's environment and this folder off its import path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time


def _die_with_parent() -> None:
    """Get SIGTERM when the runner dies (Linux only; elsewhere the stdin pipe alone tells). Linux sends it when
    the runner's THREAD that started the guard ends, so start servers from a thread that outlives them."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the runner died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _group_members(pgid: int) -> list[int]:
    """Other live processes of the process group (Linux /proc; [] where there is none)."""
    members: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":  # fields: state, ppid, pgrp, ...
            members.append(int(entry))
    return members


def stop_group(server: subprocess.Popen, grace: float) -> None:
    pgid = os.getpgrp()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # the group signal below reaches this guard too
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        server.poll()
        if server.returncode is not None and not _group_members(pgid):
            return
        time.sleep(0.2)
    for pid in _group_members(pgid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.poll()
    if server.returncode is None:
        server.kill()
    server.wait()


def main(argv: list[str]) -> int:
    grace = 15.0
    if argv[:1] == ["--grace"]:
        grace, argv = float(argv[1]), argv[2:]
    if argv[:1] != ["--"] or len(argv) < 2:
        print("usage: guard.py [--grace S] -- COMMAND...", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    _die_with_parent()
    server = subprocess.Popen(argv[1:], stdin=subprocess.DEVNULL)

    def watch_pipe() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        stop.set()

    def watch_server() -> None:
        server.wait()
        stop.set()

    for target in (watch_pipe, watch_server):
        threading.Thread(target=target, daemon=True).start()
    while not stop.wait(0.5):
        pass
    stop_group(server, grace)
    return server.returncode if server.returncode and server.returncode > 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
