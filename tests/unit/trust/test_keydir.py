"""Key directories: 0600 private keys, atomic key-set updates, no partial writes."""

from __future__ import annotations

import os
import stat
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from llmseal.core.keyset import KeySet
from llmseal.errors import KeyManagementError
from llmseal.trust.keydir import KeyDirectory, safe_key_filename


def test_new_key_files_and_modes(tmp_path: Path, t0: datetime) -> None:
    keydir = KeyDirectory(tmp_path / "keys")
    entry = keydir.create("lab/model:2026q2", at=t0)
    pem = keydir.private_key_path("lab/model:2026q2")
    assert pem.parent == tmp_path / "keys"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    keyset = KeySet.from_json(keydir.keyset_path.read_bytes())
    assert keyset.resolve("lab/model:2026q2") == entry
    assert b"PRIVATE" not in keydir.keyset_path.read_bytes()
    assert keydir.signer("lab/model:2026q2").public_key() == entry.public_key


def test_safe_names_never_collide() -> None:
    names = {safe_key_filename(k) for k in ("a/b", "a_b", "a:b", "../x", ".hidden", "a b")}
    assert len(names) == 6
    assert all("/" not in n and not n.startswith(".") for n in names)


def test_existing_key_is_never_overwritten(tmp_path: Path, t0: datetime) -> None:
    keydir = KeyDirectory(tmp_path)
    keydir.create("k", at=t0)
    before = keydir.private_key_path("k").read_bytes()
    with pytest.raises(KeyManagementError, match="already exists"):
        keydir.create("k", at=t0)
    assert keydir.private_key_path("k").read_bytes() == before


def test_stray_key_file_is_not_overwritten_and_keyset_unchanged(
    tmp_path: Path, t0: datetime
) -> None:
    keydir = KeyDirectory(tmp_path)
    keydir.create("a", at=t0)
    keyset_before = keydir.keyset_path.read_bytes()
    keydir.private_key_path("b").write_bytes(b"someone else's file")
    with pytest.raises(KeyManagementError, match="refusing to overwrite"):
        keydir.create("b", at=t0)
    assert keydir.private_key_path("b").read_bytes() == b"someone else's file"
    assert keydir.keyset_path.read_bytes() == keyset_before


def test_failed_keyset_write_leaves_no_key_file(
    tmp_path: Path, t0: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    keydir = KeyDirectory(tmp_path)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("llmseal.trust.keydir.write_atomic", boom)
    with pytest.raises(KeyManagementError, match="No space left"):
        keydir.create("k", at=t0)
    assert not keydir.private_key_path("k").exists()
    assert not keydir.keyset_path.exists()


def test_revoke_keeps_key_listed_and_stops_signing(tmp_path: Path, t0: datetime) -> None:
    keydir = KeyDirectory(tmp_path)
    keydir.create("k", at=t0)
    revoked = keydir.revoke("k", at=t0 + timedelta(days=1))
    assert revoked.status == "revoked" and revoked.rotated_at == t0 + timedelta(days=1)
    assert keydir.load_keyset().resolve("k") == revoked
    with pytest.raises(KeyManagementError, match="revoked"):
        keydir.signer("k")
    with pytest.raises(KeyManagementError, match="already revoked"):
        keydir.revoke("k", at=t0)


def test_group_readable_key_is_refused(tmp_path: Path, t0: datetime) -> None:
    keydir = KeyDirectory(tmp_path)
    keydir.create("k", at=t0)
    os.chmod(keydir.private_key_path("k"), 0o640)
    with pytest.raises(KeyManagementError, match="chmod 600"):
        keydir.signer("k")


def test_swapped_private_key_is_detected(tmp_path: Path, t0: datetime) -> None:
    keydir = KeyDirectory(tmp_path)
    keydir.create("a", at=t0)
    keydir.create("b", at=t0)
    a, b = keydir.private_key_path("a"), keydir.private_key_path("b")
    a.write_bytes(b.read_bytes())
    with pytest.raises(KeyManagementError, match="does not match"):
        keydir.signer("a")


def test_concurrent_creation_loses_nothing(tmp_path: Path, t0: datetime) -> None:
    keydir = KeyDirectory(tmp_path)
    errors: list[BaseException] = []

    def make(i: int) -> None:
        try:
            KeyDirectory(tmp_path).create(f"key-{i}", at=t0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(e.key_id for e in keydir.load_keyset()) == sorted(f"key-{i}" for i in range(16))


def test_private_key_never_in_repr_or_errors(tmp_path: Path, t0: datetime) -> None:
    keydir = KeyDirectory(tmp_path)
    keydir.create("k", at=t0)
    signer = keydir.signer("k")
    pem = keydir.private_key_path("k").read_text()
    body = "".join(pem.splitlines()[1:-1])
    assert body not in repr(signer)
    keydir.private_key_path("k").write_text(pem.replace("A", "B", 3))
    with pytest.raises(KeyManagementError) as info:
        keydir.signer("k")
    assert body[:20] not in str(info.value)


def test_add_public_publishes_a_key_without_a_private_file(tmp_path: Path, t0: datetime) -> None:
    from llmseal.core.keys import Ed25519Signer
    from llmseal.core.keyset import KeyEntry

    keydir = KeyDirectory(tmp_path / "keys")
    keydir.create("soft", at=t0)
    token_key = KeyEntry("token", Ed25519Signer.generate("token").public_key(), created_at=t0)
    keydir.add_public(token_key)
    keyset = keydir.load_keyset()
    assert [e.key_id for e in keyset] == ["soft", "token"] and keyset.resolve("token") == token_key
    assert not keydir.private_key_path("token").exists()
    with pytest.raises(KeyManagementError) as info:
        keydir.add_public(token_key)
    assert str(info.value) == "key 'token' already exists"
    assert [e.key_id for e in keydir.load_keyset()] == ["soft", "token"]
