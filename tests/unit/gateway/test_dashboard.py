"""Dashboard state, metrics read from another process, and the serve options around it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from llmseal.cli.serve._serve import _dashboard_wanted
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.errors import ConfigError
from llmseal.gateway.config.config import GatewayConfig, listen_address
from llmseal.gateway.observability.metrics import Metrics
from llmseal.gateway.observability.recent import RecentReceipts
from llmseal.gateway.web.dashboard import DashboardState
from llmseal.store.base import StoredReceipt

T0 = datetime(2026, 4, 12, 14, 32, tzinfo=UTC)


def test_state_lists_keys_with_their_state_and_recent_receipts(tmp_path: Path) -> None:
    new, old = Ed25519Signer.generate("k-new"), Ed25519Signer.generate("k-old")
    keys = KeySet([
        KeyEntry("k-new", new.public_key(), "active", T0),
        KeyEntry("k-old", old.public_key(), "revoked", T0, T0.replace(day=13)),
    ])  # fmt: skip
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "keys.json").write_text(__import__("json").dumps(keys.to_dict()))
    RecentReceipts(tmp_path / "recent").record([StoredReceipt("r1", "k-new", "m", "x", "n", b"")])
    state = DashboardState(tmp_path, signing_key="k-new", issuer="api.example", clock=lambda: T0)
    snap = state.snapshot()
    by_id = {k["key_id"]: k for k in snap["keys"]}
    assert by_id["k-new"]["signing"] and not by_id["k-old"]["signing"]
    assert by_id["k-old"]["status"] == "revoked" and not by_id["k-old"]["revoked_now"]
    assert by_id["k-new"]["fingerprint"] == new.public_key().fingerprint()
    assert "private" not in str(snap).lower()
    assert [r["receipt_id"] for r in snap["recent"]] == ["r1"]
    assert snap["log"] is None and snap["now"] == "2026-04-12T14:32:00Z"
    later = DashboardState(
        tmp_path, signing_key="k-new", issuer=None, clock=lambda: T0.replace(day=14)
    )
    assert {k["key_id"]: k for k in later.snapshot()["keys"]}["k-old"]["revoked_now"]


def test_a_reader_sums_the_workers_files_without_writing_one(tmp_path: Path) -> None:
    worker = Metrics(tmp_path)
    worker.signed(0.0002)
    worker.sealed(0.3)
    reader = Metrics(tmp_path, writer=False)
    text = reader.render().decode()
    assert "llmseal_receipts_total 1" in text
    assert 'llmseal_sealed_request_seconds_bucket{le="0.5"} 1' in text
    assert 'llmseal_sealed_request_seconds_bucket{le="0.25"} 0' in text
    assert len(list(tmp_path.glob("*.bin"))) == 1
    reader.close()
    worker.close()


def test_listen_addresses() -> None:
    assert listen_address("127.0.0.1:9090") == ("127.0.0.1", 9090)
    assert listen_address("[::1]:80") == ("::1", 80)
    for bad in ("9090", ":9090", "host:", "host:99999", "host:x"):
        with pytest.raises(ConfigError):
            listen_address(bad)
    with pytest.raises(ConfigError):
        GatewayConfig(upstream="http://u", data_dir="d", dashboard_listen="127.0.0.1:1")


def test_the_dashboard_is_off_on_a_public_address_unless_asked() -> None:
    assert _dashboard_wanted(None, None, "127.0.0.1") and _dashboard_wanted(None, None, "::1")
    assert _dashboard_wanted(None, None, "localhost")
    assert not _dashboard_wanted(None, None, "0.0.0.0") and not _dashboard_wanted(
        None, None, "api.example"
    )
    assert _dashboard_wanted(True, None, "0.0.0.0") and not _dashboard_wanted(
        False, None, "127.0.0.1"
    )
    assert _dashboard_wanted(None, "127.0.0.1:9", "0.0.0.0")
    with pytest.raises(click.UsageError):
        _dashboard_wanted(False, "127.0.0.1:9", "0.0.0.0")
