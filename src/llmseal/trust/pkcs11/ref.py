"""Token-held keys in a key directory: the public key in ``keys.json``, a reference beside it.

``llmseal keys new --pkcs11-module ...`` generates the key on the token, publishes
the public key in ``DIR/keys.json`` and writes ``DIR/<name>.pkcs11.json``::

    {"key_id": "...", "module": "/usr/lib/softhsm/libsofthsm2.so",
     "token": "llmseal", "key_label": "...", "algorithm": "ed25519"}

Nothing in it is secret (the PIN comes from an environment variable when the key
is opened), so a gateway given only ``--dir`` and ``--key-id`` can find the key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import orjson

from llmseal.core import _time
from llmseal.core.canonical import loads
from llmseal.core.keys import ALGORITHMS, Algorithm
from llmseal.core.keyset import KeyEntry
from llmseal.errors import ContentError, KeyManagementError
from llmseal.trust.keydir import KeyDirectory, write_atomic
from llmseal.trust.pkcs11.token import Pkcs11Signer, generate_pkcs11_key, open_pkcs11_signer

__all__ = ["Pkcs11KeyRef", "adopt_token_key", "create_token_key", "open_directory_signer"]


@dataclass(frozen=True, slots=True)
class Pkcs11KeyRef:
    """Where a token-held key is: module, token label and key label."""

    key_id: str
    module: str
    token: str
    key_label: str
    algorithm: Algorithm = "ed25519"

    @classmethod
    def from_dict(cls, data: Any) -> Pkcs11KeyRef:
        if not isinstance(data, Mapping):
            raise KeyManagementError("a PKCS#11 key reference must be a JSON object")
        fields = {}
        for name in ("key_id", "module", "token", "key_label", "algorithm"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise KeyManagementError(f"PKCS#11 key reference without a string {name!r}")
            fields[name] = value
        if fields["algorithm"] not in ALGORITHMS:
            raise KeyManagementError(f"unsupported algorithm {fields['algorithm']!r}")
        return cls(**fields)  # type: ignore[arg-type]

    @classmethod
    def load(cls, keydir: KeyDirectory, key_id: str) -> Pkcs11KeyRef:
        """The reference of ``key_id`` in ``keydir``; KeyManagementError if there is none."""
        path = keydir.token_ref_path(key_id)
        try:
            ref = cls.from_dict(loads(path.read_bytes()))
        except FileNotFoundError:
            raise KeyManagementError(f"key {key_id!r} is not held in a PKCS#11 token") from None
        except (OSError, ContentError) as exc:
            raise KeyManagementError(f"cannot read {path}: {exc}") from exc
        if ref.key_id != key_id:
            raise KeyManagementError(f"{path} is the reference of {ref.key_id!r}, not {key_id!r}")
        return ref

    def save(self, keydir: KeyDirectory) -> None:
        text = orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2) + b"\n"
        write_atomic(keydir.token_ref_path(self.key_id), text)

    def open(self, pin: str, *, expected: KeyEntry | None = None) -> Pkcs11Signer:
        """Log in and return the signer (checked against ``expected`` when given)."""
        return open_pkcs11_signer(
            self.module,
            self.token,
            self.key_label,
            pin,
            self.key_id,
            expected=expected.public_key if expected else None,
        )


def create_token_key(
    keydir: KeyDirectory,
    key_id: str,
    *,
    module: str,
    token: str,
    pin: str,
    at: datetime,
    key_label: str | None = None,
    algorithm: Algorithm = "ed25519",
) -> tuple[KeyEntry, Pkcs11KeyRef]:
    """Generate ``key_id`` on the token; publish its public key and the reference in ``keydir``."""
    if key_id in keydir.load_keyset():
        raise KeyManagementError(f"key {key_id!r} already exists in {keydir.keyset_path}")
    ref = Pkcs11KeyRef(key_id, module, token, key_label or key_id, algorithm)
    public = generate_pkcs11_key(module, token, ref.key_label, pin, algorithm)
    entry = KeyEntry(key_id, public, "active", _time.utc(at), None)
    keydir.path.mkdir(mode=0o700, parents=True, exist_ok=True)
    ref.save(keydir)
    try:
        keydir.add_public(entry)
    except BaseException:
        with contextlib.suppress(OSError):
            keydir.token_ref_path(key_id).unlink()
        raise
    return entry, ref


def open_directory_signer(keydir: KeyDirectory, key_id: str, pin: str) -> Pkcs11Signer:
    """The token signer of an active ``key_id`` of ``keydir``, checked against keys.json."""
    entry = keydir.load_keyset().resolve(key_id)
    if entry is None:
        raise KeyManagementError(f"no key {key_id!r} in {keydir.keyset_path}")
    if entry.status == "revoked":
        raise KeyManagementError(f"key {key_id!r} is revoked; it must not sign")
    return Pkcs11KeyRef.load(keydir, key_id).open(pin, expected=entry)


def adopt_token_key(
    keydir: KeyDirectory,
    key_id: str,
    *,
    module: str,
    token: str,
    key_label: str,
    pin: str,
    at: datetime,
) -> KeyEntry:
    """Sign with an existing token key as ``key_id``: publish it, or check it is the published one.

    What ``llmseal serve --pkcs11-module ... --key-label ...`` does on start-up: a
    key made with any token tool becomes usable, and a label that names another
    key than the one ``keys.json`` publishes for ``key_id`` is refused.
    """
    entry = keydir.load_keyset().resolve(key_id)
    if entry is not None and entry.status == "revoked":
        raise KeyManagementError(f"key {key_id!r} is revoked; it must not sign")
    expected = entry.public_key if entry else None
    with open_pkcs11_signer(module, token, key_label, pin, key_id, expected=expected) as signer:
        ref = Pkcs11KeyRef(key_id, module, token, key_label, signer.algorithm)
        public = signer.public_key()
    keydir.path.mkdir(mode=0o700, parents=True, exist_ok=True)
    ref.save(keydir)
    if entry is None:
        entry = KeyEntry(key_id, public, "active", _time.utc(at), None)
        keydir.add_public(entry)
    return entry
