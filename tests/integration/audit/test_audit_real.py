"""Issue 12 must-show: audits of real models behind our gateway, all claiming SmolLM2.

Honest SmolLM2 → not DIFF; Q4_0 and Q2_K requantizations, Gemma-3-270M, the honest
model behind a hidden system prompt, and a router sending 20% of requests to Gemma →
DIFF within the budget. Every probe goes through the verifying client: answers
whose receipts do not verify are failed exchanges, never samples.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.reports.report import load_report
from llmseal.store.evidence import EvidenceStore
from tests.conftest import CliResult
from tests.integration.audit.conftest import CLAIM, gateway, hidden_prompt
from tests.integration.weights.replay_helpers import mixing_router

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
BUDGET = 150


@pytest.fixture(scope="module")
def pack(reference: Reference, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pack") / "ref.json"
    path.write_bytes(reference.to_json())
    return path


@contextlib.contextmanager
def scenario(name: str, servers: dict[str, str], tmp: Path) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        if name == "hidden":
            upstream = stack.enter_context(hidden_prompt(servers["honest"]))
        elif name == "router":
            upstream = stack.enter_context(
                mixing_router(servers["honest"], servers["gemma"], 0.2, 5)
            )
        else:
            upstream = servers[name]
        yield stack.enter_context(gateway(upstream, tmp / "gw"))


def audit(cli: Callable[..., CliResult], url: str, pack: Path, tmp: Path, *extra: Any,
          keys: str | None = None) -> CliResult:  # fmt: skip
    return cli("audit", "run", "--endpoint", f"{url}/v1",
               "--keys", keys or f"{url}/v1/receipts/keys", "--model-id", CLAIM,
               "--pack", pack, "--budget", BUDGET, "--data-dir", tmp / "data", "--seed", 1,
               "--json", *extra)  # fmt: skip


def test_the_envelope_was_measured(reference: Reference) -> None:
    assert len(reference.covers) == 7  # two endpoint passes, five engine settings
    # every weights setting ran in a process of its own (two of them with one setting)
    local = [c for c in reference.covers if not c.startswith("endpoint")]
    assert len(local) == 5 and all(",process=" in c for c in local)
    for family in ("kbf", "logprob", "stack"):
        section = reference.section(family)
        assert section is not None and section["probes"], family
    for family in ("kbf", "logprob"):
        envelope = (reference.section(family) or {})["envelope"]
        assert envelope is not None and envelope["total"] > 0


def test_honest_is_not_diff(
    cli: Callable[..., CliResult], honest_gateway: str, pack: Path, tmp_path: Path
) -> None:
    result = audit(cli, honest_gateway, pack, tmp_path, "--budget", 40)
    out = result.json()
    assert result.status in (0, 3), out
    assert out["verdict"] in ("SAME", "UNDETERMINED")
    assert all(f["verdict"] != "DIFF" for f in out["families"].values())
    report = load_report(out["report"])
    assert report.body["receipt_ids"] and len(report.exchanges) == out["queries"]


@pytest.mark.parametrize("name", ["gemma", "q4_0", "q2_k", "hidden", "router"])
def test_a_substitute_is_diff(
    cli: Callable[..., CliResult], servers: dict[str, str], pack: Path, tmp_path: Path,
    name: str,
) -> None:  # fmt: skip
    with scenario(name, servers, tmp_path) as url:
        result = audit(cli, url, pack, tmp_path)
    out = result.json()
    assert result.status == 1, out
    assert out["verdict"] == "DIFF" and out["queries"] <= BUDGET
    diff = [n for n, f in out["families"].items() if f["verdict"] == "DIFF"]
    assert diff and all(out["families"][n]["p_value"] <= 0.01 / 3 for n in diff)
    # the DIFF rests on signed exchanges, every one kept as evidence
    report = load_report(out["report"])
    store = EvidenceStore(tmp_path / "data")
    try:
        stored = {r.receipt_id for r in store.list()}
    finally:
        store.close()
    for verdict in report.verdicts:
        if verdict.family in diff:
            assert verdict.receipt_ids and set(verdict.receipt_ids) <= stored


def test_answers_without_valid_receipts_are_never_samples(
    cli: Callable[..., CliResult], servers: dict[str, str], honest_gateway: str, pack: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Gemma behind a gateway whose key the auditor does not trust: no DIFF, only failures."""
    with scenario("gemma", servers, tmp_path) as url:
        result = audit(cli, url, pack, tmp_path, "--budget", 12,
                       keys=f"{honest_gateway}/v1/receipts/keys")  # fmt: skip
    out = result.json()
    assert result.status == 3 and out["verdict"] == "UNDETERMINED"
    report = load_report(out["report"])
    assert not report.body["receipt_ids"]
    assert all(v.samples == 0 for v in report.verdicts)
    assert {e.verification for e in report.exchanges if e.endpoint != "/v1/models"} == {
        "unknown_key"
    }


@pytest.fixture(scope="module")
def stealth_pack(stealth_reference: Reference, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stealth") / "ref.json"
    path.write_bytes(stealth_reference.to_json())
    return path


@pytest.mark.parametrize("name", ["honest", "gemma"])
def test_stealth_probes_among_cover_traffic(
    cli: Callable[..., CliResult], servers: dict[str, str], honest_gateway: str,
    stealth_pack: Path, stealth_reference: Reference, tmp_path: Path, name: str,
) -> None:  # fmt: skip
    """Probes phrased and sent like ordinary requests, one cover request per probe on
    average: the honest model is not DIFF, Gemma is, and nothing in the request
    settings separates probes from cover."""
    kbf = stealth_reference.section("kbf") or {}
    assert kbf["style"] == "stealth" and kbf["probes"]
    assert all(p["send"]["max_tokens"] >= 64 for p in kbf["probes"])
    with contextlib.ExitStack() as stack:
        url = (honest_gateway if name == "honest"
               else stack.enter_context(scenario(name, servers, tmp_path)))  # fmt: skip
        # An honest run cannot reach SAME within a small budget (cover requests count
        # against it): 30 requests show it is not DIFF; Gemma is DIFF well within them.
        result = audit(cli, url, stealth_pack, tmp_path, "--cover", 1, "--budget", 30)
    out = result.json()
    if name == "honest":
        assert result.status in (0, 3) and out["verdict"] != "DIFF", out
    else:
        assert result.status == 1 and out["verdict"] == "DIFF", out
    report = load_report(out["report"])
    cover = [e for e in report.exchanges if e.family == "cover"]
    probes = [e for e in report.exchanges if e.family != "cover" and e.method == "POST"]
    assert cover and probes
    settings = {(e.request_json()["max_tokens"], e.request_json()["temperature"])
                for e in report.exchanges if e.method == "POST"}  # fmt: skip
    assert all(m >= 64 and t == 0 for m, t in settings)
