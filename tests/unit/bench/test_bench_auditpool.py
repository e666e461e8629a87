"""The audit bench's pool cache: a stored pool is reused only when it is whole."""

from __future__ import annotations

from pathlib import Path

from llmseal.audit.exchange import VALID, ObservedExchange
from llmseal.audit.family import Probe
from llmseal.bench._support.auditpool import Pool, cached_pool

PROBES = [Probe(id=f"kbf:{i}", family="kbf", body={"messages": []}) for i in range(3)]


def _pool(tag: str) -> Pool:
    return {
        p.id: ObservedExchange(p.id, p.family, "POST", "/v1/chat/completions", b"{}", 200,
                               f'{{"tag": "{tag}"}}'.encode(), (), VALID, f"r-{tag}-{p.id}")
        for p in PROBES
    }  # fmt: skip


def test_a_stored_pool_is_read_back_instead_of_made_again(tmp_path: Path) -> None:
    path = tmp_path / "pool.json"
    first = cached_pool(path, PROBES, lambda: _pool("a"))
    again = cached_pool(path, PROBES, lambda: _pool("b"))
    assert again == first and again["kbf:0"].receipt_id == "r-a-kbf:0"
    assert not path.with_suffix(".partial").exists()


def test_a_pool_missing_probes_or_unreadable_is_made_again(tmp_path: Path) -> None:
    path = tmp_path / "pool.json"
    cached_pool(path, PROBES[:2], lambda: {k: v for k, v in _pool("a").items() if k != "kbf:2"})
    assert cached_pool(path, PROBES, lambda: _pool("b"))["kbf:0"].receipt_id == "r-b-kbf:0"
    path.write_bytes(b"{not json")
    assert cached_pool(path, PROBES, lambda: _pool("c"))["kbf:1"].receipt_id == "r-c-kbf:1"
