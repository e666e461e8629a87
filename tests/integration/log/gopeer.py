"""The Go peer: golang.org/x/mod/sumdb/{note,tlog} (Debian) checking our log.

Built once per session in GOPATH mode (``GO111MODULE=off``, ``GOPROXY=off``):
nothing is downloaded; the only dependency is Debian's golang-golang-x-mod-dev.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).parents[2] / "gopeer"
GOCODE = Path("/usr/share/gocode")


@dataclass(frozen=True)
class GoPeer:
    binary: Path

    def check(
        self,
        log_dir: Path,
        vkey: str,
        origin: str,
        *,
        proofs: Sequence[Path] = (),
        consistency: Sequence[Path] = (),
    ) -> dict[str, Any]:
        """Run the peer; returns its summary, raises AssertionError with its message."""
        args = [str(self.binary), "-vkey", vkey, "-origin", origin, "-log", str(log_dir)]
        for p in proofs:
            args += ["-proof", str(p)]
        for c in consistency:
            args += ["-consistency", str(c)]
        done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise AssertionError(f"Go peer refused the log: {done.stderr.strip()}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result


def build(workdir: Path) -> GoPeer:
    """``go vet`` + ``go build`` the peer; fails loudly when Go or x/mod is missing."""
    assert (GOCODE / "src/golang.org/x/mod/sumdb/tlog").is_dir(), (
        "golang-golang-x-mod-dev is not installed (scripts/install-system.sh)"
    )
    env = dict(
        os.environ,
        GO111MODULE="off",
        GOPATH=f"{SOURCE}:{GOCODE}",
        GOCACHE=str(workdir / "gocache"),
        GOPROXY="off",
        GOFLAGS="",
        CGO_ENABLED="0",
    )
    binary = workdir / "tlogpeer"
    for cmd in (["go", "vet", "tlogpeer"], ["go", "build", "-o", str(binary), "tlogpeer"]):
        subprocess.run(cmd, env=env, cwd=workdir, check=True, timeout=600)
    return GoPeer(binary)
