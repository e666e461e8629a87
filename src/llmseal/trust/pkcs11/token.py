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
:mod:`llmseal.trust.pkcs11.ref` keeps that reference beside the key set.
"""

from __future__ import annotations

import hashlib
import os
import threading
from types import TracebackType
from typing import Any

import pkcs11
from pkcs11 import Attribute, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from llmseal.core.keys import Algorithm, PublicKey, p256_raw_signature
from llmseal.errors import TokenError
from llmseal.trust.pkcs11._p11 import (
    SPECS,
    find_key,
    key_algorithm,
    module_lock,
    open_session,
    pin_from_env,
    public_from_point,
    require_mechanism,
    spec_for,
    token_public_key,
    token_session,
)

_SELF_TEST = b"llmseal pkcs11 self-test"

__all__ = [
    "Pkcs11Signer",
    "generate_pkcs11_key",
    "module_lock",
    "open_pkcs11_signer",
    "pin_from_env",
    "require_mechanism",
]


def generate_pkcs11_key(
    module: str, token_label: str, key_label: str, pin: str, algorithm: Algorithm = "ed25519"
) -> PublicKey:
    """Generate a non-extractable key pair on the token; return its public key.

    Raises:
        TokenError: module, token, PIN or mechanism problem, or the label is taken.
    """
    spec = spec_for(algorithm)
    with token_session(module, token_label, pin, rw=True) as session:
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
        return public_from_point(public[Attribute.EC_POINT], algorithm)


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
        session = open_session(module, token_label, pin, rw=False)
        try:
            private = find_key(session, ObjectClass.PRIVATE_KEY, key_label, token_label)
            algorithm = key_algorithm(private, key_label)
            require_mechanism(session.token, SPECS[algorithm].sign, algorithm)
            public = token_public_key(session, key_label, algorithm) or expected
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
        self._mechanism = SPECS[algorithm].sign
        self._prehash = SPECS[algorithm].prehash
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
        if self._prehash:  # ECDSA: tokens may return either s; receipts carry the low one
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            return p256_raw_signature(r, s)
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
