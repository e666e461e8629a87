"""References: what a model looks like to each verifier family, content-addressed.

A reference is one JSON object (``docs/spec/audit.md`` has the full schema)::

    {"version": 1,
     "reference_id": "sha256:<hex>",        # sha256(JCS(this object without reference_id))
     "model_id": "smollm2-135m-instruct",   # the claim it is a reference for
     "aliases": [...],                      # other names the same model is sold under
     "created_at": "2026-12-01T00:00:00Z",
     "source": "endpoint" | "weights" | "endpoint+weights",
     "private": false,                      # a private probe bank: never put in a pack
     "generator": {"name": "llmseal", "version": "...", "params": {...}},
     "provenance": {"license": "...", "weights_sha256": "...", "endpoints": [...]},
     "covers": ["endpoint:repeat", "n_batch=1", ...],   # the honest variations measured
     "families": {"kbf": {...}, "logprob": {...}, "stack": {...}}}

Each family owns its section (probes, expected answers, and its noise envelope:
see :class:`llmseal.audit.stats.sequential.Envelope`) and ignores the others. The id
is recomputed on every load and a mismatch is refused
(:class:`~llmseal.errors.AuditIntegrityError`, ``hash_mismatch``), so a
reference named by id cannot be swapped for another. Unknown members are kept
(they are hashed like the rest) and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import orjson

from llmseal.core import _time
from llmseal.core.canonical import canonicalize, loads
from llmseal.errors import AuditIntegrityError, ContentError, InputError

__all__ = ["REFERENCE_VERSION", "Reference", "content_id"]

REFERENCE_VERSION = 1
_REQUIRED = ("version", "model_id", "created_at", "source", "covers", "families")


def content_id(body: Mapping[str, Any], *, exclude: Iterable[str]) -> str:
    """``"sha256:" + hex(sha256(JCS(body minus the excluded members)))``."""
    skip = set(exclude)
    unsigned = {k: v for k, v in body.items() if k not in skip}
    return "sha256:" + hashlib.sha256(canonicalize(unsigned)).hexdigest()


@dataclass(frozen=True)
class Reference:
    """A parsed, id-checked reference. Build with :meth:`build` or :meth:`from_dict`."""

    reference_id: str
    body: Mapping[str, Any]
    """Every member except ``reference_id`` (read only)."""

    @classmethod
    def build(
        cls,
        *,
        model_id: str,
        families: Mapping[str, Mapping[str, Any]],
        covers: Iterable[str],
        at: datetime,
        source: str,
        aliases: Iterable[str] = (),
        private: bool = False,
        generator: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Reference:
        from llmseal import __version__

        body: dict[str, Any] = {
            "version": REFERENCE_VERSION, "model_id": model_id, "aliases": sorted(set(aliases)),
            "created_at": _time.format_utc(at), "source": source, "private": private,
            "generator": {"name": "llmseal", "version": __version__, **(generator or {})},
            "provenance": dict(provenance or {}), "covers": sorted(set(covers)),
            "families": {k: dict(v) for k, v in families.items()},
        }  # fmt: skip
        plain = _plain(body)  # exactly what a reader will load back
        return cls.from_dict({"reference_id": content_id(plain, exclude=()), **plain})

    @classmethod
    def from_dict(cls, data: Any) -> Reference:
        """Parse and check the content id; AuditIntegrityError if it does not match."""
        if not isinstance(data, dict):
            raise InputError("a reference must be a JSON object")
        missing = [m for m in ("reference_id", *_REQUIRED) if m not in data]
        if missing:
            raise InputError(f"not a reference: missing {', '.join(missing)}")
        if data["version"] != REFERENCE_VERSION:
            raise InputError(f"unsupported reference version {data['version']!r}")
        if not isinstance(data["families"], dict) or not isinstance(data["covers"], list):
            raise InputError("not a reference: families must be an object, covers a list")
        body = {k: v for k, v in data.items() if k != "reference_id"}
        claimed = data["reference_id"]
        actual = content_id(body, exclude=())
        if not isinstance(claimed, str) or not hmac.compare_digest(claimed, actual):
            raise AuditIntegrityError(
                f"reference {claimed!r} does not match its content ({actual})",
                code="hash_mismatch",
            )
        return cls(actual, MappingProxyType(body))

    @classmethod
    def from_json(cls, data: bytes | str) -> Reference:
        try:
            return cls.from_dict(loads(data))
        except ContentError as exc:
            raise InputError(f"a reference must be JSON: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return {"reference_id": self.reference_id, **_plain(self.body)}

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"

    @property
    def model_id(self) -> str:
        return str(self.body["model_id"])

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(str(a) for a in self.body.get("aliases", ()))

    @property
    def private(self) -> bool:
        return self.body.get("private") is True

    @property
    def covers(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.body["covers"])

    @property
    def created_at(self) -> str:
        return str(self.body["created_at"])

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(sorted(self.body["families"]))

    def section(self, family: str) -> Mapping[str, Any] | None:
        """The family's own section, or None if the reference has none for it."""
        section = self.body["families"].get(family)
        return section if isinstance(section, dict) else None

    def names(self, model: str) -> bool:
        """Whether this reference is for the model sold as ``model``."""
        return model == self.model_id or model in self.aliases


def _plain(value: Any) -> Any:
    """Plain dicts/lists (MappingProxyType and tuples are not JSON)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
