"""A runner process that starts a vLLM server through bench_runner's own code, for the no-orphan tests.

    python tests/support/vllm_runner.py serve LOG [NAME=ADAPTER ...]   # prints {"url", "guard", "version"}
                                                                      # once ready, then waits
    python tests/support/vllm_runner.py start LOG                     # prints {"guard"} at once, then waits
                                                                      # for /health and forever
    python tests/support/vllm_runner.py plain LOG -- COMMAND ...      # any command under the guard

SmolLM2-135M (the builtin) on vLLM's CPU build; the test kills this process and checks the server is gone.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# vLLM's CPU build reserves 90% of the RAM unless the KV cache is sized: 512 MiB holds ~11k tokens here.
CPU_ARGS = ["--kv-cache-memory-bytes", str(512 * 2**20)]


def main(argv: list[str]) -> int:
    from bench_runner.config import ModelConfig, VllmConfig
    from bench_runner.serving.server import ServerClient, ServerProcess, free_port
    from bench_runner.serving.vllm import VllmServing, check_vllm_python, servable_model_dir, server_command

    mode, log_path = argv[0], Path(argv[1])
    if mode == "plain":
        with ServerProcess(argv[3:], "http://127.0.0.1:9", log_path, grace_s=5) as server:
            print(json.dumps({"guard": server.pid}), flush=True)
            while True:
                time.sleep(1)
    model = ModelConfig(builtin="smollm2-135m-instruct", device="cpu")
    vllm = VllmConfig(max_model_len=1024, extra_args=CPU_ARGS)
    if mode == "serve":
        adapters = {name: Path(path) for name, path in (a.split("=", 1) for a in argv[2:])}
        with VllmServing(model, vllm, adapters=adapters, log_path=log_path) as serving:
            assert serving.process is not None
            print(json.dumps({"url": serving.process.url, "guard": serving.process.pid,
                              "version": serving.version}), flush=True)
            while True:
                time.sleep(1)
    from bench_runner.models import weights_location

    port = free_port()
    cmd = server_command(check_vllm_python(vllm), str(servable_model_dir(Path(weights_location(model)[0]))),
                         served_name="base", port=port, dtype="float32", seed=0, max_model_len=1024,
                         extra_args=CPU_ARGS)
    with ServerProcess(cmd, f"http://127.0.0.1:{port}", log_path) as server:
        print(json.dumps({"guard": server.pid}), flush=True)
        server.wait_ready(1200, ServerClient(server.url))
        while True:
            time.sleep(1)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # the `with` blocks above have stopped the server
        sys.exit(130)
