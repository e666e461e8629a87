"""A witness's directory: its cosigner key (0600), its vkey, its state database.

Layout::

    DIR/witness.key    PRIVATE+KEY+<name>+<id>+<base64(0x04 || seed)>, mode 0600
    DIR/witness.vkey   <name>+<id>+<base64(0x04 || public key)>
    DIR/witness.db     :mod:`.witnessstore` (latest checkpoints, evidence)

The key is created once and never overwritten; a key file any other user can
read is refused (a witness key that leaked can cosign a fork).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from llmseal.errors import KeyManagementError, LogFormatError
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.trust.keydir import write_atomic, write_private

__all__ = ["KEY_FILE", "VKEY_FILE", "init_witness_dir", "load_witness_key"]

KEY_FILE = "witness.key"
VKEY_FILE = "witness.vkey"


def init_witness_dir(directory: Path | str, name: str) -> CosignatureSigner:
    """Create the directory and a fresh key named ``name``; refuse to replace a key."""
    path = Path(directory)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyManagementError(f"cannot create {path}: {exc.strerror}") from exc
    try:
        signer = CosignatureSigner.generate(name)
    except LogFormatError as exc:
        raise KeyManagementError(f"invalid witness name: {exc}") from None
    write_private(path / KEY_FILE, (signer.skey() + "\n").encode("ascii"))
    write_atomic(path / VKEY_FILE, (signer.vkey() + "\n").encode("ascii"))
    return signer


def load_witness_key(directory: Path | str) -> CosignatureSigner:
    """The witness key of ``directory`` (``witness init`` made it)."""
    key_path = Path(directory) / KEY_FILE
    try:
        fd = os.open(key_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise KeyManagementError(
            f"cannot read witness key {key_path}: {exc.strerror} (run llmseal witness init)"
        ) from exc
    with os.fdopen(fd, "rb") as handle:
        if stat.S_IMODE(os.fstat(handle.fileno()).st_mode) & 0o077:
            raise KeyManagementError(f"{key_path} is readable by others; chmod 600 it")
        text = handle.read(4096)
    try:
        return CosignatureSigner.from_skey(text.decode("ascii"))
    except (UnicodeDecodeError, LogFormatError):
        raise KeyManagementError(f"{key_path} is not a witness key") from None
