"""A gateway signing with a certificate key sends the chain beside every receipt."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.errors import ConfigError
from llmseal.gateway.app import Gateway
from llmseal.trust.keydir import KeyDirectory
from llmseal.trust.x509.ca import CertificateAuthority

REQUEST = {"model": "smollm2", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def lab(tmp_path: Path, t0: Any) -> dict[str, Any]:
    ca = CertificateAuthority(tmp_path / "ca")
    ca.init(domain="lab.example", org="Example Lab", at=t0 - timedelta(days=1))
    keydir = KeyDirectory(tmp_path / "gw" / "keys")
    issued = ca.issue("smollm2", at=t0 - timedelta(days=1), keydir=keydir)
    other = ca.issue("other", at=t0 - timedelta(days=1))
    return {"ca": ca, "issued": issued, "other": other, "data": tmp_path / "gw"}


def test_chain_travels_beside_the_receipt(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    lab: dict[str, Any],
    tmp_path: Path,
    cli: Any,
) -> None:
    _, url = gateway_factory(
        data_dir=str(lab["data"]), key_id=lab["issued"].key_id, model_id="smollm2",
        cert_chain=str(lab["issued"].chain_path),
    )  # fmt: skip
    body = httpx.post(f"{url}/v1/chat/completions", json=REQUEST).json()
    assert body["receipt"]["key_id"].startswith("spki-sha256:")
    assert len(body["receipt_evidence"]["x5c"]) == 2
    assert "receipt_evidence" not in body["receipt"]  # evidence is never inside what is signed
    saved = tmp_path / "answer.json"
    saved.write_text(json.dumps(body))
    root = lab["ca"].root_path
    ok = cli("verify", saved, "--anchors", root, "--domain", "lab.example", "--json")
    assert ok.status == 0, ok.stderr
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={**REQUEST, "stream": True}) as r:
        events = [e for e in b"".join(r.iter_bytes()).split(b"\n\n") if b'"receipt"' in e]
    assert b'"receipt_evidence"' in events[0]


def test_a_chain_for_another_key_is_refused_at_startup(
    gateway_factory: Callable[..., tuple[Gateway, str]], lab: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match="not for the signing key"):
        gateway_factory(
            data_dir=str(lab["data"]), key_id=lab["issued"].key_id,
            cert_chain=str(lab["other"].chain_path),
        )  # fmt: skip
