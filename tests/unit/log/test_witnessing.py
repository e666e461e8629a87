"""The log side of witnessing: cosignatures gathered on a clock, witnesses down and back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llmseal.log.note.checkpoint import SignedCheckpoint
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.witness.quorum import check_quorum
from llmseal.log.witness.witness import Witness
from llmseal.log.witness.witnessclient import WitnessClient
from llmseal.log.witness.witnessing import Witnessing
from llmseal.log.witness.witnesspolicy import WitnessPolicy
from llmseal.log.witness.witnessserver import WitnessApp
from llmseal.log.witness.witnessstore import WitnessStore
from tests.helpers import eventually
from tests.logtree import TreeLog

T = 1_790_000_000


class Router(httpx.AsyncBaseTransport):
    """Routes by host to in-process witness apps; hosts in ``down`` refuse connections."""

    def __init__(self, apps: dict[str, WitnessApp]) -> None:
        self.apps = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}
        self.down: set[str] = set()
        self.requests: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.requests.append(host)
        if host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.apps[host].handle_async_request(request)


class Net:
    def __init__(self, tmp: Path, log: TreeLog, names: list[str]) -> None:
        self.log = log
        self.signers = {n: CosignatureSigner.generate(f"{n}.example") for n in names}
        self.stores = [WitnessStore(tmp / n) for n in names]
        self.clock = T
        self.witnesses = {
            n: Witness.for_keys(s, [log.signer.verifier()], st, self.tick_clock)
            for (n, s), st in zip(self.signers.items(), self.stores, strict=True)
        }
        self.router = Router({f"{n}.test": WitnessApp(w) for n, w in self.witnesses.items()})
        lines = [f"log {log.signer.vkey()}"]
        lines += [f"witness {n} {s.vkey()} http://{n}.test/" for n, s in self.signers.items()]
        lines += [f"group all-of-them all {' '.join(names)}", "quorum all-of-them"]
        self.policy = WitnessPolicy.parse("\n".join(lines))
        self.published: list[SignedCheckpoint] = []
        self.current = log.checkpoint()
        client = WitnessClient(self.policy, log.proof, transport=self.router)
        self.loop = Witnessing(client, lambda: self.current, self.published.append)

    def tick_clock(self) -> int:
        return self.clock

    def grow(self, count: int) -> None:
        self.log.append(count)
        self.current = self.log.checkpoint()

    def tick(self) -> SignedCheckpoint | None:
        return asyncio.run(self.loop.tick())

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = Net(tmp_path, TreeLog.new(size=3), ["a", "b"])
    yield n
    n.close()


def test_a_round_gathers_every_cosignature(net: Net) -> None:
    cosigned = net.tick()
    assert cosigned is not None and net.published == [cosigned]
    result = check_quorum(cosigned, net.policy)
    assert result.satisfied and dict(result.cosigned) == {"a": T, "b": T}
    assert cosigned.note.signatures[0] == net.current.note.signatures[0]  # the log's, first
    # Nothing new: no requests at all on the next tick.
    asked = len(net.router.requests)
    assert net.tick() is None and len(net.router.requests) == asked
    net.clock += 10
    net.grow(9)
    grown = net.tick()
    assert grown is not None and grown.size == 12
    assert dict(check_quorum(grown, net.policy).cosigned) == {"a": T + 10, "b": T + 10}


def test_a_witness_down_delays_cosigning_never_the_log(net: Net) -> None:
    net.router.down.add("b.test")
    first = net.tick()
    assert first is not None and not check_quorum(first, net.policy).satisfied
    assert "ConnectError" in (net.loop.client.status["b"].error or "")
    # The log goes on publishing while b is away.
    for _ in range(3):
        net.clock += 10
        net.grow(5)
        assert net.tick() is not None  # a keeps cosigning each new checkpoint
    assert net.current.size == 18
    net.router.down.clear()
    net.clock += 10
    back = net.tick()
    assert back is not None and back.size == 18
    result = check_quorum(back, net.policy)
    assert result.satisfied and result.cosigned["b"] == T + 40
    assert net.loop.client.status["b"].error is None
    # b had never cosigned: it learned nothing from us but "old 0"; a was asked nothing.
    assert net.router.requests[-1] == "b.test"


def test_a_witness_that_missed_sizes_gets_a_proof_from_its_own(net: Net) -> None:
    assert net.tick() is not None
    net.router.down.add("a.test")
    net.grow(20)
    net.tick()
    net.router.down.clear()
    net.loop.client.status["a"].size = None  # as after a restart of the log: ask with old 0
    net.grow(40)
    result = net.tick()
    assert result is not None and check_quorum(result, net.policy).satisfied
    stored = net.witnesses["a"].store.latest(net.log.origin)
    assert stored is not None and stored.size == 63


def test_a_witness_beyond_our_size_is_reported_not_cosigned(net: Net) -> None:
    net.grow(10)
    assert net.tick() is not None
    # The log "rolls back" to an older checkpoint of its own.
    net.current = net.log.checkpoint(5)
    net.loop.cosigned = None
    assert net.tick() is None
    assert "beyond our 5" in (net.loop.client.status["a"].error or "")


def test_forged_answers_are_ignored(net: Net) -> None:
    class Liar(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            other = CosignatureSigner.generate("a.example")  # right name, wrong key
            line = other.cosign(net.current.note.text, T).line()
            return httpx.Response(200, content=line.encode())

    net.loop.client._transport = Liar()
    assert net.tick() is None
    assert "no valid cosignature" in (net.loop.client.status["a"].error or "")


def test_the_loop_runs_on_its_own_thread_and_survives_a_failing_hook(net: Net) -> None:
    calls: list[int] = []

    def hook(cp: SignedCheckpoint) -> None:
        calls.append(cp.size)
        raise RuntimeError("disk full")

    loop = Witnessing(net.loop.client, lambda: net.current, hook, interval=0.01)
    loop.start()
    try:
        assert eventually(lambda: calls == [3], timeout=20)
        net.grow(1)
        assert eventually(lambda: calls == [3, 4], timeout=20)
    finally:
        loop.stop()
