"""C2SP tlog-policy: which logs and witnesses a verifier trusts, and the quorum.

A line-based text file (c2sp.org/tlog-policy, "Policy file syntax")::

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> <k|any|all> <member>...
    quorum <name|none>

Items are separated by spaces and tabs only; blank lines and ``#`` comments are
ignored. Witnesses and groups share one namespace, ``none`` is reserved, a group
or the quorum may only name what earlier lines defined (so there are no cycles),
a member appears at most once per group, ``1 <= k <= n``, and there is exactly
one quorum line. Two logs (or two witnesses) wrapping the same public key are
duplicates and refused, whatever their names.

Log keys are checkpoint keys (Ed25519, type 0x01); witness keys are cosigner
keys (type 0x04). :mod:`.quorum` evaluates a checkpoint against a policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sized
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from llmseal.errors import ConfigError, LogFormatError
from llmseal.log.note.cosignature import CosignatureVerifier
from llmseal.log.note.note import NoteVerifier
from llmseal.log.note.notekeys import SIG_COSIGNATURE, VerifierKey, load_verifier

__all__ = ["MAX_ITEMS", "PolicyGroup", "PolicyLog", "PolicyWitness", "WitnessPolicy"]

MAX_ITEMS = 256  # the spec asks for at least 32 logs, 32 witnesses and 32 groups
MAX_POLICY_BYTES = 1 << 20
_SPACE = re.compile(r"[ \t]+")
# Allowed octets: tab, LF, 0x20-0x7E, 0x80-0xFF ("Character set").
_BAD_OCTET = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_THRESHOLD = re.compile(r"\A[1-9][0-9]{0,3}\Z")


@dataclass(frozen=True, slots=True)
class PolicyLog:
    """A log the policy accepts: its checkpoint key (named as its origin)."""

    vkey: VerifierKey
    verifier: NoteVerifier
    url: str | None = None

    @property
    def origin(self) -> str:
        return self.vkey.name


@dataclass(frozen=True, slots=True)
class PolicyWitness:
    """A witness: the policy's name for it, its cosigner key, its submission URL."""

    name: str
    vkey: VerifierKey
    verifier: CosignatureVerifier
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyGroup:
    """Witnessed iff at least ``threshold`` of ``members`` (witnesses or groups) are."""

    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class WitnessPolicy:
    """A parsed tlog-policy. ``quorum`` is None for ``quorum none``."""

    logs: tuple[PolicyLog, ...]
    witnesses: Mapping[str, PolicyWitness]
    groups: Mapping[str, PolicyGroup]
    quorum: str | None
    source: str = "witness policy"

    @classmethod
    def load(cls, path: str | Path) -> WitnessPolicy:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read witness policy {path}: {exc.strerror}") from exc
        return cls.parse(data, source=str(path))

    @classmethod
    def parse(cls, data: bytes | str, *, source: str = "witness policy") -> WitnessPolicy:
        """Parse a policy file; :class:`ConfigError` names the line that is wrong."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if len(raw) > MAX_POLICY_BYTES:
            raise ConfigError(f"{source}: larger than {MAX_POLICY_BYTES} bytes")
        builder = _Builder(source)
        # Octets with the high bit set are opaque (names, URLs, comments):
        # surrogateescape keeps them byte-exact without requiring UTF-8.
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if _BAD_OCTET.search(line):
                raise ConfigError(f"{source}:{number}: control character in the policy")
            builder.line(number, line.decode("utf-8", "surrogateescape"))
        return builder.build()

    def log_verifiers(self, origin: str) -> list[NoteVerifier]:
        """The checkpoint keys the policy accepts for ``origin`` (may be empty)."""
        return [log.verifier for log in self.logs if log.origin == origin]

    def log(self, origin: str) -> PolicyLog | None:
        return next((log for log in self.logs if log.origin == origin), None)

    @property
    def witness_urls(self) -> dict[str, str]:
        """Witness name -> submission prefix, for the witnesses that have one."""
        return {name: w.url for name, w in self.witnesses.items() if w.url}

    def describe(self) -> str:
        """A one-line summary for humans."""
        quorum = self.quorum or "none"
        return (
            f"{len(self.logs)} log(s), {len(self.witnesses)} witness(es), "
            f"{len(self.groups)} group(s), quorum {quorum}"
        )


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.logs: list[PolicyLog] = []
        self.witnesses: dict[str, PolicyWitness] = {}
        self.groups: dict[str, PolicyGroup] = {}
        self.quorum: str | None = None
        self.quorum_seen = False
        self._where = source

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self._where}: {message}")

    def line(self, number: int, line: str) -> None:
        self._where = f"{self.source}:{number}"
        items = [item for item in _SPACE.split(line.strip(" \t")) if item]
        if not items or items[0].startswith("#"):
            return
        keyword, args = items[0], items[1:]
        handler = {"log": self._log, "witness": self._witness, "group": self._group}.get(keyword)
        if keyword == "quorum":
            self._quorum(args)
        elif handler is None:
            raise self.fail(f"unknown line type {keyword[:40]!r}")
        else:
            handler(args)

    def _vkey(self, text: str, *, witness: bool) -> tuple[VerifierKey, NoteVerifier]:
        try:
            vkey = VerifierKey.parse(text)
            if witness and vkey.sig_type != SIG_COSIGNATURE:
                raise LogFormatError(f"a witness key has type 0x04, not 0x{vkey.sig_type:02x}")
            if not witness and vkey.sig_type == SIG_COSIGNATURE:
                raise LogFormatError("a log key cannot be a cosigner key (type 0x04)")
            return vkey, load_verifier(vkey)
        except LogFormatError as exc:
            raise self.fail(str(exc)) from None

    def _log(self, args: list[str]) -> None:
        if len(args) not in (1, 2):
            raise self.fail("a log line is 'log <vkey> [<url>]'")
        vkey, verifier = self._vkey(args[0], witness=False)
        if any(log.vkey.public == vkey.public for log in self.logs):
            raise self.fail(f"log key {vkey.name} is listed twice")
        self._count(self.logs, "logs")
        self.logs.append(PolicyLog(vkey, verifier, args[1] if len(args) == 2 else None))

    def _witness(self, args: list[str]) -> None:
        if len(args) not in (2, 3):
            raise self.fail("a witness line is 'witness <name> <vkey> [<url>]'")
        name = self._new_name(args[0])
        vkey, verifier = self._vkey(args[1], witness=True)
        if not isinstance(verifier, CosignatureVerifier):  # only 0x04 is registered for it
            raise self.fail(f"witness {name}: unsupported cosignature key")
        if any(w.vkey.public == vkey.public for w in self.witnesses.values()):
            raise self.fail(f"witness {name}: the same key is already listed")
        self._count(self.witnesses, "witnesses")
        url = args[2] if len(args) == 3 else None
        self.witnesses[name] = PolicyWitness(name, vkey, verifier, url)

    def _group(self, args: list[str]) -> None:
        if len(args) < 3:
            raise self.fail("a group line is 'group <name> <k|any|all> <member>...'")
        name, spec, members = self._new_name(args[0]), args[1], tuple(args[2:])
        for member in members:
            if member == "none":
                raise self.fail("'none' cannot be a group member")
            if member not in self.witnesses and member not in self.groups:
                raise self.fail(f"group {name}: {member[:60]!r} is not defined above")
        if len(set(members)) != len(members):
            raise self.fail(f"group {name}: a member is listed twice")
        if spec == "any":
            threshold = 1
        elif spec == "all":
            threshold = len(members)
        elif _THRESHOLD.match(spec) and int(spec) <= len(members):
            threshold = int(spec)
        else:
            raise self.fail(f"group {name}: threshold must be any, all or 1..{len(members)}")
        self._count(self.groups, "groups")
        self.groups[name] = PolicyGroup(name, threshold, members)

    def _quorum(self, args: list[str]) -> None:
        if self.quorum_seen:
            raise self.fail("a policy has exactly one quorum line")
        if len(args) != 1:
            raise self.fail("a quorum line is 'quorum <name|none>'")
        name = args[0]
        if name != "none" and name not in self.witnesses and name not in self.groups:
            raise self.fail(f"quorum {name[:60]!r} is not defined above")
        self.quorum, self.quorum_seen = (None if name == "none" else name), True

    def _new_name(self, name: str) -> str:
        if name == "none":
            raise self.fail("'none' is reserved")
        if name in self.witnesses or name in self.groups:
            raise self.fail(f"the name {name[:60]!r} is defined twice")
        return name

    def _count(self, items: Sized, what: str) -> None:
        if len(items) >= MAX_ITEMS:
            raise self.fail(f"more than {MAX_ITEMS} {what}")

    def build(self) -> WitnessPolicy:
        self._where = self.source
        if not self.quorum_seen:
            raise self.fail("no quorum line (use 'quorum none' for no witnesses)")
        return WitnessPolicy(
            tuple(self.logs),
            MappingProxyType(dict(self.witnesses)),
            MappingProxyType(dict(self.groups)),
            self.quorum,
            self.source,
        )
