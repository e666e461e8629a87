"""Fixtures for log tests: an issuer key, its key set, receipts, a fresh log directory."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import issue_receipt
from llmseal.log.service.service import TransparencyLog, init_log

ORIGIN = "log.example.com/test"


@pytest.fixture
def issuer() -> Ed25519Signer:
    return Ed25519Signer.generate("issuer-2026q2")


@pytest.fixture
def issuer_keys(issuer: Ed25519Signer) -> KeySet:
    return KeySet([KeyEntry(issuer.key_id, issuer.public_key())])


@pytest.fixture
def make_receipt(issuer: Ed25519Signer, t0: datetime) -> Callable[..., dict[str, Any]]:
    def make(n: int = 0, **claims: Any) -> dict[str, Any]:
        receipt = issue_receipt(
            issuer,
            model_id="lab/model",
            prompt_hash=f"{n:064x}",
            output_hash="1" * 64,
            at=t0,
            claims={"n": n, **claims},
        )
        return receipt.to_dict()

    return make


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "log"
    init_log(path, ORIGIN)
    return path


@pytest.fixture
def open_log(log_dir: Path, issuer_keys: KeySet) -> Iterator[Callable[..., TransparencyLog]]:
    opened: list[TransparencyLog] = []

    def open_(**kwargs: Any) -> TransparencyLog:
        kwargs.setdefault("batch_age", 0.005)
        log = TransparencyLog.open(log_dir, keys=issuer_keys, **kwargs)
        opened.append(log)
        return log

    yield open_
    for log in opened:
        with contextlib.suppress(Exception):  # some tests break the log on purpose
            log.close()
