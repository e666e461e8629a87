"""Fetching fingerprint packs from mirrors and keeping them under ``<data_dir>/fingerprints/``.

"Discovery tells me a pack exists. Storage gives me bytes. Hash proves bytes are
correct. Signature proves who published. Local trust policy decides whether I
use it." (AntSeed spec 08.) So a mirror is never trusted: :func:`fetch_pack`
tries each URL in turn, checks hash, then signature, then the trust policy of
:meth:`~llmseal.audit.packs.pack.Pack.check_trust` on the bytes it received, and
stores a pack only once all three passed — atomically (a temporary file renamed
into place), in its canonical file form, as ``sha256-<hex>.json`` (the pack id
with ``:`` spelled ``-``, AntSeed's cache spelling, so the name is a valid file
name everywhere). Nothing partial or unverified is ever written.

The local trust policy is a key set of trusted publishers: given by the caller,
or ``<data_dir>/fingerprints/publishers.json`` (:func:`publishers_path`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from llmseal.audit.packs.announce import Announcement, check_announcement, check_chunk
from llmseal.audit.packs.pack import Pack
from llmseal.audit.packs.packfile import MAX_PACK_BYTES, load_pack, verify_pack
from llmseal.core.keyset import KeyResolver, KeySet
from llmseal.errors import AuditIntegrityError, Error, InputError, NetworkError, StoreError
from llmseal.trust.keydir import write_atomic

__all__ = [
    "FetchResult",
    "fetch_pack",
    "fingerprints_dir",
    "load_publishers",
    "pack_path",
    "publishers_path",
    "stored_packs",
]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The stored pack, where it is, and the mirrors that failed before it."""

    pack: Pack
    path: Path
    url: str
    failures: tuple[tuple[str, str], ...] = ()
    """``(url, one-line reason)`` for every mirror tried before the one that worked."""


def fingerprints_dir(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir).expanduser() / "fingerprints"


def publishers_path(data_dir: str | os.PathLike[str]) -> Path:
    """The default trust policy: ``<data_dir>/fingerprints/publishers.json`` (a key set)."""
    return fingerprints_dir(data_dir) / "publishers.json"


def pack_path(data_dir: str | os.PathLike[str], pack_id: str) -> Path:
    """Where a pack with ``pack_id`` is stored."""
    algorithm, _, digest = pack_id.partition(":")
    if algorithm != "sha256" or len(digest) != 64 or digest.strip("0123456789abcdef"):
        raise InputError(f"not a pack id: {pack_id!r}")
    return fingerprints_dir(data_dir) / f"sha256-{digest}.json"


def load_publishers(data_dir: str | os.PathLike[str]) -> KeySet:
    """The stored trust policy; InputError if there is none (fail closed)."""
    path = publishers_path(data_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"no trusted publishers: give --publishers KEYSET or create {path}"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return KeySet.from_json(data)


def fetch_pack(
    urls: list[str] | tuple[str, ...],
    *,
    data_dir: str | os.PathLike[str],
    trusted: KeyResolver,
    at: datetime,
    timeout: float = 30.0,
    client: httpx.Client | None = None,
    announcement: Announcement | None = None,
) -> FetchResult:
    """Fetch from the first mirror whose bytes pass hash, signature and trust; store them.

    With an ``announcement``, its signature is checked against ``trusted`` before any
    download, its mirrors follow ``urls``, and every chunk is checked as it arrives.
    Raises the first mirror's error when none works (with the others' reasons in the
    message), :class:`~llmseal.errors.StoreError` when the pack cannot be written.
    """
    if announcement is not None:
        check_announcement(announcement, trusted)
        urls = [*urls, *(m for m in announcement.mirrors if m not in urls)]
    if not urls:
        raise InputError("give at least one mirror URL")
    failures: list[tuple[str, str, Error]] = []
    for url in urls:
        try:
            data = _download(url, timeout, client, announcement)
            pack = verify_pack(data, trusted=trusted, at=at)
            if announcement is not None and pack.pack_id != announcement.pack_id:
                raise AuditIntegrityError(
                    f"{url} served {pack.pack_id}, not the announced {announcement.pack_id}",
                    code="hash_mismatch",
                )
        except Error as exc:
            failures.append((url, exc.diagnostics(), exc))
            continue
        path = _store(pack, data_dir)
        return FetchResult(pack, path, url, tuple((u, r) for u, r, _ in failures))
    first = failures[0][2]
    if len(failures) == 1:
        raise first
    message = "no mirror gave a usable pack (" + "; ".join(f"{u}: {r}" for u, r, _ in failures)
    if isinstance(first, AuditIntegrityError):
        raise AuditIntegrityError(message + ")", code=first.code) from first
    raise NetworkError(message + ")") from first


def stored_packs(
    data_dir: str | os.PathLike[str], *, trusted: KeyResolver | None, at: datetime
) -> list[Pack]:
    """Every stored pack that still verifies at ``at`` (the others are left alone)."""
    found: list[Pack] = []
    for path in sorted(fingerprints_dir(data_dir).glob("sha256-*.json")):
        try:
            found.append(load_pack(path, trusted=trusted, at=at))
        except Error:
            continue
    return found


def _download(
    url: str, timeout: float, client: httpx.Client | None, announcement: Announcement | None
) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise InputError(f"not an http(s) mirror URL: {url!r}")
    limit = MAX_PACK_BYTES if announcement is None else announcement.byte_length
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise NetworkError(f"GET {url} answered HTTP {response.status_code}")
            buffer = bytearray()
            checked = 0  # chunks of the announcement verified so far
            for piece in response.iter_bytes():
                buffer += piece
                if len(buffer) > limit:
                    raise NetworkError(f"pack at {url} is larger than {limit} bytes")
                if announcement is not None:
                    size = announcement.chunk_size
                    while len(buffer) >= (checked + 1) * size:
                        check_chunk(announcement, checked, bytes(buffer[checked * size :][:size]))
                        checked += 1
            if announcement is not None:
                if len(buffer) != announcement.byte_length:
                    raise AuditIntegrityError(
                        f"{url} sent {len(buffer)} of {announcement.byte_length} bytes",
                        code="chunk_mismatch",
                    )
                if checked * announcement.chunk_size < len(buffer):
                    check_chunk(
                        announcement, checked, bytes(buffer[checked * announcement.chunk_size :])
                    )
            return bytes(buffer)
    except httpx.HTTPError as exc:
        raise NetworkError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from exc
    finally:
        if client is None:
            http.close()


def _store(pack: Pack, data_dir: str | os.PathLike[str]) -> Path:
    path = pack_path(data_dir, pack.pack_id)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(path, pack.to_json())
    except OSError as exc:
        raise StoreError(f"cannot store pack {pack.pack_id} at {path}: {exc.strerror}") from exc
    return path
