"""Start a real ``llmseal witness serve`` process on a free loopback port."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import free_port, wait_http


@dataclass
class WitnessProcess:
    url: str
    vkey: str
    process: subprocess.Popen[bytes]


def init_witness(directory: Path, name: str) -> str:
    """``llmseal witness init``; the vkey it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "llmseal", "witness", "init", "--dir", str(directory),
         "--name", name],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return done.stdout.decode().strip()


@contextlib.contextmanager
def running_witness(
    directory: Path, log_vkeys: Sequence[str], *, name: str = "witness.example/w",
    port: int | None = None,
) -> Iterator[WitnessProcess]:  # fmt: skip
    """A witness serving ``directory`` (initialised if new) until the block ends."""
    vkey = (
        (directory / "witness.vkey").read_text().strip()
        if (directory / "witness.key").exists()
        else init_witness(directory, name)
    )
    port = port or free_port()
    args = [sys.executable, "-m", "llmseal", "witness", "serve", "--dir", str(directory),
            "--port", str(port)]  # fmt: skip
    for key in log_vkeys:
        args += ["--log-vkey", key]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", timeout=60, process=process)
        yield WitnessProcess(url, vkey, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
