"""``python -m llmseal.devserver``: the upstream every doc page assumes, from one command."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx
import pytest

from llmseal.devserver import MODEL_ALIAS


def _devserver(port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "llmseal.devserver", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.model
def test_serves_smollm2_until_interrupted() -> None:
    proc = _devserver(0)  # port 0: any free port, printed once the model answers
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.startswith(f"serving {MODEL_ALIAS} on http://127.0.0.1:"), ready
        port = int(ready.split("127.0.0.1:")[1].split("/")[0])
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 200
        answer = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions", timeout=120,
            json={"model": MODEL_ALIAS, "max_tokens": 8,
                  "messages": [{"role": "user", "content": "Say hi."}]},
        ).json()  # fmt: skip
        assert answer["choices"][0]["message"]["content"]
        proc.send_signal(signal.SIGINT)
        # A hang guard, not a timing check: on a loaded machine the model server may take its
        # whole SIGTERM grace (15 s) and more to free the model.
        assert proc.wait(timeout=180) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the model server went with it


def test_a_busy_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = _devserver(busy.getsockname()[1])
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out == ""
    assert err.count("\n") == 1 and "is not free" in err
