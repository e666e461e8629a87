"""Relying-party policy: what a receipt must show beyond a valid signature.

A policy is a small TOML file (seed 000: "CI pipeline requires a signed review
from a specific model tier before merging")::

    issuers = ["review.example.com"]                           # issuer claim
    models = ["lab/opus-*", "lab/sonnet-4-*"]                  # model_id patterns
    max_age = "7d"                                             # s, m, h, d
    require_receipt = true
    require_content = ["prompt", "output"]                     # content must be shown
    require_logged = true                                      # in a trusted log:
    logs = ["log.example.com/receipts+1a2b3c4d+AR..."]         # log vkeys (C2SP)

    [log]                                                      # witnesses (issue 11):
    witness_policy = "witnesses.policy"                        # C2SP tlog-policy file
    require_witnessed = true                                   # its quorum cosigned it

    [chain]                                                    # receipt chains (bundles):
    transforms = ["identity", "reserialize"]                   # transforms hops may declare
    hops = ["relay.example.com"]                               # issuers trusted to transform

    [keysets]                                                  # whose keys to trust,
    "review.example.com" = "https://review.example.com/v1/receipts/keys"  # per issuer

``keysets`` may also be a plain list of locations. In the table form each key
set is *bound* to its issuer: a receipt signed by one of its keys is refused if
it claims another issuer (the claim is the signer's own word; where the key was
found is not). DNS keys are bound to the domain of their key id the same way.

A list-form policy file looks like::

    keysets = ["https://review.example.com/v1/receipts/keys"]

Policy failures are reported separately from the cryptographic status
(design.md, "Statuses"): a receipt can be ``valid`` and still not admitted.
Evaluation time is a parameter (``at=``).
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from llmseal.core.verify import Status, Verification
from llmseal.errors import ConfigError

__all__ = ["Policy", "PolicyResult"]

_DURATION = re.compile(r"\A(\d+)\s*([smhd])\Z")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_KNOWN = {"keysets", "issuers", "models", "key_ids", "max_age", "require_receipt",
          "require_content", "clock_skew", "require_logged", "logs", "log", "chain"}  # fmt: skip
_LOG_KNOWN = {"witness_policy", "require_witnessed"}
_CHAIN_KNOWN = {"transforms", "hops"}


@dataclass(frozen=True)
class PolicyResult:
    """Empty ``failures`` means admitted. Truthy iff admitted."""

    failures: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class Policy:
    keysets: tuple[str, ...] = ()
    keyset_issuers: Mapping[str, str] = field(default_factory=dict)
    """Key set location -> the issuer its keys are bound to (the table form)."""
    issuers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    key_ids: tuple[str, ...] = ()
    max_age: timedelta | None = None
    require_receipt: bool = True
    require_content: frozenset[str] = frozenset()
    clock_skew: timedelta = timedelta(minutes=5)
    require_logged: bool = False
    """The receipt must come with a proof of inclusion in one of ``logs``."""
    logs: tuple[str, ...] = ()
    """Transparency logs trusted for ``require_logged``, as C2SP vkeys."""
    witness_policy: str | None = None
    """``[log] witness_policy``: a C2SP tlog-policy file (read above this layer)."""
    require_witnessed: bool = False
    """``[log] require_witnessed``: the log proof's checkpoint must satisfy its quorum."""
    chain_transforms: frozenset[str] | None = None
    """``[chain] transforms``: the hop transforms trusted (None: any the verifier can name)."""
    chain_hops: tuple[str, ...] = ()
    """``[chain] hops``: issuers whose hop receipts may change an answer (empty: any)."""

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read policy {path}: {exc.strerror or exc}") from exc
        policy = cls.from_toml(text, source=str(path))
        if policy.witness_policy is not None:  # relative to the policy file, not the cwd
            policy = replace(policy, witness_policy=str(Path(path).parent / policy.witness_policy))
        return policy

    @classmethod
    def from_toml(cls, text: str, *, source: str = "policy") -> Policy:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source} is not TOML: {exc}") from exc
        data = _one_layout(data, source)
        unknown = set(data) - _KNOWN
        if unknown:
            raise ConfigError(f"{source}: unknown setting(s) {sorted(unknown)}")
        content = frozenset(_strings(data, "require_content", source))
        if not content <= {"prompt", "output"}:
            raise ConfigError(f"{source}: require_content takes 'prompt' and/or 'output'")
        keysets, bindings = _keysets(data.get("keysets", []), source)
        return cls(
            keysets=keysets,
            keyset_issuers=bindings,
            issuers=_strings(data, "issuers", source),
            models=_strings(data, "models", source),
            key_ids=_strings(data, "key_ids", source),
            max_age=_duration(data.get("max_age"), "max_age", source),
            require_receipt=_bool(data, "require_receipt", source, default=True),
            require_content=content,
            clock_skew=_duration(data.get("clock_skew", "5m"), "clock_skew", source) or timedelta(),
            require_logged=_bool(data, "require_logged", source, default=False),
            logs=_strings(data, "logs", source),
            **_log_table(data.get("log", {}), source),
            **_chain_table(data.get("chain", {}), source),
        )

    def check(
        self,
        result: Verification,
        *,
        at: datetime,
        logged: bool = False,
        log_reason: str | None = None,
        witnessed: bool = False,
        witness_reason: str | None = None,
    ) -> PolicyResult:
        """Every rule this verified receipt breaks (none: admitted).

        ``logged``/``log_reason`` are the caller's log verdict (proofs are checked in
        :mod:`llmseal.log.trust`, above this layer): whether a proof of inclusion in
        one of ``logs`` verified, and if not, why. ``witnessed``/``witness_reason``: the
        same for the witness quorum of ``witness_policy``.
        """
        failures: list[str] = []
        if self.require_logged and not logged:
            reason = log_reason or "no proof that the receipt is in a trusted log"
            failures.append(f"require_logged: {reason}")
        if self.require_witnessed and not witnessed:
            reason = witness_reason or "no log proof cosigned by the witness quorum"
            failures.append(f"require_witnessed: {reason}")
        receipt = result.receipt
        if result.status is not Status.VALID:
            failures.append(f"status: the receipt is {result.status.value}, not valid")
        for name in sorted(self.require_content - set(result.content_checked)):
            failures.append(f"require_content: the {name} was not supplied and checked")
        issuer = receipt.claims.get("issuer")
        if result.key is not None and not result.key.issuer_allowed(issuer):
            failures.append(
                f"issuers: the receipt claims issuer {issuer!r}, but its key belongs to "
                f"{result.key.bound_issuer!r}"
            )
        elif self.issuers and (not isinstance(issuer, str) or not _matches(issuer, self.issuers)):
            failures.append(f"issuers: issuer {issuer!r} is not one of {list(self.issuers)}")
        if self.models and not _matches(receipt.model_id, self.models):
            failures.append(
                f"models: model {receipt.model_id!r} matches none of {list(self.models)}"
            )
        if self.key_ids and receipt.key_id not in self.key_ids:
            failures.append(f"key_ids: key {receipt.key_id!r} is not allowed")
        issued = receipt.issued_at_datetime
        if issued - at > self.clock_skew:
            failures.append(f"issued_at: {receipt.issued_at} is in the future")
        if self.max_age is not None and at - issued > self.max_age:
            failures.append(f"max_age: issued {receipt.issued_at}, older than {self.max_age}")
        return PolicyResult(tuple(failures))

    def describe(self) -> dict[str, Any]:
        return {
            "keysets": list(self.keysets), "issuers": list(self.issuers),
            "models": list(self.models), "key_ids": list(self.key_ids),
            "max_age_s": self.max_age.total_seconds() if self.max_age else None,
            "require_receipt": self.require_receipt,
            "require_content": sorted(self.require_content),
            "require_logged": self.require_logged, "logs": list(self.logs),
            "witness_policy": self.witness_policy, "require_witnessed": self.require_witnessed,
        }  # fmt: skip


def _one_layout(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The settings, from the top level or from a ``[policy]`` table — never from both.

    A policy is security configuration: a rule that sits where it is not read
    (top-level ``issuers`` beside a ``[policy]`` table) would silently admit
    anything, so a file that mixes the layouts is refused.
    """
    if "policy" not in data:
        return data
    table = data["policy"]
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [policy] must be a table")
    outside = sorted(set(data) - {"policy"})
    if outside:
        raise ConfigError(
            f"{source}: {outside} outside the [policy] table would be ignored; "
            "put every setting in [policy], or none"
        )
    return table


def _log_table(value: Any, source: str) -> dict[str, Any]:
    """``[log]``: which witness policy, and whether its quorum is required."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [log] must be a table")
    unknown = set(value) - _LOG_KNOWN
    if unknown:
        raise ConfigError(f"{source}: unknown [log] setting(s) {sorted(unknown)}")
    path = value.get("witness_policy")
    if path is not None and (not isinstance(path, str) or not path):
        raise ConfigError(f"{source}: [log] witness_policy must be a file name")
    required = _bool(value, "require_witnessed", source, default=False)
    if required and path is None:
        raise ConfigError(f"{source}: [log] require_witnessed needs a witness_policy")
    return {"witness_policy": path, "require_witnessed": required}


def _chain_table(value: Any, source: str) -> dict[str, Any]:
    """``[chain]``: which transforms hops may declare, and which hops may declare them."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [chain] must be a table")
    unknown = set(value) - _CHAIN_KNOWN
    if unknown:
        raise ConfigError(f"{source}: unknown [chain] setting(s) {sorted(unknown)}")
    transforms = frozenset(_strings(value, "transforms", source)) if "transforms" in value else None
    return {"chain_transforms": transforms, "chain_hops": _strings(value, "hops", source)}


def _keysets(value: Any, source: str) -> tuple[tuple[str, ...], dict[str, str]]:
    if isinstance(value, dict):
        if not all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()):
            raise ConfigError(f"{source}: [keysets] maps issuer names to key set locations")
        locations = list(value.values())
        _refuse_repeats(locations, "[keysets] location", source)
        return tuple(locations), {location: issuer for issuer, location in value.items()}
    locations = list(_strings({"keysets": value}, "keysets", source))
    _refuse_repeats(locations, "keysets location", source)
    return tuple(locations), {}


def _refuse_repeats(values: list[str], what: str, source: str) -> None:
    """One key set bound to two issuers would be bound to whichever came last."""
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ConfigError(f"{source}: {what} listed more than once: {repeated}")


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def _strings(data: dict[str, Any], name: str, source: str) -> tuple[str, ...]:
    value = data.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{source}: {name} must be a list of non-empty strings")
    return tuple(value)


def _bool(data: dict[str, Any], name: str, source: str, *, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: {name} must be true or false")
    return value


def _duration(value: Any, name: str, source: str) -> timedelta | None:
    if value is None:
        return None
    match = _DURATION.match(value) if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        seconds = value
    elif match is not None:
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ConfigError(f"{source}: {name} must look like 30s, 15m, 12h or 7d")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ConfigError(f"{source}: {name} is too long") from None
