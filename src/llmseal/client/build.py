"""From the options the verifying transports take to the :class:`ResponseVerifier` they use.

:func:`build_verifier` turns locations into resolvers and stores: a key set location,
a resolver, or ``{issuer: location}``; evidence under ``data_dir`` (SQLite) or in a
``postgresql://`` store shared by a fleet; trusted logs and a witness policy for
inline log proofs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path

from llmseal.client.failures import Expectations
from llmseal.client.logproof import LogCheck
from llmseal.client.verifier import DEFAULT_FRESHNESS, ResponseVerifier
from llmseal.core.keyset import KeyResolver, KeySet
from llmseal.core.receipt import Receipt
from llmseal.errors import ConfigError
from llmseal.log.trust import LogTrust
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from llmseal.store.evidence import EvidenceStore
from llmseal.trust.keysource import BoundIssuer, CachedKeySet, KeySources

__all__ = ["build_verifier"]


def _resolver(keys: str | os.PathLike[str] | KeyResolver | Mapping[str, str]) -> KeyResolver:
    """A location, a resolver, or ``{issuer: location}`` (each key set bound to its issuer)."""
    if isinstance(keys, str | os.PathLike):
        return CachedKeySet(str(keys))
    if isinstance(keys, Mapping):
        return KeySources(*(BoundIssuer(CachedKeySet(loc), issuer) for issuer, loc in keys.items()))
    return keys


def build_verifier(
    *,
    keys: str | os.PathLike[str] | KeyResolver | KeySet | Mapping[str, str],
    data_dir: str | os.PathLike[str] | None = None,
    require_receipt: bool = True,
    expect_issuer: str | None = None,
    expect_models: tuple[str, ...] | list[str] = (),
    sample_rate: float = 0.01,
    sample_cap: int = 16 << 20,
    freshness: timedelta | None = DEFAULT_FRESHNESS,
    log_vkeys: tuple[str, ...] | list[str] = (),
    require_logged: bool = False,
    witness_policy: str | Path | WitnessPolicy | None = None,
    require_witnessed: bool = False,
    on_result: Callable[[Receipt, str, str], None] | None = None,
    store: str | None = None,
) -> ResponseVerifier:
    """The verifier both transports use (evidence under ``data_dir``, if given).

    ``freshness``: how far a live answer's ``issued_at`` may be from this
    machine's clock (either way); None turns the check off. ``log_vkeys``: the
    transparency logs whose inline proofs (``receipt_evidence.log``) are checked;
    ``require_logged``: an answer without a verifying proof fails. ``witness_policy``
    (a C2SP tlog-policy, file or parsed): the proof's checkpoint is judged by its
    witness quorum, and ``require_witnessed`` fails an answer the quorum has not
    cosigned. ``on_result(receipt, endpoint, status)`` is told every checked
    receipt's verdict (:func:`llmseal.integrations.otel.span_annotator`).
    """
    evidence: EvidenceStore | None = None
    if store is not None:  # postgresql://…: one evidence store (and replay check) for a fleet
        evidence = _shared_evidence(store, data_dir, sample_cap)
    elif data_dir is not None:
        evidence = EvidenceStore(Path(data_dir).expanduser(), sample_cap=sample_cap)
    return ResponseVerifier(
        _resolver(keys),
        evidence=evidence,
        require_receipt=require_receipt,
        expect=Expectations(issuer=expect_issuer, models=tuple(expect_models)),
        sample_rate=sample_rate,
        freshness=freshness,
        log_check=_log_check(log_vkeys, require_logged, witness_policy, require_witnessed),
        on_result=on_result,
    )


def _shared_evidence(
    store: str, data_dir: str | os.PathLike[str] | None, sample_cap: int
) -> EvidenceStore:
    from llmseal.store.pg import is_postgres_url

    if not is_postgres_url(store):
        raise ConfigError(f"store must be a postgresql:// URL (or use data_dir), not {store!r}")
    from llmseal.store.pgevidence import PostgresEvidenceStore

    samples = Path(data_dir).expanduser() if data_dir is not None else None
    return PostgresEvidenceStore(store, samples, sample_cap=sample_cap)


def _log_check(
    vkeys: tuple[str, ...] | list[str],
    required: bool,
    witness_policy: str | Path | WitnessPolicy | None = None,
    require_witnessed: bool = False,
) -> LogCheck | None:
    witnesses = (
        WitnessPolicy.load(witness_policy)
        if isinstance(witness_policy, str | Path) else witness_policy
    )  # fmt: skip
    if require_witnessed and witnesses is None:
        raise ConfigError("require_witnessed needs witness_policy (the witnesses you trust)")
    if not vkeys and not required and witnesses is None:
        return None
    logs = [*vkeys, *(str(log.vkey) for log in witnesses.logs)] if witnesses else list(vkeys)
    if required and not logs:
        raise ConfigError("require_logged needs log_vkeys (the logs you trust)")
    return LogCheck(LogTrust.from_vkeys(logs), required=required or require_witnessed,
                    witnesses=witnesses, require_witnessed=require_witnessed)  # fmt: skip
