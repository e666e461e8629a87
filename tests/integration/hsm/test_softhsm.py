"""Signing keys in a real SoftHSM2 token: generated there, never exported, receipts verify."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.types import WrapMixin
from pkcs11.util.ec import encode_named_curve_parameters

from llmseal.bench._beds.softhsm import SoftHsm
from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import Ed25519Signer, Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.core.verify import Status, verify_receipt
from llmseal.errors import KeyManagementError, TokenError
from llmseal.trust.keydir import KeyDirectory
from llmseal.trust.pkcs11.ref import Pkcs11KeyRef, create_token_key, open_directory_signer
from llmseal.trust.pkcs11.token import (
    generate_pkcs11_key,
    module_lock,
    open_pkcs11_signer,
    require_mechanism,
)

pytestmark = pytest.mark.slow
MAIN = "llmseal-main"
ERRORS = "llmseal-errors"


def _receipt_for(signer: Signer, at: datetime) -> dict[str, Any]:
    return sign_exchange(signer, model_id="m", request=REQUEST, response=RESPONSE, at=at).to_dict()


@pytest.mark.parametrize("algorithm", ["ed25519", "ecdsa-p256"])
def test_cli_token_key_signs_receipts_that_verify_with_the_key_set(
    cli: Callable[..., Any], softhsm: SoftHsm, pin_env: str, tmp_path: Path, algorithm: str,
    label: Callable[[str], str],
) -> None:  # fmt: skip
    keys = tmp_path / "keys"
    key_id = f"example.test/{label('hsm-' + algorithm)}/2026q1"
    token = ("--pkcs11-module", softhsm.module, "--token", MAIN, "--pin-env", pin_env)
    made = cli("keys", "new", key_id, "--dir", keys, "--algorithm", algorithm, *token)
    assert made.status == 0, made.stderr
    assert softhsm.pin not in made.stdout + made.stderr
    # No private key file for a token key: the public key set and the reference only.
    ref_path = KeyDirectory(keys).token_ref_path(key_id)
    assert sorted(p.name for p in keys.iterdir()) == sorted([".lock", "keys.json", ref_path.name])
    ref = json.loads(KeyDirectory(keys).token_ref_path(key_id).read_text())
    assert ref == {"key_id": key_id, "module": softhsm.module, "token": MAIN,
                   "key_label": key_id, "algorithm": algorithm}  # fmt: skip
    assert softhsm.pin not in json.dumps(ref)
    request, response = tmp_path / "req.json", tmp_path / "resp.json"
    request.write_text(json.dumps(REQUEST))
    response.write_text(json.dumps(RESPONSE))
    signed = cli("sign", "--dir", keys, "--key-id", key_id, "--model-id", "lab/m",
                 "--prompt", request, "--output", response, "--pin-env", pin_env)  # fmt: skip
    assert signed.status == 0, signed.stderr
    receipt = tmp_path / "receipt.json"
    receipt.write_text(signed.stdout)
    verified = cli("verify", receipt, "--keys", keys / "keys.json",
                   "--prompt", request, "--output", response, "--json")  # fmt: skip
    assert verified.status == 0, verified.stdout
    assert verified.json()["status"] == "valid"
    # Without the PIN the key directory says where the key is instead of failing obscurely.
    plain = cli("sign", "--dir", keys, "--key-id", key_id, "--model-id", "lab/m",
                "--prompt", request, "--output", response)  # fmt: skip
    assert plain.status == 2 and "PKCS#11 token" in plain.stderr


@pytest.mark.parametrize("algorithm", ["ed25519", "ecdsa-p256"])
def test_token_signer_from_threads(
    softhsm: SoftHsm, t0: datetime, algorithm: str, label: Callable[[str], str]
) -> None:
    # One signer shared by threads, as a gateway shares it between its event loop and
    # a thread pool: without the module lock SoftHSM's heap is corrupted (seen: abort).
    name = label(f"threads-{algorithm}")
    public = generate_pkcs11_key(softhsm.module, MAIN, name, softhsm.pin, algorithm)  # type: ignore[arg-type]
    keyset = KeySet([KeyEntry("t", public)])
    with open_pkcs11_signer(softhsm.module, MAIN, name, softhsm.pin, "t") as signer:
        assert signer.algorithm == algorithm and signer.public_key() == public
        assert "4711" not in repr(signer)
        receipts: list[dict[str, Any]] = []

        def work() -> None:
            for _ in range(50):
                receipts.append(_receipt_for(signer, t0))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(receipts) == 200
    assert all(verify_receipt(r, keyset, prompt=REQUEST, output=RESPONSE) for r in receipts)
    with pytest.raises(TokenError, match="closed"):
        signer.sign(b"after close")


def test_private_key_cannot_leave_the_token(softhsm: SoftHsm, label: Callable[[str], str]) -> None:
    name = label("no-export")
    generate_pkcs11_key(softhsm.module, MAIN, name, softhsm.pin, "ed25519")
    token = pkcs11.lib(softhsm.module).get_token(token_label=MAIN)
    with module_lock(softhsm.module), token.open(rw=True, user_pin=softhsm.pin) as session:
        private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=name)
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        assert private[Attribute.ALWAYS_SENSITIVE] is True
        assert private[Attribute.LOCAL] is True  # generated in the token, not imported
        with pytest.raises(pkcs11.AttributeSensitive):
            _ = private[Attribute.VALUE]  # reading the key's value is the attack
        with pytest.raises(pkcs11.PKCS11Error):  # CKA_EXTRACTABLE can only go TRUE -> FALSE
            private[Attribute.EXTRACTABLE] = True
        wrapper = session.generate_key(KeyType.AES, 256, template={Attribute.WRAP: True})
        assert isinstance(wrapper, WrapMixin)  # the token gave it the mixin for CKA_WRAP
        with pytest.raises(pkcs11.KeyUnextractable):
            wrapper.wrap_key(private, mechanism=Mechanism.AES_KEY_WRAP_PAD)


def test_directory_signer_is_checked_against_keys_json(
    softhsm: SoftHsm, tmp_path: Path, t0: datetime, label: Callable[[str], str]
) -> None:
    keydir = KeyDirectory(tmp_path / "keys")
    key, impostor = label("dir-key"), label("impostor")
    entry, ref = create_token_key(keydir, key, module=softhsm.module, token=MAIN,
                                  pin=softhsm.pin, at=t0)  # fmt: skip
    assert Pkcs11KeyRef.load(keydir, key) == ref
    with open_directory_signer(keydir, key, softhsm.pin) as signer:
        assert verify_receipt(_receipt_for(signer, t0), keydir.load_keyset())
    with pytest.raises(KeyManagementError, match="PKCS#11 token"):
        keydir.signer(key)
    with pytest.raises(KeyManagementError, match="already exists"):
        create_token_key(keydir, key, module=softhsm.module, token=MAIN,
                         pin=softhsm.pin, at=t0)  # fmt: skip
    # A reference pointing at another token key than the published one is refused.
    generate_pkcs11_key(softhsm.module, MAIN, impostor, softhsm.pin, "ed25519")
    swapped = Pkcs11KeyRef(key, softhsm.module, MAIN, impostor)
    swapped.save(keydir)
    with pytest.raises(TokenError, match="not the published"):
        open_directory_signer(keydir, key, softhsm.pin)
    ref.save(keydir)
    keydir.revoke(key, at=t0)
    with pytest.raises(KeyManagementError, match="revoked"):
        open_directory_signer(keydir, key, softhsm.pin)
    assert entry.public_key == keydir.load_keyset().resolve(key).public_key  # type: ignore[union-attr]


def _new(cli: Callable[..., Any], tmp_path: Path, *args: str | Path) -> Any:
    return cli("keys", "new", "k", "--dir", tmp_path / "keys", *args)


def test_clear_one_line_errors(
    cli: Callable[..., Any], softhsm: SoftHsm, pin_env: str, tmp_path: Path
) -> None:
    m = ("--pkcs11-module", softhsm.module)
    cases: list[tuple[tuple[str | Path, ...], str]] = [
        ((*m, "--token", ERRORS, "--pin-env", "LLMSEAL_WRONG_PIN"), "wrong PIN for token"),
        ((*m, "--token", "no-such-token", "--pin-env", pin_env), "no token labelled"),
        (("--pkcs11-module", tmp_path / "nope.so", "--token", ERRORS, "--pin-env", pin_env),
         "not found"),
        ((*m, "--token", ERRORS, "--pin-env", "LLMSEAL_UNSET_VAR"), "LLMSEAL_UNSET_VAR"),
        ((*m, "--token", ERRORS), "--pin-env"),
        (("--pkcs11-module", "/etc/hostname", "--token", ERRORS, "--pin-env", pin_env),
         "cannot load PKCS#11 module"),
    ]  # fmt: skip
    for args, message in cases:
        result = _new(cli, tmp_path, *args)
        assert result.status == 2, (args, result.stdout)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        if not message.startswith("--"):  # usage errors come with click's usage line
            assert result.stderr.count("\n") == 1, result.stderr
        assert softhsm.pin not in result.stderr
    assert not (tmp_path / "keys" / "keys.json").exists()


def test_unsupported_mechanism_and_key_type(softhsm: SoftHsm, label: Callable[[str], str]) -> None:
    p384 = label("p384")
    token = pkcs11.lib(softhsm.module).get_token(token_label=ERRORS)
    with pytest.raises(TokenError, match="does not support CKM_ECDSA_SHA256"):
        require_mechanism(token, Mechanism.ECDSA_SHA256, "ecdsa-p256")
    with module_lock(softhsm.module), token.open(rw=True, user_pin=softhsm.pin) as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp384r1")},
            local=True,
        )  # fmt: skip
        params.generate_keypair(store=True, label=p384)
        with pytest.raises(TokenError, match="not Ed25519 or P-256"):
            open_pkcs11_signer(softhsm.module, ERRORS, p384, softhsm.pin, "k")
        with pytest.raises(TokenError, match="no key labelled"):
            open_pkcs11_signer(softhsm.module, ERRORS, "absent", softhsm.pin, "k")
        with pytest.raises(TokenError, match="already has an object labelled"):
            generate_pkcs11_key(softhsm.module, ERRORS, p384, softhsm.pin, "ed25519")


def test_software_and_token_signatures_are_interchangeable(
    softhsm: SoftHsm, t0: datetime, label: Callable[[str], str]
) -> None:
    # The verifier cannot tell (and need not know) where the key lives.
    interop = label("interop")
    public = generate_pkcs11_key(softhsm.module, MAIN, interop, softhsm.pin, "ed25519")
    software = Ed25519Signer.generate("soft")
    keyset = KeySet([KeyEntry("hsm", public), KeyEntry("soft", software.public_key())])
    with open_pkcs11_signer(softhsm.module, MAIN, interop, softhsm.pin, "hsm") as token:
        for signer in (token, software):
            result = verify_receipt(_receipt_for(signer, t0), keyset)
            assert result.status is Status.VALID
