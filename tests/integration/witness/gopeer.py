"""The Go witness peer (tests/gopeer/src/witnesspeer): x/mod's note with a 0x04 type.

Built once per session in GOPATH mode (``GO111MODULE=off``, ``GOPROXY=off``), as
the log's Go peer is: nothing is downloaded, only Debian's golang-golang-x-mod-dev.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.log.gopeer import go_build


@dataclass(frozen=True)
class WitnessPeer:
    binary: Path

    def run(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"Go witness peer refused: {done.stderr.strip()}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result


def build(workdir: Path) -> WitnessPeer:
    """``go vet`` + ``go build`` the peer (as the log's Go peer is built)."""
    return WitnessPeer(go_build(workdir, "witnesspeer"))
