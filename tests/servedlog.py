"""A tile log as a dict of served files, written by the spec's formulas (not our writer).

Tests publish sizes one by one (every published size keeps its partial tiles, as
tlog-tiles asks), and can then tamper with what is served: rewrite entries,
tiles or the checkpoint, roll back, or fork.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmseal.errors import LogError
from llmseal.log.note.checkpoint import SignedCheckpoint
from tests.logtree import TreeLog
from tests.unit.log.spec_tiles import build


@dataclass
class ServedLog:
    log: TreeLog
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def publish(self, size: int | None = None) -> SignedCheckpoint:
        size = len(self.log.entries) if size is None else size
        self.files.update(build(self.log.entries[:size]))
        cp = self.log.checkpoint(size)
        self.files["checkpoint"] = cp.encode()
        return cp

    def fetch(self, path: str) -> bytes:
        self.requests.append(path)
        try:
            return self.files[path]
        except KeyError:
            raise LogError(f"no {path} (HTTP 404)") from None
