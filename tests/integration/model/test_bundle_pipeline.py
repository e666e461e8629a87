"""Issue 17 "Must show": extraction -> analysis -> summary on the real SmolLM2, behind three
gateways with three issuer keys; the summary's bundle verifies offline with its chain.

Each step sends ``X-Receipt-Parents: input=<digest of the previous receipt>`` and puts
the previous answer in its prompt; its gateway signs the declaration. The bundle is
verified with every socket connect refused, so nothing is fetched.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.bundle.declare import format_parents
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from tests.helpers import ThreadedUvicorn

pytestmark = [pytest.mark.slow, pytest.mark.model]
ISSUERS = ("extract.test", "analyse.test", "summary.test")
PROMPTS = (
    "List the numbers in: 'Sales were 120 units in May and 150 units in June.'",
    "Here are facts: {previous}\nWhat trend do they show? One sentence.",
    "Summarise in five words: {previous}",
)


@pytest.fixture(scope="module")
def gateways(model_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    servers = []
    for issuer in ISSUERS:
        data = tmp_path_factory.mktemp(issuer)
        config = GatewayConfig(upstream=model_server, data_dir=str(data), issuer=issuer)
        servers.append(ThreadedUvicorn(Gateway(prepare_data_dir(config, at=datetime.now(UTC)))))
    for server in servers:
        server.__enter__()
    try:
        yield [server.url for server in servers]
    finally:
        for server in servers:
            server.__exit__()


def _ask(url: str, prompt: str, parent: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
    request = {"model": "smollm2-135m-instruct", "max_tokens": 24, "temperature": 0,
               "messages": [{"role": "user", "content": prompt}]}  # fmt: skip
    headers = {"x-receipt-parents": format_parents(("input", parent))} if parent else {}
    answer = httpx.post(f"{url}/v1/chat/completions", json=request, headers=headers, timeout=120)
    assert answer.status_code == 200, answer.text
    return request, answer.json()


def _pipeline(urls: list[str], tmp: Path, tag: str) -> list[tuple[Path, Path]]:
    files: list[tuple[Path, Path]] = []
    previous: dict[str, Any] | None = None
    for n, (url, template) in enumerate(zip(urls, PROMPTS, strict=True)):
        text = previous["choices"][0]["message"]["content"] if previous else ""
        request, response = _ask(
            url, template.format(previous=text), previous and previous["receipt"]
        )
        pair = (tmp / f"{tag}-answer{n}.json", tmp / f"{tag}-request{n}.json")
        pair[0].write_text(json.dumps(response))
        pair[1].write_text(json.dumps(request))
        files.append(pair)
        previous = response
    return files


def _create(cli: Callable[..., Any], pairs: list[tuple[Path, Path]], out: Path) -> None:
    argv: list[str | Path] = [answer for answer, _ in pairs]
    for _, request in pairs:
        argv += ["--request", request]
    made = cli("bundle", "create", *argv, "--out", out)
    assert made.status == 0, made.stderr


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    def cut() -> None:
        def refuse(*args: Any, **kwargs: Any) -> None:
            raise OSError("network is off in this test")

        monkeypatch.setattr(socket.socket, "connect", refuse)

    return cut


def test_the_summary_bundle_verifies_offline_with_its_whole_chain(
    cli: Callable[..., Any], gateways: list[str], tmp_path: Path, offline: Callable[[], None]
) -> None:
    pairs = _pipeline(gateways, tmp_path, "run1")
    keys = []
    for n, url in enumerate(gateways):
        path = tmp_path / f"keys{n}.json"
        path.write_bytes(httpx.get(f"{url}/v1/receipts/keys").content)
        keys += ["--keys", str(path)]
    bundle = tmp_path / "summary.bundle.json"
    _create(cli, pairs, bundle)
    spliced_pairs = [pairs[0], _pipeline(gateways, tmp_path, "run2")[1], pairs[2]]
    offline()
    ok = cli("bundle", "verify", bundle, *keys)
    assert ok.status == 0, ok.stdout
    assert [line for line in ok.stdout.splitlines() if "input: valid" in line], ok.stdout
    report = cli("bundle", "verify", bundle, *keys, "--json").json()
    assert [link["relation"] for link in report["links"]] == ["input", "input"]
    assert {item["key_source"] for item in report["items"]} == {"keyset"}
    # Change the analysis step's output: found, and the failure names that receipt.
    data = json.loads(bundle.read_text())
    analysis = data["items"][1]
    analysis["response"]["choices"][0]["message"]["content"] = "Sales collapsed."
    changed = tmp_path / "changed.bundle.json"
    changed.write_text(json.dumps(data))
    bad = cli("bundle", "verify", changed, *keys, "--json")
    assert bad.status == 1
    rid = analysis["receipt"]["receipt_id"]
    assert any(f.startswith(rid) and "output_hash" in f for f in bad.json()["failures"])
    # Splice in the analysis step of another run: the summary's signed parent is missing.
    spliced = tmp_path / "spliced.bundle.json"
    _create(cli, spliced_pairs, spliced)
    refused = cli("bundle", "verify", spliced, *keys, "--json")
    assert refused.status == 1
    summary = data["items"][2]["receipt"]["receipt_id"]
    assert any(f.startswith(f"{summary}: its input parent") for f in refused.json()["failures"])
