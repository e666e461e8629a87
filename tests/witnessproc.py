"""A real ``llmseal witness serve --port 0`` process; its URL read from the line it prints."""

from __future__ import annotations

import contextlib
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
    args = [sys.executable, "-m", "llmseal", "witness", "serve", "--dir", str(directory),
            "--port", "0"]  # fmt: skip
    for log_key in log_vkeys:
        args += ["--log-vkey", log_key]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    witness = WitnessProcess(proc, vkey)
    bound = threading.Event()

    def drain(stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace")
            witness.lines.append(line)
            found = _ON.search(line)
            if found and not bound.is_set():
                witness.url = found.group(1)
                bound.set()

    assert proc.stderr is not None
    threading.Thread(target=drain, args=(proc.stderr,), daemon=True).start()
    for _ in range(600):  # a hang guard (60 s), not a wait for time to pass
        if bound.wait(0.1) or proc.poll() is not None:
            break
    if not bound.is_set():
        witness.stop()
        raise RuntimeError(f"llmseal witness serve did not start: {''.join(witness.lines)}")
    wait_http(witness.url + "/", timeout=60, process=proc)
    return witness


@contextlib.contextmanager
def running_witness(
    directory: Path, log_vkeys: Sequence[str], *, name: str = "witness.example/w"
) -> Iterator[WitnessProcess]:
    witness = start_witness(directory, log_vkeys, name=name)
    try:
        yield witness
    finally:
        witness.stop()
