"""The gateway signs with a key held in a SoftHSM2 token; receipts verify with its key set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from llmseal.bench._beds.softhsm import SoftHsm
from llmseal.core.framing import read_stream
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import ConfigError, TokenError
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from llmseal.trust.keydir import KeyDirectory
from llmseal.trust.pkcs11.token import generate_pkcs11_key
from tests.helpers import ServeProcess, recording_client
from tests.integration.gateway.conftest import keyset_of
from tests.integration.gateway.fake_upstream import FakeUpstream

pytestmark = pytest.mark.slow
TOKEN = "llmseal-gateway"
REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi from the HSM"}]}


def _no_private_key_file(keys: Path, key_id: str) -> None:
    """A token key leaves the key set, its lock and a reference: no ``.pem`` file."""
    ref = KeyDirectory(keys).token_ref_path(key_id).name
    assert sorted(p.name for p in keys.iterdir()) == sorted([".lock", "keys.json", ref])


def _token_options(softhsm: SoftHsm, pin_env: str, label: str) -> dict[str, Any]:
    return {"pkcs11_module": softhsm.module, "pkcs11_token": TOKEN,
            "pkcs11_key_label": label, "pin_env": pin_env}  # fmt: skip


@pytest.mark.parametrize("algorithm", ["ed25519", "ecdsa-p256"])
def test_gateway_signs_with_a_token_key(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    softhsm: SoftHsm,
    pin_env: str,
    algorithm: str,
    label: Callable[[str], str],
) -> None:
    name = label(f"gw-{algorithm}")
    public = generate_pkcs11_key(softhsm.module, TOKEN, name, softhsm.pin, algorithm)  # type: ignore[arg-type]
    app, url = gateway_factory(key_id=f"example.test/gw-{algorithm}/2026q1",
                               **_token_options(softhsm, pin_env, name))  # fmt: skip
    _no_private_key_file(Path(app.config.keys_dir), app.config.key_id or "")
    published = keyset_of(url)
    assert published.resolve(app.config.key_id or "") is not None
    assert published.resolve(app.config.key_id or "").public_key == public  # type: ignore[union-attr]
    http, recorded = recording_client()
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", http_client=http)
    raw = client.chat.completions.with_raw_response.create(**REQUEST)  # type: ignore[call-overload]
    body = json.loads(raw.http_response.content)
    sent = json.loads(raw.http_request.content)
    result = verify_receipt(body["receipt"], published, prompt=sent, output=body)
    assert result.status is Status.VALID, result.reasons
    chunks = list(client.chat.completions.create(**REQUEST, stream=True))  # type: ignore[call-overload]
    saved = read_stream(bytes(recorded[-1][1]))
    assert saved.receipt is not None
    data = [c.model_dump(exclude_unset=True) for c in chunks]
    assert data == list(saved.chunks)
    streamed = verify_receipt(
        saved.receipt.receipt, published, prompt={**REQUEST, "stream": True}, output=data
    )
    assert streamed.status is Status.VALID, streamed.reasons

    # Concurrent requests: the event loop and the store's threads share one token session.
    def one(_: int) -> dict[str, Any]:
        body: dict[str, Any] = httpx.post(
            f"{url}/v1/chat/completions", json=REQUEST, timeout=30
        ).json()
        return body

    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(one, range(40)))
    for got in bodies:
        assert verify_receipt(got["receipt"], published, prompt=REQUEST, output=got)


def test_gateway_uses_a_key_made_by_keys_new(
    cli: Callable[..., Any],
    gateway_factory: Callable[..., tuple[Gateway, str]],
    softhsm: SoftHsm,
    pin_env: str,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    token = ("--pkcs11-module", softhsm.module, "--token", TOKEN, "--pin-env", pin_env)
    made = cli("keys", "new", "example.test/made/2026q1", "--dir", data / "keys", *token)
    assert made.status == 0, made.stderr
    _, url = gateway_factory(data_dir=str(data), key_id="example.test/made/2026q1", pin_env=pin_env)
    body = httpx.post(f"{url}/v1/chat/completions", json=REQUEST).json()
    assert body["receipt"]["key_id"] == "example.test/made/2026q1"
    assert verify_receipt(body["receipt"], keyset_of(url), prompt=REQUEST, output=body)


def test_gateway_refuses_a_label_that_is_not_the_published_key(
    fake: tuple[FakeUpstream, str], softhsm: SoftHsm, pin_env: str, tmp_path: Path, t0: Any,
    label: Callable[[str], str],
) -> None:  # fmt: skip
    first, second = label("gw-first"), label("gw-second")
    generate_pkcs11_key(softhsm.module, TOKEN, first, softhsm.pin, "ed25519")
    generate_pkcs11_key(softhsm.module, TOKEN, second, softhsm.pin, "ed25519")
    base: dict[str, Any] = {"upstream": fake[1], "data_dir": str(tmp_path / "d"), "key_id": "k"}
    prepare_data_dir(GatewayConfig(**base, **_token_options(softhsm, pin_env, first)), at=t0)
    swapped = GatewayConfig(**base, **_token_options(softhsm, pin_env, second))
    with pytest.raises(TokenError, match="not the published"):
        prepare_data_dir(swapped, at=t0)
    assert KeyDirectory(tmp_path / "d" / "keys").load_keyset().resolve("k") is not None
    with pytest.raises(ConfigError, match="--pin-env"):
        GatewayConfig(upstream=fake[1], data_dir="x", pkcs11_module=softhsm.module,
                      pkcs11_token=TOKEN)  # fmt: skip
    with pytest.raises(ConfigError, match="no token key"):
        prepare_data_dir(GatewayConfig(upstream=fake[1], data_dir=str(tmp_path / "e"),
                                       key_id="absent", pin_env=pin_env), at=t0)  # fmt: skip


def test_llmseal_serve_with_a_token_key(
    fake: tuple[FakeUpstream, str], softhsm: SoftHsm, pin_env: str, tmp_path: Path,
    label: Callable[[str], str],
) -> None:  # fmt: skip
    # The real command line, two worker processes, each logging in to the token itself.
    name, data, key_id = label("serve-key"), tmp_path / "data", "example.test/serve/2026q1"
    generate_pkcs11_key(softhsm.module, TOKEN, name, softhsm.pin, "ed25519")
    gateway = ServeProcess(
        ["--upstream", fake[1], "--data-dir", str(data), "--workers", "2",
         "--pkcs11-module", softhsm.module, "--token", TOKEN, "--key-label", name,
         "--key-id", key_id, "--pin-env", pin_env]
    )  # fmt: skip
    try:
        keyset = keyset_of(gateway.url)
        with httpx.Client() as client:
            for _ in range(10):
                body = client.post(f"{gateway.url}/v1/chat/completions", json=REQUEST).json()
                assert body["receipt"]["key_id"] == key_id
                assert verify_receipt(body["receipt"], keyset, prompt=REQUEST, output=body)
        _no_private_key_file(data / "keys", key_id)
    finally:
        assert gateway.stop() == 0
    assert "Application startup complete" in gateway.stderr()  # the log was read
    assert softhsm.pin not in gateway.stderr()


def test_llmseal_serve_wrong_pin_is_one_line(softhsm: SoftHsm, tmp_path: Path) -> None:
    env = {**os.environ, "LLMSEAL_SERVE_PIN": "0000-wrong"}
    done = subprocess.run(
        [sys.executable, "-m", "llmseal", "serve", "--upstream", "http://127.0.0.1:9",
         "--port", "0", "--data-dir", str(tmp_path / "d"),
         "--pkcs11-module", softhsm.module, "--token", TOKEN, "--key-label", "whatever",
         "--pin-env", "LLMSEAL_SERVE_PIN"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"llmseal: error: wrong PIN for token {TOKEN!r}\n"
