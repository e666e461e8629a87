"""Issue 9, defect 12: another spelling of a revoked key id never verifies through DNS.

A real BIND serves ``good.test`` (signed), where the key is still published as
active; the relying party's key set, asked first, says it is revoked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from llmseal.bench._beds.named import make_zone, running_named
from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.policy import Policy
from llmseal.core.sign import sign_exchange
from llmseal.core.verify import Status, verify_receipt
from llmseal.trust.dns.dnssec import load_trust_anchors
from llmseal.trust.dns.record import zone_line
from llmseal.trust.dns.source import DnsKeySource
from llmseal.trust.keysource import KeySources

pytestmark = pytest.mark.slow

NOW = datetime.now(UTC).replace(microsecond=0)
KEY_ID = "good.test/m1/2026q1"
ALIASES = ["GOOD.TEST/M1/2026Q1", "good.test./m1/2026q1", "good.test/m1.2026q1"]


class World:
    def __init__(self, private: Ed25519PrivateKey, address: str, anchors: Path) -> None:
        self.private = private
        public = Ed25519Signer(KEY_ID, private).public_key()
        revoked = KeyEntry(KEY_ID, public).revoked(NOW - timedelta(days=1))
        self.keys = KeySources(
            KeySet([revoked]),
            DnsKeySource(address, trust_anchors=load_trust_anchors(anchors)),
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("dns-alias")
    private = Ed25519PrivateKey.generate()
    active = KeyEntry(KEY_ID, Ed25519Signer(KEY_ID, private).public_key())
    zone = make_zone(tmp, "good.test", [zone_line("m1.2026q1.models.good.test", active)])
    assert zone.dsset is not None
    with running_named(tmp, [zone]) as server:
        yield World(private, server.address, zone.dsset)


def _receipt(private: Ed25519PrivateKey, key_id: str) -> dict[str, object]:
    """Signed after the revocation by whoever holds the leaked key, under ``key_id``."""
    return sign_exchange(
        Ed25519Signer(key_id, private), model_id="m1", request=REQUEST, response=RESPONSE,
        at=NOW, claims={"issuer": "good.test"},
    ).to_dict()  # fmt: skip


def test_the_canonical_key_id_is_revoked(world: World) -> None:
    result = verify_receipt(_receipt(world.private, KEY_ID), world.keys)
    assert result.status is Status.REVOKED


@pytest.mark.parametrize("alias", ALIASES)
def test_an_alias_is_not_a_key(world: World, alias: str) -> None:
    result = verify_receipt(_receipt(world.private, alias), world.keys)
    assert result.status is Status.UNKNOWN_KEY, result.reasons
    assert "noncanonical_key_id" in result.reasons[0]
    assert not Policy().check(result, at=NOW)
