"""``llmseal serve`` configured like a service: TOML file, LLMSEAL_* environment, command
line (in that rising order), ``--check``, and the effective configuration with secrets masked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.bench._beds.softhsm import SoftHsm
from llmseal.trust.keydir import KeyDirectory
from llmseal.trust.pkcs11.token import generate_pkcs11_key
from llmseal.trust.x509.ca import CertificateAuthority
from tests.helpers import ServeProcess, ThreadedUvicorn
from tests.integration.gateway.two_models import TwoModels

TOKEN = "llmseal-gateway"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def check(cli: Any, *args: Any) -> Any:
    return cli("serve", *args, "--check")


def effective(result: Any) -> dict[str, Any]:
    """--check prints a TOML file: parse it back."""
    assert result.status == 0, result.stderr
    return tomllib.loads(result.stdout)


def sources(result: Any) -> dict[str, str]:
    return {
        line.split(" = ")[0]: line.rsplit("# ", 1)[1]
        for line in result.stdout.splitlines()
        if " = " in line and "  # " in line
    }


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(
        tmp_path / "gw.toml",
        f'upstream = "http://127.0.0.1:9"\nport = 9000\ndata_dir = "{tmp_path / "data"}"\n'
        'inference = {engine = "llama-cpp", n_batch = 512}\nunmapped = "unsigned"\n\n'
        '[models."smollm2"]\nkey_id = "lab.example/smollm2/2026q2"\ndns = true\n\n'
        '[models."gemma3"]\nkey_id = "g-key"\n',
    )


def test_a_toml_file_sets_every_kind_of_option(cli: Any, base: Path, tmp_path: Path) -> None:
    result = check(cli, "--config", base)
    printed = effective(result)
    assert printed["port"] == 9000 and printed["unmapped"] == "unsigned"
    assert printed["inference"] == ["engine=llama-cpp", "n_batch=512"]
    assert printed["models"] == {
        "smollm2": {"key_id": "lab.example/smollm2/2026q2", "dns": True},
        "gemma3": {"key_id": "g-key"},
    }
    assert "smollm2.2026q2.models.lab.example." in result.stdout  # the DNS key id's name
    assert sources(result)["port"] == f"file {base}" and sources(result)["host"] == "default"
    assert not (tmp_path / "data").exists()  # --check changes nothing
    # What --check prints is itself a configuration file that means the same.
    again = write(tmp_path / "again.toml", result.stdout)
    assert effective(check(cli, "--config", again)) == printed


def test_command_line_beats_environment_beats_file_beats_default(
    cli: Any, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSEAL_PORT", "9100")
    monkeypatch.setenv("LLMSEAL_ISSUER", "env.example")
    result = check(cli, "--config", base, "--port", "9200")
    assert effective(result)["port"] == 9200 and sources(result)["port"] == "command line"
    assert sources(result)["issuer"] == "environment LLMSEAL_ISSUER"
    result = check(cli, "--config", base)
    assert effective(result)["port"] == 9100 and sources(result)["port"].startswith("environment")
    monkeypatch.delenv("LLMSEAL_PORT")
    monkeypatch.setenv("LLMSEAL_CONFIG", str(base))  # the file itself from the environment
    assert effective(check(cli))["port"] == 9000
    monkeypatch.delenv("LLMSEAL_CONFIG")
    monkeypatch.setenv("LLMSEAL_UPSTREAM", "http://127.0.0.1:9")
    assert effective(check(cli))["port"] == 8080
    # Repeatable and boolean options from the environment.
    monkeypatch.setenv("LLMSEAL_MODEL_KEY", "a=k-a b=k-b,model_id=bee")
    monkeypatch.setenv("LLMSEAL_DURABLE", "true")
    printed = effective(check(cli, "--data-dir", base.parent / "d2"))
    assert printed["durable"] is True
    assert printed["models"] == {"a": {"key_id": "k-a"}, "b": {"key_id": "k-b", "model_id": "bee"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prot = 80\n", "unknown key 'prot' (did you mean 'port'?)"),
        ('port = "80"\n', 'port must be an integer, not "80"'),
        ("port = 99999\n", "port: 99999 is not in the range"),
        ("durable = 1\n", "durable must be true or false, not 1"),
        ('receipts = "sometimes"\n', "receipts: 'sometimes' is not one of"),
        ('forward_headers = "x-a"\n', "forward_headers must be a list of strings"),
        ("port = \n", "not TOML"),
        ('[models."m"]\nkey = "k"\n', "models.m: unknown key 'key'"),
        ('[models."m"]\ncert_chain = "c.pem"\n', "models.m needs key_id"),
        ('[models."m"]\nkey_id = "k"\ndns = "yes"\n', "models.m.dns must be true or false"),
        ('[models."m"]\nkey_id = "lab/2026q2"\ndns = true\n', "has no DNS name"),
        ('key_id = "one"\n[models."m"]\nkey_id = "k"\n', "--key-id is for one key"),
        ('model_key = ["m=k"]\n', "unknown key 'model_key'"),
    ],
)
def test_bad_files_stop_with_one_line(cli: Any, tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.toml", 'upstream = "http://127.0.0.1:9"\n' + text)
    result = check(cli, "--config", path)
    assert result.status == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    if "unknown key" in message or "must be" in message:
        assert str(path) in result.stderr  # names the file


def test_bad_environment_values_stop_with_one_line(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSEAL_UPSTREAM", "http://127.0.0.1:9")
    for name, value, message in (
        ("LLMSEAL_PORT", "abc", "(from environment LLMSEAL_PORT)"),
        ("LLMSEAL_UNMAPPED", "maybe", "(from environment LLMSEAL_UNMAPPED)"),
        ("LLMSEAL_MODEL_KEY", "m=k,colour=red", "'colour=red' is not one of"),
    ):
        monkeypatch.setenv(name, value)
        result = check(cli)
        monkeypatch.delenv(name)
        assert result.status == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_check_refuses_what_the_start_would(cli: Any, tmp_path: Path) -> None:
    up = ("--upstream", "http://127.0.0.1:9", "--data-dir", tmp_path / "d")
    several = check(cli, *up, "--log", tmp_path / "log", "--workers", "2")
    assert several.status == 2 and "use --workers 1" in several.stderr
    contradiction = check(cli, *up, "--model-key", "m=k", "--model-id", "x")
    assert contradiction.stderr == (
        "llmseal: error: --model-id is for one key; with per-model keys set it per model\n"
    )
    assert not (tmp_path / "d").exists() and not (tmp_path / "log").exists()


SECRETS = ("Sup3rSecretPw", "AlsoSecret77", "t0kenInUrl99", "qu3ryT0ken")


def test_check_masks_every_secret(cli: Any, tmp_path: Path) -> None:
    result = check(
        cli, "--upstream", "https://t0kenInUrl99@api.example:8443/",
        "--data-dir", tmp_path / "d",
        "--store", "postgresql://gw:Sup3rSecretPw@db.example/receipts?sslpassword=AlsoSecret77",
        "--log-url", "https://log.example/?token=qu3ryT0ken&shard=2",
    )  # fmt: skip
    printed = effective(result)
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    assert printed["store"] == "postgresql://gw:***@db.example/receipts?sslpassword=***"
    assert printed["upstream"] == "https://***@api.example:8443/"
    assert printed["log_url"] == "https://log.example/?token=***&shard=2"


def test_check_opens_token_keys_and_never_shows_the_pin(
    cli: Any, softhsm: SoftHsm, pin_env: str, label: Callable[[str], str], tmp_path: Path
) -> None:  # fmt: skip
    one, two = label("cfg-a"), label("cfg-b")
    for name in (one, two):
        generate_pkcs11_key(softhsm.module, TOKEN, name, softhsm.pin, "ed25519")
    token = ("--pkcs11-module", softhsm.module, "--token", TOKEN, "--pin-env", pin_env)
    single = check(cli, "--upstream", "http://127.0.0.1:9", "--data-dir", tmp_path / "d",
                   *token, "--key-label", one)  # fmt: skip
    assert single.status == 0, single.stderr
    assert f"label {one!r}" in single.stdout
    config = write(
        tmp_path / "hsm.toml",
        f'upstream = "http://127.0.0.1:9"\ndata_dir = "{tmp_path / "d"}"\n'
        f'[models."a"]\nkey_id = "lab.example/a/2026q2"\nkey_label = "{one}"\n'
        f'[models."b"]\nkey_id = "lab.example/b/2026q2"\nkey_label = "{two}"\n',
    )
    mapped = check(cli, "--config", config, *token)
    assert mapped.status == 0, mapped.stderr
    assert effective(mapped)["models"]["b"]["key_label"] == two
    assert mapped.stdout.count(f"token {TOKEN!r}") == 2
    for result in (single, mapped):
        assert softhsm.pin not in result.stdout + result.stderr
    # A fresh process: login is per process and token, and this one may be logged in.
    wrong = subprocess.run(
        [sys.executable, "-m", "llmseal", "serve", "--config", str(config), *token, "--check"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, pin_env: "0000-wrong"},
    )  # fmt: skip
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr == f"llmseal: error: wrong PIN for token {TOKEN!r}\n"
    assert not (tmp_path / "d").exists()


@pytest.fixture
def lab(tmp_path: Path) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(hours=1)
    ca = CertificateAuthority(tmp_path / "ca")
    ca.init(domain="lab.example", org="Example Lab", at=at)
    keydir = KeyDirectory(tmp_path / "data" / "keys")
    issued = {m: ca.issue(m, at=at, keydir=keydir) for m in ("smollm2", "gemma3")}
    return {"ca": ca, "issued": issued, "data": tmp_path / "data"}


def lab_config(path: Path, lab: dict[str, Any], upstream: str, chains: dict[str, str]) -> Path:
    text = (
        f'upstream = "{upstream}"\ndata_dir = "{lab["data"]}"\nforward_headers = ["x-serve-as"]\n'
    )
    for model, issued in lab["issued"].items():
        text += f'[models."{model}"]\nkey_id = "{issued.key_id}"\n'
        text += f'cert_chain = "{lab["issued"][chains.get(model, model)].chain_path}"\n'
    return write(path, text)


def test_check_validates_each_models_certificate(
    cli: Any, lab: dict[str, Any], tmp_path: Path
) -> None:
    good = lab_config(tmp_path / "good.toml", lab, "http://127.0.0.1:9", {})
    assert check(cli, "--config", good).stdout.count("(key directory") == 2
    phi = lab["ca"].issue("phi", at=datetime.now(UTC) - timedelta(hours=1))  # a key file only
    text = (f'upstream = "http://127.0.0.1:9"\ndata_dir = "{tmp_path / "fresh"}"\n'
            f'[models."phi"]\nkey_id = "{phi.key_id}"\nkey_file = "{phi.key_path}"\n'
            f'cert_chain = "{phi.chain_path}"\n')  # fmt: skip
    from_file = check(cli, "--config", write(tmp_path / "file.toml", text))
    assert f"(file {phi.key_path})" in from_file.stdout and not (tmp_path / "fresh").exists()
    renamed = write(tmp_path / "renamed.toml", text.replace(phi.key_id, "lab.example/phi/2026q2"))
    assert "key id must be spki-sha256:" in check(cli, "--config", renamed).stderr
    crossed = lab_config(tmp_path / "crossed.toml", lab, "http://127.0.0.1:9",
                         {"smollm2": "gemma3"})  # fmt: skip
    result = check(cli, "--config", crossed)
    assert result.status == 2
    assert result.stderr == (
        "llmseal: error: models.smollm2.cert_chain: the leaf certificate is not for the"
        " signing key\n"
    )


@pytest.fixture
def two() -> Iterator[str]:
    with ThreadedUvicorn(TwoModels().app) as server:
        yield server.url


def test_serve_prints_the_effective_configuration_at_startup(
    lab: dict[str, Any], tmp_path: Path, two: str, cli: Any
) -> None:
    upstream = two.replace("http://", "http://t0kenInUrl99@")
    config = lab_config(tmp_path / "gw.toml", lab, upstream, {})
    gateway = ServeProcess(["--config", str(config)])
    try:
        answers = {
            m: httpx.post(f"{gateway.url}/v1/chat/completions",
                          json={"model": m, "messages": [{"role": "user", "content": "hi"}]}).json()
            for m in ("smollm2", "gemma3")
        }  # fmt: skip
        refused = httpx.post(f"{gateway.url}/v1/chat/completions", json={"model": "other"})
    finally:
        gateway.stop()  # one worker: uvicorn re-raises the SIGTERM it handled (status -15)
    log = gateway.stderr()
    assert "# llmseal serve: effective configuration (secrets masked)" in log
    assert '[models."gemma3"]' in log and f'data_dir = "{lab["data"]}"' in log
    assert "t0kenInUrl99" not in log and "http://***@127.0.0.1" in log
    for model, body in answers.items():
        assert body["receipt"]["key_id"] == lab["issued"][model].key_id
        saved = tmp_path / f"{model}.json"
        saved.write_text(json.dumps(body))
        ok = cli("verify", saved, "--anchors", lab["ca"].root_path, "--domain", "lab.example")
        assert ok.status == 0, ok.stdout + ok.stderr
    assert refused.status_code == 400
