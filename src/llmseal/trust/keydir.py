"""A key directory: private keys in 0600 PEM files, the public key set beside them.

Layout (the ``llmseal keys`` contract)::

    DIR/                   mode 0700
      keys.json            the public key set, v0.3 format — safe to publish
      <safe name>.pem      one PKCS#8 private key per key id, mode 0600
      <safe name>.pkcs11.json  instead of the .pem for a key held in a PKCS#11
                           token: module, token and key label (no secret)

Every change is all-or-nothing: the private key is written with ``O_EXCL`` and
fsynced, ``keys.json`` is replaced atomically (temp file + ``os.replace``), and a
failure after the key file was written removes it again. An exclusive ``flock``
serializes concurrent ``llmseal keys`` runs on the same directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from llmseal.core import _time
from llmseal.core.canonical import loads
from llmseal.core.keys import Algorithm, EcdsaP256Signer, Ed25519Signer, PublicKey, Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.errors import ContentError, Error, KeyManagementError, KeySetError

__all__ = [
    "KeyDirectory",
    "load_private_key",
    "private_key_pem",
    "read_private_key",
    "safe_key_filename",
    "write_atomic",
    "write_private",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_key_filename(key_id: str) -> str:
    """A file name for ``key_id``: readable when possible, never colliding.

    Key ids may hold ``/`` or ``:`` (``gitjob.io/2026q2``); those become ``_`` and a
    short hash of the real id is appended so two ids never share a file.
    """
    name = _UNSAFE.sub("_", key_id)[:96]
    name = "_" * (len(name) - len(name.lstrip("."))) + name.lstrip(".")  # no hidden/dot files
    if name != key_id or not name:
        name = f"{name}-{hashlib.sha256(key_id.encode('utf-8')).hexdigest()[:12]}"
    return f"{name}.pem"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` so that readers see the old or the new content, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def locked_directory(
    path: Path, error: type[Error] = KeyManagementError, *, name: str = ".lock"
) -> Iterator[None]:
    """Create ``path`` (0700) if needed and hold an exclusive ``flock`` on ``path/name``.

    Serializes the processes that change one directory (key directory, CA, gateway
    data dir); the kernel releases the lock if a holder dies.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path / name, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise error(f"cannot use directory {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class KeyDirectory:
    """Keys on disk for one issuer."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def keyset_path(self) -> Path:
        return self.path / "keys.json"

    def private_key_path(self, key_id: str) -> Path:
        return self.path / safe_key_filename(key_id)

    def token_ref_path(self, key_id: str) -> Path:
        """Where the (non-secret) reference to a token-held key is kept."""
        return self.path / (safe_key_filename(key_id).removesuffix(".pem") + ".pkcs11.json")

    def load_keyset(self) -> KeySet:
        """The directory's key set (empty if there is none yet)."""
        try:
            data = self.keyset_path.read_bytes()
        except FileNotFoundError:
            return KeySet()
        except OSError as exc:
            raise KeyManagementError(f"cannot read {self.keyset_path}: {exc.strerror}") from exc
        try:
            return KeySet.from_obj(loads(data))
        except (ContentError, KeySetError) as exc:
            raise KeyManagementError(f"{self.keyset_path} is not a key set: {exc}") from exc

    def create(self, key_id: str, *, at: datetime, algorithm: Algorithm = "ed25519") -> KeyEntry:
        """Generate a key, store it 0600 and publish its public half as active."""
        return self.import_key(key_id, _generate(algorithm), at=at)

    def import_key(
        self,
        key_id: str,
        private: PrivateKey,
        *,
        at: datetime,
    ) -> KeyEntry:
        """Store an existing private key 0600 and publish its public half as active.

        Used for keys made elsewhere, e.g. the key of an X.509 model certificate
        (:mod:`llmseal.trust.x509.ca`).
        """
        if not key_id or _has_control(key_id):
            raise KeyManagementError("a key id must be non-empty, without control characters")
        public = PublicKey.from_cryptography(private.public_key())
        with self._locked():
            keyset = self.load_keyset()
            if key_id in keyset:
                raise KeyManagementError(f"key {key_id!r} already exists in {self.keyset_path}")
            pem_path = self.private_key_path(key_id)
            write_private(pem_path, private_key_pem(private))
            entry = KeyEntry(key_id, public, "active", _time.utc(at), None)
            try:
                self._save(keyset.with_entry(entry))
            except BaseException:
                pem_path.unlink()
                raise
            return entry

    def add_public(self, entry: KeyEntry) -> None:
        """Publish a key whose private half lives elsewhere (an HSM token)."""
        with self._locked():
            keyset = self.load_keyset()
            if entry.key_id in keyset:
                raise KeyManagementError(f"key {entry.key_id!r} already exists")
            self._save(keyset.with_entry(entry))

    def revoke(self, key_id: str, *, at: datetime) -> KeyEntry:
        """Mark ``key_id`` revoked from ``at`` on; receipts issued before stay valid."""
        with self._locked():
            keyset = self.load_keyset()
            entry = keyset.resolve(key_id)
            if entry is None:
                raise KeyManagementError(f"no key {key_id!r} in {self.keyset_path}")
            if entry.status == "revoked":
                raise KeyManagementError(f"key {key_id!r} is already revoked")
            if entry.created_at is not None and at < entry.created_at:
                # Revoked before it existed would revoke every receipt it ever signed
                # while saying something false about the timeline.
                raise KeyManagementError(
                    f"revocation time {_time.format_utc(at)} is before key {key_id!r} was "
                    f"created ({_time.format_utc(entry.created_at)}); nothing changed"
                )
            revoked = entry.revoked(at)
            self._save(keyset.with_entry(revoked))
            return revoked

    def signer(self, key_id: str) -> Signer:
        """Load the private key of an active key for signing."""
        entry = self.load_keyset().resolve(key_id)
        if entry is None:
            raise KeyManagementError(f"no key {key_id!r} in {self.keyset_path}")
        if entry.status == "revoked":
            raise KeyManagementError(f"key {key_id!r} is revoked; it must not sign")
        if self.token_ref_path(key_id).exists():
            raise KeyManagementError(
                f"key {key_id!r} is held in a PKCS#11 token ({self.token_ref_path(key_id)}); "
                "give the token PIN (--pin-env VAR)"
            )
        signer = load_private_key(self.private_key_path(key_id), key_id)
        if signer.public_key().raw != entry.public_key.raw:
            raise KeyManagementError(f"the private key file of {key_id!r} does not match keys.json")
        return signer

    def _save(self, keyset: KeySet) -> None:
        text = orjson.dumps(keyset.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"
        try:
            write_atomic(self.keyset_path, text)
        except OSError as exc:
            raise KeyManagementError(f"cannot write {self.keyset_path}: {exc.strerror}") from exc

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return locked_directory(self.path)


PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def load_private_key(path: Path, key_id: str) -> Signer:
    """Load a PEM private key as a signer, refusing a file that others can read."""
    key = read_private_key(path)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Signer(key_id, key)
    return EcdsaP256Signer(key_id, key)


def read_private_key(path: Path) -> PrivateKey:
    """Read an Ed25519 or P-256 PEM private key file that only its owner can read."""
    try:
        info = path.stat()
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise KeyManagementError(f"{path} is readable by group/others; run: chmod 600 {path}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyManagementError(f"private key file {path} not found") from None
    except OSError as exc:
        raise KeyManagementError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        # The message never includes key material, only the failure.
        raise KeyManagementError(f"{path} is not an unencrypted PEM private key") from exc
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise KeyManagementError(f"{path}: only Ed25519 and ECDSA P-256 keys are supported")


def write_private(path: Path, pem: bytes) -> None:
    """Create ``path`` mode 0600 with ``pem``; never overwrite, never follow a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyManagementError(f"{path} already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyManagementError(f"cannot create {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:  # a half-written key must not be left to block a retry
        with contextlib.suppress(OSError):
            path.unlink()
        raise KeyManagementError(f"cannot write {path}: {exc.strerror}") from exc


def private_key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM (the file is protected by its 0600 mode)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _generate(algorithm: str) -> PrivateKey:
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise KeyManagementError(f"unsupported algorithm {algorithm!r} (use ed25519 or ecdsa-p256)")


def _has_control(text: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)
