"""``serve --weights`` with a log: the commitment is a logged receipt (once per key and
weights), and Ollama's ``/api/tags`` digest is checked at startup."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llmseal.core.hashing import hash_json
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import WeightsMismatchError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from llmseal.gateway.weights.binding import prepare_weights
from llmseal.gateway.weights.commitment import commitment_id
from llmseal.log.http.app import LogApp
from llmseal.log.service.service import TransparencyLog, init_log, read_log_info
from llmseal.trust.keysource import CachedKeySet
from llmseal.weights import WeightManifest, commit_file
from tests.conftest import CliResult
from tests.helpers import ThreadedUvicorn, eventually
from tests.integration.gateway.conftest import keyset_of
from tests.integration.gateway.test_weights_gateway import _props_upstream
from tests.unit.weights.conftest import write_gguf

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    committed = write_gguf(tmp_path / "committed.gguf", seed=1)
    other = write_gguf(tmp_path / "other.gguf", seed=2)
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(commit_file(committed, chunk_size=4096).to_json())
    return committed, other, manifest


@pytest.fixture
def serve() -> Iterator[Callable[[Any], ThreadedUvicorn]]:
    running: list[ThreadedUvicorn] = []

    def start(app: Any) -> ThreadedUvicorn:
        server = ThreadedUvicorn(app).__enter__()
        running.append(server)
        return server

    yield start
    for server in running:
        server.__exit__()


def _gateway(upstream: str, tmp: Path, manifest: Path, t0: datetime) -> Gateway:
    config = GatewayConfig(upstream=upstream, data_dir=str(tmp / "gw"), issuer="api.test.example",
                           weights=str(manifest), log_dir=str(tmp / "tlog"),
                           log_batch_age=0.002)  # fmt: skip
    return Gateway(prepare_data_dir(prepare_weights(config), at=t0))


def _logged(url: str, receipt_id: str) -> dict[str, Any] | None:
    r = httpx.get(f"{url}/log/lookup/{receipt_id}")
    return r.json() if r.status_code == 200 and r.json()["published"] else None


def test_the_commitment_is_logged_once_and_verifies(
    serve: Callable[[Any], ThreadedUvicorn],
    files: tuple[Path, Path, Path],
    tmp_path: Path,
    t0: datetime,
    cli: Callable[..., CliResult],
) -> None:
    committed, _, manifest_path = files
    manifest = WeightManifest.from_json(manifest_path.read_bytes())
    upstream = serve(_props_upstream(str(committed)).app).url
    first = serve(_gateway(upstream, tmp_path, manifest_path, t0))
    base = f"{first.url}/v1/receipts/weights/{manifest.weight_hash}"
    rid = commitment_id(httpx.get(f"{first.url}/healthz").json()["key_id"], manifest.weight_hash)
    assert eventually(lambda: _logged(first.url, rid) is not None)
    served = httpx.get(base)
    assert served.headers["x-receipt-id"] == rid
    document = httpx.get(f"{base}/receipt").json()
    receipt = document["receipt"]
    # The manifest, sealed: its members beside the receipt over them.
    rest = {k: v for k, v in document.items() if k not in ("receipt", "receipt_evidence")}
    assert WeightManifest.from_dict(rest) == manifest
    assert receipt["receipt_id"] == rid
    assert verify_receipt(receipt, keyset_of(first.url)).status is Status.VALID
    assert receipt["output_hash"] == hashlib.sha256(served.content).hexdigest()
    assert receipt["output_hash"] == hashlib.sha256(manifest.to_json()).hexdigest()
    assert receipt["weight_hash"] == manifest.weight_hash
    assert receipt["prompt_hash"] == hash_json({"weight_hash": manifest.weight_hash})
    assert receipt["endpoint"] == f"/v1/receipts/weights/{manifest.weight_hash}"
    assert receipt["inference"]["weights_check"] == "upstream-file"
    # llmseal verify --log-vkey accepts the proof served beside it; a tampered one fails.
    vkey = read_log_info(tmp_path / "tlog")["vkey"]
    keys = tmp_path / "keys.json"
    keys.write_bytes(httpx.get(f"{first.url}/v1/receipts/keys").content)
    doc = tmp_path / "commitment.json"
    doc.write_text(json.dumps(document))
    done = cli("verify", doc, "--keys", keys, "--log-vkey", vkey, "--json")
    assert done.status == 0, done.stdout + done.stderr
    assert done.json()["log"]["verified"] is True and done.json()["log"]["index"] == 0
    assert done.json()["status"] == "valid" and done.json()["content_checked"] == ["output"]
    forged = {**document, "receipt": {**receipt, "weight_hash": "0" * 64}}
    other = {**document, "tensors": document["tensors"][:-1]}  # not the committed manifest
    for bad in (forged, other):
        doc.write_text(json.dumps(bad))
        assert cli("verify", doc, "--keys", keys, "--log-vkey", vkey, "--json").status == 1
    first.__exit__()

    # A restart finds the commitment in the store: no second entry. A receipt sealed
    # after the restart queues behind anything new in the outbox, so once it is in the
    # log a re-signed commitment would be too.
    second = serve(_gateway(upstream, tmp_path, manifest_path, t0))
    chat = httpx.post(f"{second.url}/v1/chat/completions", json=CHAT, timeout=30).json()
    assert eventually(lambda: _logged(second.url, chat["receipt"]["receipt_id"]) is not None)
    entry = _logged(second.url, rid)
    assert entry is not None and len(entry["entries"]) == 1 and entry["tree_size"] == 2
    again = httpx.get(f"{second.url}/v1/receipts/weights/{manifest.weight_hash}/receipt").json()
    assert again["receipt"] == receipt


def test_the_commitment_reaches_a_remote_log(
    serve: Callable[[Any], ThreadedUvicorn],
    files: tuple[Path, Path, Path],
    tmp_path: Path,
    t0: datetime,
    cli: Callable[..., CliResult],
) -> None:
    """``--log-url``: submitted over ``POST /add``, the proof fetched by leaf hash."""
    committed, _, manifest_path = files
    manifest = WeightManifest.from_json(manifest_path.read_bytes())
    upstream = serve(_props_upstream(str(committed)).app).url
    config = prepare_data_dir(GatewayConfig(upstream=upstream, data_dir=str(tmp_path / "gw"),
                                            weights=str(manifest_path)), at=t0)  # fmt: skip
    vkey = init_log(tmp_path / "tlog", "remote.test/log")
    tlog = TransparencyLog.open(tmp_path / "tlog", batch_age=0.002,
                                keys=CachedKeySet(str(config.keys_dir / "keys.json")))  # fmt: skip
    try:
        log_url = serve(LogApp(tlog)).url
        config = prepare_weights(replace(config, log_url=log_url))
        url = serve(Gateway(config)).url
        base = f"{url}/v1/receipts/weights/{manifest.weight_hash}/receipt"

        def proven() -> bool:
            return "receipt_evidence" in httpx.get(base).json()

        assert eventually(proven)
        doc = tmp_path / "commitment.json"
        doc.write_bytes(httpx.get(base).content)
        keys = tmp_path / "keys.json"
        keys.write_bytes(httpx.get(f"{url}/v1/receipts/keys").content)
        done = cli("verify", doc, "--keys", keys, "--log-vkey", vkey, "--json")
        assert done.status == 0, done.stdout
        assert done.json()["log"]["origin"] == "remote.test/log"
        assert tlog.checkpoint().size == 1
    finally:
        tlog.close()


def test_without_a_log_there_is_no_commitment_receipt(
    serve: Callable[[Any], ThreadedUvicorn], files: tuple[Path, Path, Path], tmp_path: Path,
    t0: datetime,
) -> None:  # fmt: skip
    committed, _, manifest_path = files
    manifest = WeightManifest.from_json(manifest_path.read_bytes())
    upstream = serve(_props_upstream(str(committed)).app).url
    config = GatewayConfig(upstream=upstream, data_dir=str(tmp_path / "gw"),
                           weights=str(manifest_path))  # fmt: skip
    url = serve(Gateway(prepare_data_dir(prepare_weights(config), at=t0))).url
    base = f"{url}/v1/receipts/weights/{manifest.weight_hash}"
    assert "x-receipt-id" not in httpx.get(base).headers
    r = httpx.get(f"{base}/receipt")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def _ollama(models: list[dict[str, Any]]) -> Starlette:
    """Ollama's model listing, as its API documents it (Ollama is not installable here)."""

    async def tags(request: Request) -> Response:
        return JSONResponse({"models": models})

    async def version(request: Request) -> Response:
        return JSONResponse({"version": "0.0.0-test"})

    async def openai_models(request: Request) -> Response:  # its OpenAI-compatible listing
        return JSONResponse({"object": "list", "data": [{"id": m["name"]} for m in models]})

    return Starlette(routes=[Route("/api/tags", tags), Route("/api/version", version),
                             Route("/v1/models", openai_models)])  # fmt: skip


def _model(name: str, digest: str) -> dict[str, Any]:
    return {"name": name, "model": name, "digest": digest, "size": 1, "details": {}}


def test_ollama_digests_are_checked_at_startup(
    serve: Callable[[Any], ThreadedUvicorn],
    files: tuple[Path, Path, Path],
    tmp_path: Path,
    cli: Callable[..., CliResult],
) -> None:
    _, other, manifest_path = files
    manifest = WeightManifest.from_json(manifest_path.read_bytes())
    good = manifest.file_sha256
    bad = hashlib.sha256(other.read_bytes()).hexdigest()

    def prepare(models: list[dict[str, Any]], **options: Any) -> GatewayConfig:
        url = serve(_ollama(models)).url
        return prepare_weights(GatewayConfig(upstream=url, data_dir="x",
                                             weights=str(manifest_path), **options))  # fmt: skip

    config = prepare([_model("smol:latest", good)])
    assert config.inference == {"engine": "ollama", "engine_version": "0.0.0-test",
                                "weights_check": "upstream-digest"}  # fmt: skip
    assert prepare([_model("smol:latest", f"sha256:{good.upper()}")]).inference is not None
    with pytest.raises(WeightsMismatchError, match=r"refusing to start.*digest"):
        prepare([_model("smol:latest", bad)])
    with pytest.raises(WeightsMismatchError):  # another model offered beside it
        prepare([_model("smol:latest", good), _model("evil:latest", bad)])
    # --model-id picks the model the gateway serves; the others are not its word.
    picked = prepare([_model("smol:latest", good), _model("evil:latest", bad)],
                     model_id="smol:latest")  # fmt: skip
    assert picked.inference is not None and picked.inference["weights_check"] == "upstream-digest"
    silent = prepare([{"name": "smol:latest", "size": 1}])  # no digest: the operator's word
    assert silent.inference == {"weights_check": "unverified"}
    # The CLI refuses in one readable line, exit 2.
    url = serve(_ollama([_model("smol:latest", bad)])).url
    result = cli("serve", "--upstream", url, "--weights", manifest_path,
                 "--data-dir", tmp_path / "gw", "--port", "0")  # fmt: skip
    assert result.status == 2
    assert result.stderr.startswith("llmseal: error: refusing to start")
    assert result.stderr.count("\n") == 1
