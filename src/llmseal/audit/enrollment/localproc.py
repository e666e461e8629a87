"""The weights run in a process of their own, one per engine setting (enrollment).

"A fresh process" is one of the honest variations issue 12 lists: memory layout,
thread start-up and library state differ between processes, and any nondeterminism
they cause belongs in the envelope. :class:`ProcessRun` is a
:class:`~llmseal.audit.family.Source` of kind ``weights`` that starts
``python -m llmseal.audit.enrollment.localproc`` for its setting and sends it one request per
line (JSON in, JSON out over the pipes); the child runs a
:class:`~llmseal.audit.replay.envelope.LocalRun` — the same code path as in-process
runs and as llama-cpp-python's server. Its label ends ``,process=N`` so the
reference's ``covers`` says which settings ran in separate processes (two
processes with the same setting are two variations).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from typing import IO, Any

import orjson

from llmseal.audit.family import WeightsSource
from llmseal.errors import AuditError

__all__ = ["ProcessRun", "main"]


class ProcessRun(WeightsSource):
    """One engine setting of ``model`` in a child process (close it when done)."""

    def __init__(self, model: str, settings: Mapping[str, Any], *, index: int = 1) -> None:
        from llmseal.audit.replay.envelope import LocalRun

        self._settings = dict(settings)
        named = {k: v for k, v in self._settings.items() if k in ("n_batch", "n_threads")}
        probe = LocalRun.label_for(**named, prompt_cache=self._settings.get("prompt_cache", False))
        self._label = f"{probe},process={index}"
        env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        self._child = subprocess.Popen(
            [sys.executable, "-m", "llmseal.audit.enrollment.localproc", model,
             orjson.dumps(self._settings).decode()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )  # fmt: skip
        ready = self._read()
        if ready.get("ready") is not True:
            self.close()
            raise AuditError(f"{self._label}: the weights did not load: {ready.get('error')}")

    def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        pipe = self._child.stdin
        if pipe is None or self._child.poll() is not None:
            raise AuditError(f"{self._label}: the worker process has exited")
        pipe.write(orjson.dumps(dict(body)) + b"\n")
        pipe.flush()
        answer = self._read()
        if "error" in answer:
            raise AuditError(f"{self._label}: {answer['error']}")
        result: dict[str, Any] = answer["result"]
        return result

    def _read(self) -> dict[str, Any]:
        out = self._child.stdout
        line = out.readline() if out is not None else b""
        if not line:
            return {"error": "the worker process ended"}
        parsed: dict[str, Any] = orjson.loads(line)
        return parsed

    def close(self) -> None:
        if self._child.stdin is not None and not self._child.stdin.closed:
            self._child.stdin.close()
        try:
            self._child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        if self._child.stdout is not None:
            self._child.stdout.close()


def _serve(model: str, settings: Mapping[str, Any], lines: IO[bytes], out: IO[bytes]) -> None:
    from llmseal.audit.replay.envelope import LocalRun

    try:
        run = LocalRun(model, **dict(settings))
    except Exception as exc:
        out.write(orjson.dumps({"error": f"{type(exc).__name__}: {exc}"}) + b"\n")
        out.flush()
        return
    out.write(b'{"ready": true}\n')
    out.flush()
    try:
        for line in lines:
            try:
                reply: dict[str, Any] = {"result": run.complete(orjson.loads(line))}
            except Exception as exc:
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            out.write(orjson.dumps(reply, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
            out.flush()
    finally:
        run.close()


def main(argv: list[str] | None = None) -> None:
    """Worker entry point: ``python -m llmseal.audit.enrollment.localproc MODEL SETTINGS_JSON``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write(
            "usage: python -m llmseal.audit.enrollment.localproc MODEL SETTINGS_JSON\n"
        )
        sys.exit(2)
    # The pipe is the protocol: keep llama.cpp's C-level chatter off it.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(args[0], orjson.loads(args[1]), sys.stdin.buffer, channel)


if __name__ == "__main__":
    main()
