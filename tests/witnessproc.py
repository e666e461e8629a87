"""Real ``llmseal witness serve`` / ``llmseal log serve`` processes on ``--port 0``; their
URL read from the line each prints once it is bound."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.helpers import wait_http

_ON = re.compile(r"llmseal witness \S+ on (http://127\.0\.0\.1:\d+) for ")
_UVICORN = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


@dataclass
class WitnessProcess:
    process: subprocess.Popen[bytes]
    vkey: str
    url: str = ""
    lines: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def init_witness(directory: Path, name: str) -> str:
    """``llmseal witness init``; the vkey it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "llmseal", "witness", "init", "--dir", str(directory),
         "--name", name],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return done.stdout.decode().strip()


def start_witness(
    directory: Path, log_vkeys: Sequence[str], *, name: str = "witness.example/w"
) -> WitnessProcess:
    """A witness serving ``directory`` (initialised if new), ready to answer."""
    key = directory / "witness.key"
    vkey = (directory / "witness.vkey").read_text().strip() if key.exists() else None
    vkey = vkey or init_witness(directory, name)
    args = ["witness", "serve", "--dir", str(directory), "--port", "0"]
    for log_key in log_vkeys:
        args += ["--log-vkey", log_key]
    return _start(args, _ON, vkey)


def start_log(directory: Path, keysets: Sequence[str], *extra: str) -> WitnessProcess:
    """``llmseal log serve --port 0`` on an existing log directory (``vkey``: the log's)."""
    args = ["log", "serve", "--dir", str(directory), "--port", "0", *extra]
    for keyset in keysets:
        args += ["--keys", keyset]
    vkey = json.loads((directory / "log.json").read_text())["vkey"]
    return _start(args, _UVICORN, vkey)


def _start(args: list[str], pattern: re.Pattern[str], vkey: str) -> WitnessProcess:
    proc = subprocess.Popen([sys.executable, "-m", "llmseal", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    server = WitnessProcess(proc, vkey)
    bound = threading.Event()

    def drain(stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace")
            server.lines.append(line)
            found = pattern.search(line)
            if found and not bound.is_set():
                server.url = found.group(1)
                bound.set()

    assert proc.stderr is not None
    threading.Thread(target=drain, args=(proc.stderr,), daemon=True).start()
    for _ in range(600):  # a hang guard (60 s), not a wait for time to pass
        if bound.wait(0.1) or proc.poll() is not None:
            break
    if not bound.is_set():
        server.stop()
        raise RuntimeError(f"llmseal {args[0]} serve did not start: {''.join(server.lines)}")
    wait_http(server.url + "/", timeout=60, process=proc)
    return server


@contextlib.contextmanager
def running_witness(
    directory: Path, log_vkeys: Sequence[str], *, name: str = "witness.example/w"
) -> Iterator[WitnessProcess]:
    witness = start_witness(directory, log_vkeys, name=name)
    try:
        yield witness
    finally:
        witness.stop()
