"""What a monitor remembers between runs, and the evidence it writes on an alarm.

``<state>/state.json`` (replaced atomically, fsynced): the log's origin, the last
checkpoint the monitor verified (verbatim), and the right edge of that tree —
the partial tile of each level and the partial entry bundle
(:class:`~llmseal.log.tree.edge.TreeEdge`) — which is all it needs to recompute every
new tile and the new root from new entries alone. The state only ever moves to
a checkpoint that passed every check, so after an alarm each run alarms again.

``<state>/evidence/<UTC time>-<kind>/``: ``alarm.json`` and the signed
checkpoints involved, verbatim (``a.checkpoint``, ``b.checkpoint``), plus any
served bytes the alarm is about — what a third party needs to check it with the
log's vkey alone (docs/spec/witness.md §6).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmseal.errors import ConfigError, LogFormatError
from llmseal.log.tree.edge import TreeEdge
from llmseal.log.tree.merkle import EMPTY_ROOT
from llmseal.trust.keydir import write_atomic

__all__ = ["STATE_FORMAT", "Alarm", "MonitorState", "write_evidence"]

STATE_FORMAT = "llmseal-monitor/1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise LogFormatError("monitor state holds a non-string where base64 belongs")
    return base64.b64decode(text, validate=True)


@dataclass(frozen=True)
class MonitorState:
    """The last verified checkpoint of one log and its tree's right edge."""

    origin: str
    checkpoint: bytes = b""
    edge: TreeEdge = field(default_factory=lambda: TreeEdge(0))
    root: bytes = EMPTY_ROOT
    entries_checked: int = 0

    @property
    def size(self) -> int:
        return self.edge.size

    @classmethod
    def load(cls, directory: Path, origin: str) -> MonitorState:
        """The state in ``directory`` (a fresh one if there is none)."""
        path = directory / "state.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(origin)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read monitor state {path}: {exc}") from exc
        try:
            if data.get("format") != STATE_FORMAT:
                raise LogFormatError(f"not an {STATE_FORMAT} state")
            if data["origin"] != origin:
                raise LogFormatError(f"it follows {data['origin']!r}, not {origin!r}")
            edge = TreeEdge(
                int(data["size"]),
                tuple(tuple(_unb64(h) for h in level) for level in data["tiles"]),
                tuple(_unb64(e) for e in data["bundle"]),
            )
            return cls(origin, _unb64(data["checkpoint"]), edge, _unb64(data["root"]),
                       int(data["entries_checked"]))  # fmt: skip
        except (KeyError, TypeError, ValueError, LogFormatError) as exc:
            raise ConfigError(f"monitor state {path} is unusable: {exc}") from None

    def save(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = {
            "format": STATE_FORMAT,
            "origin": self.origin,
            "size": self.size,
            "root": _b64(self.root),
            "checkpoint": _b64(self.checkpoint),
            "entries_checked": self.entries_checked,
            "tiles": [[_b64(h) for h in level] for level in self.edge.tiles],
            "bundle": [_b64(e) for e in self.edge.bundle],
        }
        write_atomic(directory / "state.json", json.dumps(data).encode("utf-8") + b"\n", 0o600)


@dataclass(frozen=True)
class Alarm:
    """A contradiction the monitor can show: ``checkpoints`` are signed notes, verbatim."""

    kind: str
    message: str
    checkpoints: tuple[bytes, ...] = ()
    files: dict[str, bytes] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, **self.details}


def write_evidence(directory: Path, alarm: Alarm, *, origin: str, at: datetime) -> Path:
    """Write one alarm's evidence under ``directory/evidence``; the folder written."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = directory / "evidence"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = base / f"{stamp}-{alarm.kind}"
    n = 1
    while True:
        try:
            target.mkdir(mode=0o700)
            break
        except FileExistsError:
            n += 1
            target = base / f"{stamp}-{alarm.kind}-{n}"
    for name, note in zip(("a.checkpoint", "b.checkpoint"), alarm.checkpoints, strict=False):
        write_atomic(target / name, note)
    for name, data in alarm.files.items():
        write_atomic(target / os.path.basename(name), data)
    report = {"origin": origin, "at": at.astimezone(UTC).isoformat(), **alarm.to_dict()}
    write_atomic(target / "alarm.json", json.dumps(report, indent=2).encode("utf-8") + b"\n")
    return target
