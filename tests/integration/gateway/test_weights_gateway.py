"""``serve --weights``: weight_hash and the inference claim in receipts, startup checks,
the manifest and chunk endpoints, and spot checks against honest and lying issuers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llmseal.core.framing import read_stream
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import ConfigError, WeightsMismatchError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.weights.binding import WeightsApi, WeightsBinding, prepare_weights
from llmseal.weights import WeightManifest, commit_file
from llmseal.weights.challenge import run_challenge
from llmseal.weights.commit import mapped
from llmseal.weights.proof import ChunkProver
from tests.helpers import ThreadedUvicorn
from tests.integration.gateway.conftest import keyset_of
from tests.integration.gateway.fake_upstream import FakeUpstream
from tests.unit.weights.conftest import write_gguf

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    committed = write_gguf(tmp_path / "committed.gguf", seed=1)
    other = write_gguf(tmp_path / "other.gguf", seed=2)
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(commit_file(committed, chunk_size=4096).to_json())
    return committed, other, manifest


def _props_upstream(model_path: str | None) -> FakeUpstream:
    upstream = FakeUpstream()

    async def props(request: Request) -> Response:
        if model_path is None:
            return JSONResponse({"error": "no"}, status_code=404)
        return JSONResponse({"model_path": model_path, "build_info": "b9999-test"})

    upstream.app.router.routes.append(Route("/props", props, methods=["GET"]))
    return upstream


@pytest.fixture
def props_server() -> Iterator[Callable[[str | None], str]]:
    servers: list[ThreadedUvicorn] = []

    def start(model_path: str | None) -> str:
        server = ThreadedUvicorn(_props_upstream(model_path).app).__enter__()
        servers.append(server)
        return server.url

    yield start
    for s in servers:
        s.__exit__()


def _start(factory: Callable[..., tuple[Gateway, str]], upstream: str, **options: Any) -> str:
    config = prepare_weights(GatewayConfig(upstream=upstream, data_dir="unused", **options))
    options = {k: getattr(config, k) for k in ("weights", "weights_file", "inference")}
    return factory(upstream=upstream, **options)[1]


def test_receipts_carry_weight_hash_and_inference(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    props_server: Callable[[str | None], str],
    files: tuple[Path, Path, Path],
) -> None:
    committed, _, manifest_path = files
    manifest = WeightManifest.from_json(manifest_path.read_bytes())
    url = _start(gateway_factory, props_server(str(committed)), weights=str(manifest_path),
                 inference={"n_batch": 512, "threads": 2})  # fmt: skip
    for stream in (False, True):
        r = httpx.post(f"{url}/v1/chat/completions", json={**CHAT, "stream": stream})
        if stream:
            saved = read_stream(r.content)
            assert saved.receipt is not None
            receipt = dict(saved.receipt.receipt)
        else:
            receipt = r.json()["receipt"]
        assert receipt["weight_hash"] == manifest.weight_hash
        assert receipt["inference"] == {"engine": "llama.cpp", "engine_version": "b9999-test",
                                        "weights_check": "upstream-file", "n_batch": 512,
                                        "threads": 2}  # fmt: skip
        assert verify_receipt(receipt, keyset_of(url)).status is Status.VALID
        # weight_hash is signed: changing it breaks the signature.
        forged = {**receipt, "weight_hash": "0" * 64}
        assert verify_receipt(forged, keyset_of(url)).status is Status.TAMPERED


def test_manifest_and_chunks_are_served_and_verify(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    props_server: Callable[[str | None], str],
    files: tuple[Path, Path, Path],
) -> None:
    committed, _, manifest_path = files
    manifest = WeightManifest.from_json(manifest_path.read_bytes())
    url = _start(gateway_factory, props_server(str(committed)), weights=str(manifest_path))
    base = f"{url}/v1/receipts/weights/{manifest.weight_hash}"
    served = httpx.get(base)
    assert served.status_code == 200
    assert WeightManifest.from_json(served.content) == manifest
    result = run_challenge(url, manifest, samples=manifest.chunk_count)
    assert result.passed and result.good == manifest.chunk_count
    for bad in (f"{base}/chunk/{manifest.chunk_count}", f"{base}/chunk/-1", f"{base}/chunk/x",
                f"{url}/v1/receipts/weights/{'0' * 64}", f"{base}/other"):  # fmt: skip
        r = httpx.get(bad)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", bad


def test_an_upstream_serving_another_file_refuses_to_start(
    props_server: Callable[[str | None], str], files: tuple[Path, Path, Path]
) -> None:
    _, other, manifest_path = files
    config = GatewayConfig(upstream=props_server(str(other)), data_dir="x",
                           weights=str(manifest_path))  # fmt: skip
    with pytest.raises(WeightsMismatchError, match=r"refusing to start.*tensor"):
        prepare_weights(config)


def test_serve_cli_refuses_in_one_line(
    cli: Callable[..., Any],
    props_server: Callable[[str | None], str],
    files: tuple[Path, Path, Path],
    tmp_path: Path,
) -> None:
    _, other, manifest_path = files
    result = cli("serve", "--upstream", props_server(str(other)), "--weights", manifest_path,
                 "--data-dir", tmp_path / "gw", "--port", "0")  # fmt: skip
    assert result.status == 2
    assert result.stderr.startswith("llmseal: error: refusing to start")
    assert result.stderr.count("\n") == 1


def test_unreachable_or_silent_upstreams(
    props_server: Callable[[str | None], str], files: tuple[Path, Path, Path]
) -> None:
    _committed, other, manifest_path = files
    with pytest.raises(ConfigError, match="cannot ask the upstream"):
        prepare_weights(GatewayConfig(upstream="http://127.0.0.1:9", data_dir="x",
                                      weights=str(manifest_path)))  # fmt: skip
    silent = props_server(None)  # no /props; /v1/models names no file
    config = prepare_weights(GatewayConfig(upstream=silent, data_dir="x",
                                           weights=str(manifest_path)))  # fmt: skip
    assert config.inference == {"weights_check": "unverified"} and config.weights_file is None
    with pytest.raises(WeightsMismatchError):  # --weights-file is checked all the same
        prepare_weights(GatewayConfig(upstream=silent, data_dir="x", weights=str(manifest_path),
                                      weights_file=str(other)))  # fmt: skip


def test_a_spot_check_against_an_issuer_holding_other_weights_fails(
    files: tuple[Path, Path, Path], cli: Callable[..., Any]
) -> None:
    """A liar publishes the honest manifest but holds other weights (its own code, not ours)."""
    _committed, other, manifest_path = files
    manifest = WeightManifest.from_json(manifest_path.read_bytes())
    with mapped(other) as view:
        prover = ChunkProver(manifest, view, check=False)
        binding = WeightsBinding(manifest, manifest.to_json(), {}, prover, ExitStack())
        api = WeightsApi(binding)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                await api.handle(scope["path"], scope["method"], send)

        with ThreadedUvicorn(app) as liar:
            result = run_challenge(liar.url, manifest, samples=8, seed=3)
            assert not result.passed and result.good < 8
            out = cli("weights", "challenge", liar.url, "--manifest", manifest_path,
                      "--samples", "8")  # fmt: skip
            assert out.status == 1 and out.stdout.startswith("FAILED")
            assert "does not lead to the root" in out.stdout
