"""The Go witness peer (tests/gopeer/src/witnesspeer): x/mod's note with a 0x04 type.

Built once per session in GOPATH mode (``GO111MODULE=off``, ``GOPROXY=off``), as
the log's Go peer is: nothing is downloaded, only Debian's golang-golang-x-mod-dev.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).parents[2] / "gopeer"
GOCODE = Path("/usr/share/gocode")


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
    """``go vet`` + ``go build`` the peer; fails loudly when Go or x/mod is missing."""
    assert (GOCODE / "src/golang.org/x/mod/sumdb/note").is_dir(), (
        "golang-golang-x-mod-dev is not installed (scripts/install-system.sh)"
    )
    env = dict(os.environ, GO111MODULE="off", GOPATH=f"{SOURCE}:{GOCODE}", GOPROXY="off",
               GOCACHE=str(workdir / "gocache"), GOFLAGS="", CGO_ENABLED="0")  # fmt: skip
    binary = workdir / "witnesspeer"
    for cmd in (["go", "vet", "witnesspeer"], ["go", "build", "-o", str(binary), "witnesspeer"]):
        subprocess.run(cmd, env=env, cwd=workdir, check=True, timeout=600)
    return WitnessPeer(binary)
