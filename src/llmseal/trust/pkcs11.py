"""Signing keys that live in a PKCS#11 token (an HSM; SoftHSM2 in the tests).

The private key is generated *on* the token with ``CKA_SENSITIVE=TRUE`` and
``CKA_EXTRACTABLE=FALSE`` (PKCS#11 v2.40 §4.9), so neither its value nor a
wrapped copy ever leaves it; only the public key is read back and published.

* Ed25519: ``CKM_EDDSA`` without parameters is pure Ed25519 (PKCS#11 v3.0 §2.3.14).
* ECDSA P-256: SHA-256 in Python, then ``CKM_ECDSA`` over the digest: SoftHSM 2.6.1
  lacks ``CKM_ECDSA_SHA256``. ``CKM_ECDSA`` returns ``r || s`` (v2.40 §2.3.1), the
  64-byte form receipts use.

Threads: python-pkcs11 calls ``C_Initialize(NULL)``, which tells the library the
application will not call it from several threads at once (v2.40 §5.4), and
SoftHSM then takes no locks: concurrent calls corrupt its heap (seen here). So
every call into one module goes through one lock, and a signer keeps one
logged-in session for its whole life instead of opening one per signature.
Sessions do not survive ``fork`` (v2.40 §6.7.1): open the signer in the process
that signs (each gateway worker), never before forking.

:func:`open_pkcs11_signer` opens a key by module, token and label;
:mod:`llmseal.trust.pkcs11ref` keeps that reference beside the key set.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from llmseal.core.keys import Algorithm, PublicKey
from llmseal.errors import ConfigError, KeySetError, TokenError

__all__ = [
    "Pkcs11Signer",
    "generate_pkcs11_key",
    "module_lock",
    "open_pkcs11_signer",
    "pin_from_env",
    "require_mechanism",
]


@dataclass(frozen=True, slots=True)
class _Spec:
    key_type: KeyType
    curve: str
    keygen: Mechanism
    sign: Mechanism
    prehash: bool


_SPECS: dict[str, _Spec] = {
    # RFC 8410 §3: id-Ed25519 is 1.3.101.112.
    "ed25519": _Spec(
        KeyType.EC_EDWARDS, "1.3.101.112", Mechanism.EC_EDWARDS_KEY_PAIR_GEN, Mechanism.EDDSA, False
    ),
    "ecdsa-p256": _Spec(KeyType.EC, "secp256r1", Mechanism.EC_KEY_PAIR_GEN, Mechanism.ECDSA, True),
}
# Tokens may name Curve25519 by OID or by the PrintableString "edwards25519" (v3.0 §2.3.5).
_EDWARDS_BY_NAME = b"\x13\x0cedwards25519"
_SELF_TEST = b"llmseal pkcs11 self-test"
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


def _open_session(module: str, token_label: str, pin: str, *, rw: bool) -> pkcs11.Session:
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
def _session(module: str, token_label: str, pin: str, *, rw: bool) -> Iterator[pkcs11.Session]:
    with module_lock(module):
        session = _open_session(module, token_label, pin, rw=rw)
        try:
            yield session
        finally:
            session.close()


def generate_pkcs11_key(
    module: str, token_label: str, key_label: str, pin: str, algorithm: Algorithm = "ed25519"
) -> PublicKey:
    """Generate a non-extractable key pair on the token; return its public key.

    Raises:
        TokenError: module, token, PIN or mechanism problem, or the label is taken.
    """
    spec = _spec(algorithm)
    with _session(module, token_label, pin, rw=True) as session:
        require_mechanism(session.token, spec.keygen, algorithm)
        require_mechanism(session.token, spec.sign, algorithm)
        if list(session.get_objects({Attribute.LABEL: key_label})):
            raise TokenError(f"token {token_label!r} already has an object labelled {key_label!r}")
        params = session.create_domain_parameters(
            spec.key_type,
            {Attribute.EC_PARAMS: encode_named_curve_parameters(spec.curve)},
            local=True,
        )
        key_id = hashlib.sha256(key_label.encode("utf-8")).digest()[:16]
        try:
            public, _private = params.generate_keypair(
                id=key_id,
                label=key_label,
                store=True,
                mechanism=spec.keygen,
                public_template={Attribute.VERIFY: True, Attribute.TOKEN: True},
                private_template={
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SIGN: True,
                    Attribute.SENSITIVE: True,  # the value can never be read
                    Attribute.EXTRACTABLE: False,  # nor wrapped out (v2.40 §4.9)
                },
            )
        except pkcs11.PKCS11Error as exc:
            raise TokenError(f"token {token_label!r} could not generate the key: {exc!r}") from exc
        return _public_from(public[Attribute.EC_POINT], algorithm)


def open_pkcs11_signer(
    module: str,
    token_label: str,
    key_label: str,
    pin: str,
    key_id: str,
    *,
    expected: PublicKey | None = None,
) -> Pkcs11Signer:
    """Log in and find the key labelled ``key_label``; the signer keeps the session.

    ``expected`` (the key published in the key set) must be the token's key: a
    test signature is verified with it before the signer is handed out.
    """
    lock = module_lock(module)
    with lock:
        session = _open_session(module, token_label, pin, rw=False)
        try:
            private = _find(session, ObjectClass.PRIVATE_KEY, key_label, token_label)
            algorithm = _algorithm_of(private, key_label)
            require_mechanism(session.token, _SPECS[algorithm].sign, algorithm)
            public = _token_public(session, key_label, algorithm) or expected
            if public is None:
                raise TokenError(f"token {token_label!r} has no public key labelled {key_label!r}")
            signer = Pkcs11Signer(key_id, algorithm, public, session, private, lock, key_label)
            if expected is not None and expected != public:
                raise TokenError(
                    f"key {key_label!r} on {token_label!r} is not the published {key_id!r}"
                )
            if not public.verify(signer.sign(_SELF_TEST), _SELF_TEST):
                raise TokenError(
                    f"key {key_label!r} on {token_label!r} signs for another public key"
                )
        except BaseException:
            session.close()
            raise
    return signer


class Pkcs11Signer:
    """A :class:`~llmseal.core.keys.Signer` whose private key stays in the token."""

    def __init__(
        self,
        key_id: str,
        algorithm: Algorithm,
        public: PublicKey,
        session: pkcs11.Session,
        private: Any,
        lock: threading.RLock,
        key_label: str,
    ) -> None:
        self._key_id = key_id
        self._algorithm: Algorithm = algorithm
        self._public = public
        self._session: pkcs11.Session | None = session
        self._private = private
        self._lock = lock
        self._label = key_label
        self._mechanism = _SPECS[algorithm].sign
        self._prehash = _SPECS[algorithm].prehash
        self._pid = os.getpid()

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def algorithm(self) -> Algorithm:
        return self._algorithm

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        """Sign in the token; 64 bytes (Ed25519, or P-256 ``r || s``)."""
        message = hashlib.sha256(data).digest() if self._prehash else data
        if os.getpid() != self._pid:
            raise TokenError("a PKCS#11 session cannot be used after fork; open it in the worker")
        with self._lock:
            if self._session is None:
                raise TokenError(f"the signer for {self._label!r} is closed")
            try:
                signature = bytes(self._private.sign(message, mechanism=self._mechanism))
            except pkcs11.PKCS11Error as exc:
                raise TokenError(
                    f"the token refused to sign with {self._label!r}: {exc!r}"
                ) from exc
        if len(signature) != 64:
            raise TokenError(f"the token returned a {len(signature)}-byte signature, not 64")
        return signature

    def close(self) -> None:
        """Close the session (the key stays on the token)."""
        with self._lock:
            session, self._session = self._session, None
            if session is not None and os.getpid() == self._pid:
                session.close()

    def __enter__(self) -> Pkcs11Signer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Pkcs11Signer(key_id={self._key_id!r}, label={self._label!r}, {self._algorithm})"


def _spec(algorithm: str) -> _Spec:
    spec = _SPECS.get(algorithm)
    if spec is None:
        raise TokenError(f"unsupported algorithm {algorithm!r} (use ed25519 or ecdsa-p256)")
    return spec


def _find(session: pkcs11.Session, kind: ObjectClass, label: str, token_label: str) -> Any:
    try:
        return session.get_key(object_class=kind, label=label)
    except pkcs11.NoSuchKey:
        raise TokenError(f"no key labelled {label!r} on token {token_label!r}") from None
    except pkcs11.MultipleObjectsReturned:
        raise TokenError(f"more than one key is labelled {label!r} on {token_label!r}") from None


def _algorithm_of(private: Any, label: str) -> Algorithm:
    key_type = private.key_type
    params = (
        bytes(private[Attribute.EC_PARAMS]) if key_type in (KeyType.EC, KeyType.EC_EDWARDS) else b""
    )
    if key_type == KeyType.EC_EDWARDS and params in (
        encode_named_curve_parameters(_SPECS["ed25519"].curve),
        _EDWARDS_BY_NAME,
    ):
        return "ed25519"
    if key_type == KeyType.EC and params == encode_named_curve_parameters("secp256r1"):
        return "ecdsa-p256"
    raise TokenError(f"key {label!r} is a {key_type.name} key that is not Ed25519 or P-256")


def _token_public(session: pkcs11.Session, label: str, algorithm: Algorithm) -> PublicKey | None:
    try:
        public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
    except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
        return None
    return _public_from(public[Attribute.EC_POINT], algorithm)


def _public_from(ec_point: bytes, algorithm: Algorithm) -> PublicKey:
    """CKA_EC_POINT is a DER OCTET STRING (v2.40 §2.3.3); some tokens give the raw point."""
    point = bytes(ec_point)
    size = 32 if algorithm == "ed25519" else 65
    if len(point) == size + 2 and point[0] == 0x04 and point[1] == size:
        point = point[2:]
    try:
        return PublicKey.from_raw(algorithm, point)
    except KeySetError as exc:
        raise TokenError(f"the token's public key is not a {algorithm} key: {exc}") from exc
