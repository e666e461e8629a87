"""One gateway, two models: each is signed with its own key and certificate, chosen by
the model the upstream served (docs/spec/receipt.md §7), never another model's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.gateway.app import Gateway
from llmseal.gateway.keys.modelkeys import ModelKey
from llmseal.trust.keydir import KeyDirectory
from llmseal.trust.x509.ca import CertificateAuthority
from tests.helpers import ThreadedUvicorn
from tests.integration.gateway.two_models import TwoModels

MODELS = ("smollm2", "gemma3")


def ask(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.fixture
def two() -> Iterator[tuple[TwoModels, str]]:
    upstream = TwoModels()
    with ThreadedUvicorn(upstream.app) as server:
        yield upstream, server.url


@pytest.fixture
def lab(tmp_path: Path, t0: Any) -> dict[str, Any]:
    """A lab CA with one model certificate per served model, keys in the gateway's DATA/keys."""
    ca = CertificateAuthority(tmp_path / "ca")
    ca.init(domain="lab.example", org="Example Lab", at=t0 - timedelta(days=1))
    keydir = KeyDirectory(tmp_path / "gw" / "keys")
    issued = {m: ca.issue(m, at=t0 - timedelta(days=1), keydir=keydir) for m in MODELS}
    return {"ca": ca, "issued": issued, "data": tmp_path / "gw"}


@pytest.fixture
def start(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    two: tuple[TwoModels, str],
    lab: dict[str, Any],
) -> Callable[..., str]:
    def run(unmapped: str = "refuse") -> str:
        models = tuple(
            ModelKey(m, key_id=lab["issued"][m].key_id, cert_chain=str(lab["issued"][m].chain_path))
            for m in MODELS
        )
        _, url = gateway_factory(
            upstream=two[1], data_dir=str(lab["data"]), models=models, unmapped=unmapped,
            forward_headers=("x-serve-as",),
        )  # fmt: skip
        return url

    return run


def verify(cli: Any, path: Path, lab: dict[str, Any], *pin: str) -> Any:
    where = pin or ("--domain", "lab.example")
    return cli("verify", path, "--anchors", lab["ca"].root_path, *where, "--json")


def test_each_model_is_signed_with_its_own_key_and_certificate(
    start: Callable[..., str], lab: dict[str, Any], tmp_path: Path, cli: Any
) -> None:
    url = start()
    answers = {}
    for model in MODELS:
        body = httpx.post(f"{url}/v1/chat/completions", json=ask(model)).json()
        issued = lab["issued"][model]
        assert body["receipt"]["key_id"] == issued.key_id
        assert body["receipt"]["model_id"] == model
        leaf = issued.chain_path.read_text().split("-----END CERTIFICATE-----")[0]
        assert body["receipt_evidence"]["x5c"][0].startswith(leaf.strip())
        answers[model] = body
        saved = tmp_path / f"{model}.json"
        saved.write_text(json.dumps(body))
        ok = verify(cli, saved, lab)
        assert ok.status == 0, ok.stdout + ok.stderr
    assert answers["smollm2"]["receipt"]["key_id"] != answers["gemma3"]["receipt"]["key_id"]


def test_a_receipt_for_one_model_never_verifies_as_the_other(
    start: Callable[..., str], lab: dict[str, Any], tmp_path: Path, cli: Any
) -> None:
    url = start()
    a = httpx.post(f"{url}/v1/chat/completions", json=ask("smollm2")).json()
    b = httpx.post(f"{url}/v1/chat/completions", json=ask("gemma3")).json()
    saved = tmp_path / "a.json"
    saved.write_text(json.dumps(a))
    assert verify(cli, saved, lab, "--name", "smollm2.models.lab.example").status == 0
    wrong_name = verify(cli, saved, lab, "--name", "gemma3.models.lab.example")
    assert wrong_name.status != 0 and wrong_name.json()["status"] != "valid"
    swapped = tmp_path / "swapped.json"  # A's receipt with B's certificate chain beside it
    swapped.write_text(json.dumps({**a, "receipt_evidence": b["receipt_evidence"]}))
    result = verify(cli, swapped, lab)
    assert result.status != 0 and result.json()["status"] != "valid"
    relabeled = tmp_path / "relabeled.json"  # A's receipt claiming to be B's model
    relabeled.write_text(json.dumps({**a, "receipt": {**a["receipt"], "model_id": "gemma3"}}))
    assert verify(cli, relabeled, lab).status != 0


@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/messages"])
def test_streams_pick_the_key_by_the_model_their_events_name(
    start: Callable[..., str], lab: dict[str, Any], tmp_path: Path, cli: Any, route: str
) -> None:
    url = start()
    # Asked for smollm2, served by gemma3: Anthropic names it only in message_start.
    request = ask("smollm2", stream=True, max_tokens=8)
    with httpx.stream("POST", url + route, json=request, headers={"x-serve-as": "gemma3"}) as r:
        raw = b"".join(r.iter_bytes())
    assert b": llmseal-receipt 2 " in raw
    saved = tmp_path / "answer.sse"
    saved.write_bytes(raw)
    result = verify(cli, saved, lab)
    assert result.status == 0, result.stdout + result.stderr
    assert result.json()["key_id"] == lab["issued"]["gemma3"].key_id
    assert verify(cli, saved, lab, "--name", "smollm2.models.lab.example").status != 0


def test_an_answer_from_another_model_is_signed_with_the_served_models_key(
    start: Callable[..., str], lab: dict[str, Any], two: tuple[TwoModels, str]
) -> None:
    url = start()
    served = httpx.post(
        f"{url}/v1/chat/completions", json=ask("smollm2"), headers={"x-serve-as": "gemma3"}
    ).json()
    assert served["receipt"]["key_id"] == lab["issued"]["gemma3"].key_id
    assert served["receipt"]["model_id"] == "gemma3"
    # Served by a model without a key: not delivered, never signed with smollm2's key.
    refused = httpx.post(
        f"{url}/v1/chat/completions", json=ask("smollm2"), headers={"x-serve-as": "mystery"}
    )
    assert refused.status_code == 502 and "x-receipt-id" not in refused.headers
    assert refused.json()["error"]["code"] == "unmapped_model" and "choices" not in refused.json()
    assert "mystery" in refused.json()["error"]["message"]


def test_a_request_for_an_unmapped_model_is_refused_before_forwarding(
    start: Callable[..., str], two: tuple[TwoModels, str]
) -> None:
    url = start()
    before = len(two[0].requests)
    for stream in (False, True):
        refused = httpx.post(f"{url}/v1/chat/completions", json=ask("mystery", stream=stream))
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "unmapped_model"
    assert len(two[0].requests) == before  # the upstream never saw them


def test_a_stream_served_by_an_unmapped_model_delivers_none_of_it(
    start: Callable[..., str],
) -> None:
    url = start()
    for serve_as in ("mystery", "smollm2,mystery"):  # from the first event, or switching later
        with httpx.stream(
            "POST", f"{url}/v1/chat/completions", json=ask("smollm2", stream=True),
            headers={"x-serve-as": serve_as},
        ) as r:  # fmt: skip
            raw = b"".join(r.iter_bytes())
        assert b"llmseal-receipt" not in raw and b"[DONE]" not in raw
        assert b"llmseal_gateway_error" in raw
        if serve_as == "mystery":
            assert b"says hi" not in raw.replace(b"mystery", b"")  # not one content event
            assert b"chat.completion.chunk" not in raw


def test_unmapped_models_pass_unsigned_when_so_configured(
    start: Callable[..., str], two: tuple[TwoModels, str]
) -> None:
    url = start(unmapped="unsigned")
    plain = httpx.post(f"{url}/v1/chat/completions", json=ask("mystery"))
    assert plain.status_code == 200 and "receipt" not in plain.json()
    assert plain.json()["model"] == "mystery" and "x-receipt-id" not in plain.headers
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=ask("mystery", stream=True)) as r:
        raw = b"".join(r.iter_bytes())
    assert raw.endswith(b"data: [DONE]\n\n") and b"llmseal-receipt" not in raw
    with httpx.stream("POST", f"{url}/api/chat", json=ask("mystery")) as r:
        lines = b"".join(r.iter_bytes()).splitlines()
    assert len(lines) == 2 and b"receipt" not in b"".join(lines)
    # Asked for a mapped model but served by an unmapped one: unsigned, not smollm2's key.
    odd = httpx.post(
        f"{url}/v1/chat/completions", json=ask("smollm2"), headers={"x-serve-as": "mystery"}
    )
    assert odd.status_code == 200 and "receipt" not in odd.json()
    mapped = httpx.post(f"{url}/v1/chat/completions", json=ask("gemma3")).json()
    assert mapped["receipt"]["model_id"] == "gemma3"  # mapped models are still signed


def test_ndjson_streams_pick_by_served_model(
    start: Callable[..., str], lab: dict[str, Any]
) -> None:
    url = start()
    request = ask("smollm2")
    with httpx.stream(
        "POST", f"{url}/api/chat", json=request, headers={"x-serve-as": "gemma3"}
    ) as r:
        last = json.loads(b"".join(r.iter_bytes()).splitlines()[-1])
    assert last["receipt"]["key_id"] == lab["issued"]["gemma3"].key_id
    with httpx.stream(
        "POST", f"{url}/api/chat", json=request, headers={"x-serve-as": "smollm2,gemma3"}
    ) as r:
        lines = b"".join(r.iter_bytes()).splitlines()
    assert b'"receipt"' not in lines[-1] and b"changed model" in lines[-1]


def test_the_middleware_picks_keys_by_served_model_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.middleware import Middleware

    from llmseal.core.keyset import KeySet
    from llmseal.gateway.middleware import ReceiptMiddleware

    # How `vllm serve --middleware ...` would configure it: the environment only.
    monkeypatch.setenv("LLMSEAL_DATA_DIR", str(tmp_path / "inproc"))
    monkeypatch.setenv("LLMSEAL_MODEL_KEY", "smollm2=lab.example/smollm2/2026q2 gemma3=g-key")
    upstream = TwoModels()
    upstream.app.user_middleware.insert(0, Middleware(ReceiptMiddleware))
    with ThreadedUvicorn(upstream.app) as server:
        url = server.url
        a = httpx.post(f"{url}/v1/chat/completions", json=ask("smollm2")).json()
        b = httpx.post(
            f"{url}/v1/chat/completions", json=ask("smollm2"), headers={"x-serve-as": "gemma3"}
        ).json()
        refused = httpx.post(f"{url}/v1/chat/completions", json=ask("mystery"))
        served_odd = httpx.post(
            f"{url}/v1/chat/completions", json=ask("gemma3"), headers={"x-serve-as": "mystery"}
        )
        keys = KeySet.from_json(httpx.get(f"{url}/v1/receipts/keys").content)
    assert a["receipt"]["key_id"] == "lab.example/smollm2/2026q2"
    assert b["receipt"]["key_id"] == "g-key" and b["receipt"]["model_id"] == "gemma3"
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unmapped_model"
    assert served_odd.status_code == 502 and "choices" not in served_odd.json()
    assert {"lab.example/smollm2/2026q2", "g-key"} <= {e.key_id for e in keys}


def test_key_files_are_imported_and_chains_must_name_their_key(
    gateway_factory: Callable[..., tuple[Gateway, str]],
    two: tuple[TwoModels, str],
    lab: dict[str, Any],
    tmp_path: Path,
    t0: Any,
) -> None:
    from llmseal.errors import ConfigError

    phi = lab["ca"].issue("phi", at=t0 - timedelta(days=1))  # key file only, not in DATA/keys
    models = (
        ModelKey("phi", key_id=phi.key_id, key_file=str(phi.key_path),
                 cert_chain=str(phi.chain_path)),
        ModelKey("gemma3", key_id="lab.example/gemma3/2026q2"),  # new: created on start
    )  # fmt: skip
    _, url = gateway_factory(upstream=two[1], data_dir=str(tmp_path / "k"), models=models)
    body = httpx.post(f"{url}/v1/chat/completions", json=ask("phi")).json()
    assert body["receipt"]["key_id"] == phi.key_id and "x5c" in body["receipt_evidence"]
    other = httpx.post(f"{url}/v1/chat/completions", json=ask("gemma3")).json()
    assert other["receipt"]["key_id"] == "lab.example/gemma3/2026q2"
    assert "receipt_evidence" not in other  # no chain for that model
    published = {k["key_id"] for k in httpx.get(f"{url}/v1/receipts/keys").json()["keys"]}
    assert {phi.key_id, "lab.example/gemma3/2026q2"} <= published
    renamed = (ModelKey("phi", key_id="lab.example/phi/2026q2", key_file=str(phi.key_path),
                        cert_chain=str(phi.chain_path)),)  # fmt: skip
    with pytest.raises(ConfigError, match="key id must be spki-sha256:"):
        gateway_factory(upstream=two[1], data_dir=str(tmp_path / "r"), models=renamed)
    crossed = (ModelKey("smollm2", key_id=lab["issued"]["smollm2"].key_id,
                        cert_chain=str(lab["issued"]["gemma3"].chain_path)),)  # fmt: skip
    with pytest.raises(ConfigError, match="not for the signing key"):
        gateway_factory(upstream=two[1], data_dir=str(lab["data"]), models=crossed)


def test_the_middleware_signs_with_per_model_token_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, softhsm: Any, pin_env: str, label: Any
) -> None:
    from starlette.middleware import Middleware

    from llmseal.gateway.middleware import ReceiptMiddleware
    from llmseal.trust.pkcs11.token import generate_pkcs11_key

    name = label("mw-model")
    generate_pkcs11_key(softhsm.module, "llmseal-gateway", name, softhsm.pin, "ed25519")
    monkeypatch.setenv("LLMSEAL_DATA_DIR", str(tmp_path / "inproc"))
    monkeypatch.setenv("LLMSEAL_MODEL_KEY", f"smollm2=lab.example/smollm2/2026q3,key_label={name}")
    monkeypatch.setenv("LLMSEAL_PKCS11_MODULE", softhsm.module)
    monkeypatch.setenv("LLMSEAL_PKCS11_TOKEN", "llmseal-gateway")
    monkeypatch.setenv("LLMSEAL_PIN_ENV", pin_env)
    upstream = TwoModels()
    upstream.app.user_middleware.insert(0, Middleware(ReceiptMiddleware))
    with ThreadedUvicorn(upstream.app) as server:
        body = httpx.post(f"{server.url}/v1/chat/completions", json=ask("smollm2")).json()
    assert body["receipt"]["key_id"] == "lab.example/smollm2/2026q3"
    keys = tmp_path / "inproc" / "keys"
    assert not list(keys.glob("*.pem"))  # the private key stayed in the token
