"""Issue 9, defect 3: evidence and replay records survive a normal exit and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from llmseal.store.evidence import EvidenceStore

ROOT = Path(__file__).parents[3]


def _script(*args: str | Path) -> subprocess.Popen[str]:
    path = os.pathsep.join(filter(None, (os.environ.get("PYTHONPATH"), str(ROOT))))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unit.client.evidence_script", *map(str, args)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": path},
    )  # fmt: skip


def _complete_samples(data: Path) -> int:
    return len(list((data / "verification_samples").rglob("manifest.json")))


def test_a_script_that_never_closes_its_client_keeps_every_record(tmp_path: Path) -> None:
    data = tmp_path / "evidence"
    calls = _script(data, tmp_path, "calls")
    assert calls.wait(60) == 0
    store = EvidenceStore(data)
    assert [r.status for r in store.list()] == ["valid"] * 3
    assert _complete_samples(data) == 3
    store.close()
    # The same signed answer, replayed to the next process with the same data_dir.
    replay = _script(data, tmp_path, "replay")
    out, _ = replay.communicate(timeout=60)
    assert out.strip() == "replay refused"


def test_sigterm_flushes_the_samples(tmp_path: Path) -> None:
    data = tmp_path / "evidence"
    proc = _script(data, tmp_path, "sigterm")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == -signal.SIGTERM  # still ends as a SIGTERM would
    assert len(list(EvidenceStore(data).list())) == 3
    assert _complete_samples(data) == 3
