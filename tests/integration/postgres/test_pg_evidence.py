"""The caller's evidence in PostgreSQL: replay protection across processes and machines."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from llmseal.client import verifying_http_client
from llmseal.errors import ReplayError, VerificationError
from llmseal.gateway.app import Gateway
from llmseal.store.evidencerecord import EvidenceRecord
from llmseal.store.pgevidence import PostgresEvidenceStore
from tests.helpers import ThreadedUvicorn
from tests.integration.client.relay import Relay
from tests.integration.gateway.conftest import fake, gateway, gateway_factory

__all__ = ["fake", "gateway", "gateway_factory"]
QUESTION = {"model": "fake-model", "messages": [{"role": "user", "content": "What is 2+2?"}]}


def rec(nonce: str, status: str = "valid") -> EvidenceRecord:
    return EvidenceRecord(
        receipt_id=f"id-{nonce}", status=status, issuer="api", key_id="k1", model_id="m",
        issued_at="2026-04-12T14:32:00Z", verified_at="2026-04-12T14:32:01Z", nonce=nonce,
        prompt_hash="a" * 64, output_hash="b" * 64, endpoint="/v1/chat/completions",
        reasons=("ok",), receipt=b'{"receipt_id":"x"}',
    )  # fmt: skip


def test_the_database_decides_a_race_for_one_nonce(pg_url: str) -> None:
    stores = [PostgresEvidenceStore(pg_url) for _ in range(4)]  # four callers
    outcomes: list[str] = []
    start = threading.Barrier(len(stores))

    def accept(store: PostgresEvidenceStore) -> None:
        start.wait()
        try:
            store.record(rec("race-nonce"))
            outcomes.append("accepted")
        except ReplayError:
            outcomes.append("replay")

    threads = [threading.Thread(target=accept, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(outcomes) == ["accepted", "replay", "replay", "replay"]
        assert stores[3].seen("k1", "race-nonce")
        stores[2].record(rec("race-nonce", status="tampered"))  # refused ones are kept too
        assert [r.status for r in stores[1].list()] == ["valid", "tampered"]
        stores[0].put_log_proof("id-race-nonce", "proof", origin="o", index=1, tree_size=2)
        assert stores[1].log_proof("id-race-nonce") == "proof"
        assert stores[1].unproven() == []
    finally:
        for s in stores:
            s.close()


@pytest.fixture
def relay(gateway: tuple[Gateway, str]) -> Iterator[tuple[Relay, str]]:
    relay = Relay(gateway[1])
    with ThreadedUvicorn(relay.app) as server:
        yield relay, server.url


def test_an_answer_replayed_to_another_caller_is_refused(
    relay: tuple[Relay, str], gateway: tuple[Gateway, str], pg_url: str, tmp_path: Path
) -> None:
    def caller(name: str) -> openai.OpenAI:
        http = verifying_http_client(keys=f"{gateway[1]}/v1/receipts/keys", store=pg_url,
                                     data_dir=tmp_path / name, sample_rate=1.0)  # fmt: skip
        return openai.OpenAI(base_url=f"{relay[1]}/v1", api_key="sk", http_client=http,
                             max_retries=0)  # fmt: skip

    relay[0].mode = "replay"  # the relay keeps the first answer and serves it again
    first, second = caller("machine-a"), caller("machine-b")
    answer = first.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    receipt_id = answer.model_extra["receipt"]["receipt_id"]
    with pytest.raises(VerificationError) as info:
        second.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert isinstance(info.value, ReplayError)
    assert relay[0].rewrites == {"replay": 1}
    # the control: a caller with evidence of its own (SQLite) cannot know the answer is old
    own = verifying_http_client(keys=f"{gateway[1]}/v1/receipts/keys", data_dir=tmp_path / "own")
    alone = openai.OpenAI(base_url=f"{relay[1]}/v1", api_key="sk", http_client=own, max_retries=0)
    again = alone.chat.completions.create(**QUESTION)  # type: ignore[call-overload]
    assert again.model_extra["receipt"]["receipt_id"] == receipt_id
    assert relay[0].rewrites == {"replay": 2}
    for client in (first, second, alone):
        client.close()
    store = PostgresEvidenceStore(pg_url, tmp_path / "machine-a")
    try:
        kept = store.get(receipt_id)
        assert kept is not None and kept.status == "valid"
        assert store.sample_path(kept) is not None  # the sample is a file on machine A
    finally:
        store.close()


def test_the_evidence_cli_reads_a_postgres_store(
    pg_url: str, cli: Callable[..., Any], tmp_path: Path
) -> None:
    store = PostgresEvidenceStore(pg_url)
    try:
        store.record(rec("cli-nonce"))
    finally:
        store.close()
    listed = cli("evidence", "list", "--store", pg_url, "--json")
    assert listed.status == 0 and "id-cli-nonce" in [r["receipt_id"] for r in listed.json()]
    shown = cli("evidence", "show", "id-cli-nonce", "--store", pg_url)
    assert shown.status == 0 and shown.json()["status"] == "valid"
    missing = cli("evidence", "list")
    assert missing.status == 2 and "give --data-dir (or --store URL)" in missing.stderr
    wrong = cli("evidence", "list", "--store", "mysql://x")
    assert wrong.status == 2 and "must be a postgresql:// URL" in wrong.stderr
    out = tmp_path / "all.tar.gz"
    assert cli("evidence", "export", "--store", pg_url, "--out", out).status == 0
    assert out.stat().st_size > 0
