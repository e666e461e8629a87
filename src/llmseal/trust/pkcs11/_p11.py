"""PKCS#11 plumbing for :mod:`llmseal.trust.pkcs11.token`: loading, sessions, the module lock.

See that module's docstring for why every call into a module is serialized.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from llmseal.core.keys import Algorithm, PublicKey
from llmseal.errors import ConfigError, KeySetError, TokenError

__all__ = [
    "SPECS",
    "find_key",
    "key_algorithm",
    "module_lock",
    "open_session",
    "pin_from_env",
    "public_from_point",
    "require_mechanism",
    "spec_for",
    "token_public_key",
    "token_session",
]


@dataclass(frozen=True, slots=True)
class _Spec:
    key_type: KeyType
    curve: str
    keygen: Mechanism
    sign: Mechanism
    prehash: bool


SPECS: dict[str, _Spec] = {
    # RFC 8410 §3: id-Ed25519 is 1.3.101.112.
    "ed25519": _Spec(
        KeyType.EC_EDWARDS, "1.3.101.112", Mechanism.EC_EDWARDS_KEY_PAIR_GEN, Mechanism.EDDSA, False
    ),
    "ecdsa-p256": _Spec(KeyType.EC, "secp256r1", Mechanism.EC_KEY_PAIR_GEN, Mechanism.ECDSA, True),
}
# Tokens may name Curve25519 by OID or by the PrintableString "edwards25519" (v3.0 §2.3.5).
_EDWARDS_BY_NAME = b"\x13\x0cedwards25519"
_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


def pin_from_env(var: str) -> str:
    """The PIN from environment variable ``var`` (never from the command line)."""
    pin = os.environ.get(var)
    if not pin:
        raise ConfigError(f"environment variable {var} (the token PIN) is not set")
    return pin


def module_lock(module: str) -> threading.RLock:
    """The one lock serializing every call into ``module`` (see the module docstring)."""
    key = os.path.realpath(module)
    with _locks_guard:
        return _locks.setdefault(key, threading.RLock())


def _load(module: str) -> Any:
    if not Path(module).is_file():
        raise TokenError(f"PKCS#11 module {module} not found")
    try:
        return pkcs11.lib(module)
    except pkcs11.PKCS11Error as exc:
        raise TokenError(f"cannot load PKCS#11 module {module}: {exc}") from exc


def open_session(module: str, token_label: str, pin: str, *, rw: bool) -> pkcs11.Session:
    token = _token(module, token_label)
    try:
        return token.open(rw=rw, user_pin=pin)
    except (pkcs11.PinIncorrect, pkcs11.PinLenRange, pkcs11.PinInvalid):
        raise TokenError(f"wrong PIN for token {token_label!r}") from None
    except pkcs11.PinLocked:
        raise TokenError(f"the PIN of token {token_label!r} is locked") from None
    except pkcs11.UserAlreadyLoggedIn:
        # Login is per application and token (v2.40 §5.6): another signer of this
        # process already logged in, so this session is logged in too.
        return token.open(rw=rw)
    except pkcs11.PKCS11Error as exc:
        raise TokenError(f"cannot open token {token_label!r}: {type(exc).__name__}") from exc


def _token(module: str, token_label: str) -> pkcs11.Token:
    lib = _load(module)
    try:
        token: pkcs11.Token = lib.get_token(token_label=token_label)
    except pkcs11.NoSuchToken:
        raise TokenError(f"no token labelled {token_label!r} in {module}") from None
    except pkcs11.MultipleTokensReturned:
        raise TokenError(f"more than one token is labelled {token_label!r}") from None
    return token


def require_mechanism(token: pkcs11.Token, mechanism: Mechanism, algorithm: str) -> None:
    """TokenError unless ``token`` supports ``mechanism`` (asked once, before use)."""
    try:
        supported = token.slot.get_mechanisms()
    except pkcs11.PKCS11Error as exc:
        raise TokenError(f"cannot list the mechanisms of {token.label!r}: {exc}") from exc
    if mechanism not in supported:
        raise TokenError(
            f"token {token.label!r} does not support CKM_{mechanism.name} (needed for {algorithm})"
        )


@contextmanager
def token_session(module: str, token_label: str, pin: str, *, rw: bool) -> Iterator[pkcs11.Session]:
    with module_lock(module):
        session = open_session(module, token_label, pin, rw=rw)
        try:
            yield session
        finally:
            session.close()


def spec_for(algorithm: str) -> _Spec:
    spec = SPECS.get(algorithm)
    if spec is None:
        raise TokenError(f"unsupported algorithm {algorithm!r} (use ed25519 or ecdsa-p256)")
    return spec


def find_key(session: pkcs11.Session, kind: ObjectClass, label: str, token_label: str) -> Any:
    try:
        return session.get_key(object_class=kind, label=label)
    except pkcs11.NoSuchKey:
        raise TokenError(f"no key labelled {label!r} on token {token_label!r}") from None
    except pkcs11.MultipleObjectsReturned:
        raise TokenError(f"more than one key is labelled {label!r} on {token_label!r}") from None


def key_algorithm(private: Any, label: str) -> Algorithm:
    key_type = private.key_type
    params = (
        bytes(private[Attribute.EC_PARAMS]) if key_type in (KeyType.EC, KeyType.EC_EDWARDS) else b""
    )
    if key_type == KeyType.EC_EDWARDS and params in (
        encode_named_curve_parameters(SPECS["ed25519"].curve),
        _EDWARDS_BY_NAME,
    ):
        return "ed25519"
    if key_type == KeyType.EC and params == encode_named_curve_parameters("secp256r1"):
        return "ecdsa-p256"
    raise TokenError(f"key {label!r} is a {key_type.name} key that is not Ed25519 or P-256")


def token_public_key(session: pkcs11.Session, label: str, algorithm: Algorithm) -> PublicKey | None:
    try:
        public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
    except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
        return None
    return public_from_point(public[Attribute.EC_POINT], algorithm)


def public_from_point(ec_point: bytes, algorithm: Algorithm) -> PublicKey:
    """CKA_EC_POINT is a DER OCTET STRING (v2.40 §2.3.3); some tokens give the raw point."""
    point = bytes(ec_point)
    size = 32 if algorithm == "ed25519" else 65
    if len(point) == size + 2 and point[0] == 0x04 and point[1] == size:
        point = point[2:]
    try:
        return PublicKey.from_raw(algorithm, point)
    except KeySetError as exc:
        raise TokenError(f"the token's public key is not a {algorithm} key: {exc}") from exc
