"""The CLI contract of issue 5: ``llmseal ca`` and ``llmseal verify`` with chains / llm_sign."""

from __future__ import annotations

import copy
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from llm_sign import server
from llm_sign.vendor.tls import TLSCertificateCredential

from llmseal.bench._support.payload import REQUEST, RESPONSE

T0 = "2026-01-01T00:00:00Z"


@pytest.fixture
def lab(tmp_path: Path, cli: Callable[..., Any]) -> dict[str, Any]:
    ca = tmp_path / "ca"
    assert cli("ca", "init", "--dir", ca, "--domain", "lab.example", "--at", T0).status == 0
    issued = cli(
        "ca", "issue", "smollm2", "--dir", ca, "--keydir", tmp_path / "keys", "--at", T0, "--json"
    )
    assert issued.status == 0, issued.stderr
    info = issued.json()
    request, response = tmp_path / "request.json", tmp_path / "response.json"
    request.write_text(json.dumps(REQUEST))
    response.write_text(json.dumps(RESPONSE))
    receipt = tmp_path / "receipt.json"
    signed = cli(
        "sign",
        "--dir",
        tmp_path / "keys",
        "--key-id",
        info["key_id"],
        "--model-id",
        "smollm2",
        "--prompt",
        request,
        "--output",
        response,
        "--issued-at",
        "2026-03-01T00:00:00Z",
    )
    assert signed.status == 0, signed.stderr
    receipt.write_text(signed.stdout)
    return {
        "ca": ca,
        "root": ca / "root.pem",
        "chain": Path(info["chain"]),
        "key": Path(info["key"]),
        "info": info,
        "receipt": receipt,
        "request": request,
        "response": response,
    }


def test_ca_files_and_list(cli: Callable[..., Any], lab: dict[str, Any]) -> None:
    assert stat.S_IMODE(lab["key"].stat().st_mode) == 0o600
    assert lab["info"]["dns_names"] == ["smollm2.models.lab.example"]
    listed = cli("ca", "list", "--dir", lab["ca"], "--json").json()
    assert [c["serial"] for c in listed] == [lab["info"]["serial"]]
    human = cli("ca", "list", "--dir", lab["ca"])
    assert human.status == 0 and "smollm2" in human.stdout


def test_verify_with_chain_anchors_and_name(cli: Callable[..., Any], lab: dict[str, Any]) -> None:
    common = ("verify", lab["receipt"], "--chain", lab["chain"], "--anchors", lab["root"])
    ok = cli(*common, "--domain", "lab.example", "--prompt", lab["request"], "--json")
    assert ok.status == 0, ok.stderr
    out = ok.json()
    assert out["status"] == "valid" and out["x509"]["chain"] == "ok"
    assert out["x509"]["name"] == "smollm2.models.lab.example"
    human = cli(*common, "--name", "smollm2.models.lab.example")
    assert human.status == 0 and "x509     ok" in human.stdout
    wrong = cli(*common, "--name", "gemma.models.lab.example", "--json")
    assert wrong.status == 1 and wrong.json()["x509"]["chain"] == "wrong_name"
    tampered = cli(*common, "--domain", "lab.example", "--output", lab["request"])
    assert tampered.status == 1 and "tampered" in tampered.stdout


def test_verify_against_the_system_store_is_untrusted(
    cli: Callable[..., Any], lab: dict[str, Any]
) -> None:
    result = cli("verify", lab["receipt"], "--chain", lab["chain"], "--domain", "lab.example")
    assert result.status == 1 and "untrusted_root" in result.stdout


def test_revoke_then_verify_with_crl(cli: Callable[..., Any], lab: dict[str, Any]) -> None:
    common = ("verify", lab["receipt"], "--chain", lab["chain"], "--anchors", lab["root"])
    crl = lab["ca"] / "crl.pem"
    revoked = cli("ca", "revoke", "smollm2", "--dir", lab["ca"], "--at", "2026-04-01T00:00:00Z")
    assert revoked.status == 0, revoked.stderr
    # The CRL written in April was due again a week later: refused now (issue 9).
    stale = cli(*common, "--domain", "lab.example", "--crl", crl, "--json")
    assert stale.status == 1 and stale.json()["x509"]["chain"] == "crl_stale"
    assert cli("ca", "crl", "--dir", lab["ca"]).status == 0  # a current CRL, same entries
    later = cli(*common, "--domain", "lab.example", "--crl", crl, "--json")
    assert later.status == 0, later.stdout  # receipt of March, revoked from April: still valid
    twice = cli("ca", "revoke", lab["info"]["serial"], "--dir", lab["ca"], "--at", T0)
    assert twice.status == 2 and "already revoked" in twice.stderr, twice.stderr
    again = cli(
        "ca",
        "revoke",
        "smollm2",
        "--dir",
        lab["ca"],
        "--reason",
        "keyCompromise",
        "--compromised-since",
        "2026-02-01T00:00:00Z",
    )
    assert again.status == 2 and "already revoked" in again.stderr
    published = cli("ca", "crl", "--dir", lab["ca"], "--out", lab["ca"] / "crl2.pem")
    assert published.status == 0 and (lab["ca"] / "crl2.pem").exists()


def test_compromise_revokes_from_the_invalidity_date(
    cli: Callable[..., Any], lab: dict[str, Any]
) -> None:
    revoked = cli(
        "ca",
        "revoke",
        "smollm2",
        "--dir",
        lab["ca"],
        "--at",
        "2026-04-01T00:00:00Z",
        "--reason",
        "keyCompromise",
        "--compromised-since",
        "2026-02-01T00:00:00Z",
    )
    assert revoked.status == 0, revoked.stderr
    assert cli("ca", "crl", "--dir", lab["ca"]).status == 0  # published now: current
    result = cli(
        "verify",
        lab["receipt"],
        "--chain",
        lab["chain"],
        "--anchors",
        lab["root"],
        "--domain",
        "lab.example",
        "--crl",
        lab["ca"] / "crl.pem",
        "--json",
    )
    assert result.status == 1 and result.json()["status"] == "revoked"


def test_chain_beside_the_receipt_in_a_response(
    cli: Callable[..., Any], lab: dict[str, Any], tmp_path: Path
) -> None:
    pems = lab["chain"].read_text().split("-----END CERTIFICATE-----\n")
    x5c = [p + "-----END CERTIFICATE-----\n" for p in pems if p.strip()]
    document = {
        **RESPONSE,
        "receipt": json.loads(lab["receipt"].read_text()),
        "receipt_evidence": {"x5c": x5c},
    }
    path = tmp_path / "gateway-response.json"
    path.write_text(json.dumps(document))
    ok = cli("verify", path, "--anchors", lab["root"], "--domain", "lab.example", "--json")
    assert ok.status == 0, ok.stderr
    assert ok.json()["content_checked"] == ["output"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--anchors", "{root}"), "pin the certificate name"),
        (("--name", "smollm2.models.lab.example"), "no certificate chain"),
        (("--keys", "{root}", "--chain", "{chain}"), "either --keys"),
        ((), "no key source"),
        (("--chain", "{root}", "--anchors", "{receipt}", "--name", "a.b"), "no PEM certificate"),
        (("--chain", "{chain}", "--anchors", "{root}", "--name", "a.b", "--crl", "{root}"), "CRL"),
    ],
)
def test_unusable_input_exits_2_with_one_line(
    cli: Callable[..., Any], lab: dict[str, Any], args: tuple[str, ...], message: str
) -> None:
    filled = [a.format(**{k: str(v) for k, v in lab.items()}) for a in args]
    result = cli("verify", lab["receipt"], *filled)
    assert result.status == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_ca_errors_exit_2(cli: Callable[..., Any], tmp_path: Path) -> None:
    assert cli("ca", "issue", "m", "--dir", tmp_path / "none").status == 2
    bad = cli("ca", "init", "--dir", tmp_path / "x", "--domain", "not a domain")
    assert bad.status == 2 and "DNS host name" in bad.stderr


# -- llm_sign -------------------------------------------------------------------------


@pytest.fixture
def llm_sign_response(tmp_path: Path, cli: Callable[..., Any]) -> dict[str, Path]:
    now = datetime.now(UTC) - timedelta(days=1)
    ca = tmp_path / "ca"
    made = cli("ca", "init", "--dir", ca, "--domain", "lab.example", "--at", now.isoformat())
    assert made.status == 0, made.stderr
    info = cli(
        "ca",
        "issue",
        "api",
        "--dir",
        ca,
        "--dns",
        "api.lab.example",
        "--at",
        now.isoformat(),
        "--json",
    ).json()
    credential = TLSCertificateCredential.from_files(
        ssl_certfile=info["chain"], ssl_keyfile=info["key"]
    )
    artifact = server.sign_openai_chat_turn(
        request=REQUEST, response=RESPONSE, signer=credential.signer()
    )
    signed = server.attach_signed_artifact_to_openai_response(
        copy.deepcopy(RESPONSE), artifact=artifact, credential=credential
    )
    paths = {"root": ca / "root.pem", "signed": tmp_path / "signed.json"}
    paths["signed"].write_text(json.dumps(signed))
    paths["stripped"] = tmp_path / "stripped.json"
    paths["stripped"].write_text(json.dumps(RESPONSE))
    paths["request"] = tmp_path / "request.json"
    paths["request"].write_text(json.dumps(REQUEST))
    paths["other"] = tmp_path / "other.json"
    paths["other"].write_text(json.dumps({**REQUEST, "seed": 7}))
    return paths


def test_llm_sign_verify_contract(
    cli: Callable[..., Any], llm_sign_response: dict[str, Path]
) -> None:
    p = llm_sign_response
    base = ("verify", "--llm-sign", "--anchors", p["root"])
    ok = cli(*base, p["signed"], "--issuer", "api.lab.example", "--prompt", p["request"], "--json")
    assert ok.status == 0, ok.stdout
    assert ok.json()["status"] == "valid" and ok.json()["content_checked"] == ["prompt", "output"]
    human = cli(*base, p["signed"], "--issuer", "api.lab.example")
    assert human.status == 0 and "valid" in human.stdout
    for args, status in (
        ((p["signed"],), "unpinned"),
        ((p["signed"], "--issuer", "relay.example"), "untrusted"),
        ((p["signed"], "--issuer", "api.lab.example", "--prompt", p["other"]), "tampered"),
        ((p["stripped"], "--issuer", "api.lab.example"), "missing"),
    ):
        result = cli(*base, *args, "--json")
        assert result.status == 1, args
        assert result.json()["status"] == status
    system = cli("verify", "--llm-sign", p["signed"], "--issuer", "api.lab.example", "--json")
    assert system.status == 1 and system.json()["x509"]["chain"] == "untrusted_root"


def test_llm_sign_unusable_input(
    cli: Callable[..., Any], llm_sign_response: dict[str, Path], tmp_path: Path
) -> None:
    p = llm_sign_response
    broken = json.loads(p["signed"].read_text())
    broken["llm_sign"]["artifact"]["chain"] = "nope"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    result = cli("verify", "--llm-sign", path, "--anchors", p["root"], "--issuer", "a.b")
    assert result.status == 2 and "chain must be a list" in result.stderr
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    assert cli("verify", "--llm-sign", not_json).status == 2
