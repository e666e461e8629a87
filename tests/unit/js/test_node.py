"""``node --test`` runs the JS verifier's suite: official, JCS, Merkle, Python-signed vectors."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

JS = Path(__file__).parents[3] / "js"


def test_node_is_at_least_20() -> None:
    node = shutil.which("node")
    assert node is not None, "node is missing (scripts/install-system.sh installs nodejs)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    assert int(version.stdout.strip().lstrip("v").split(".")[0]) >= 20


def test_node_test_runner_passes() -> None:
    files = sorted(str(p.relative_to(JS)) for p in (JS / "test").glob("*.test.js"))
    assert len(files) >= 5
    done = subprocess.run(
        ["node", "--test", *files], cwd=JS, capture_output=True, text=True, timeout=300
    )
    summary = dict(re.findall(r"^# (pass|fail|cancelled|skipped|todo) (\d+)$", done.stdout, re.M))
    failures = "\n".join(line for line in done.stdout.splitlines() if line.startswith("not ok"))
    assert done.returncode == 0, failures or done.stderr[-2000:]
    assert summary["fail"] == "0" and summary["skipped"] == "0" and summary["todo"] == "0"
    assert int(summary["pass"]) > 250
