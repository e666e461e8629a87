"""The data directory a gateway owns, and the key it signs with.

``DATA_DIR`` layout::

    DATA_DIR/               0700
      keys/                 a key directory (keys.json + 0600 private keys)
      gateway.json          which key this gateway signs with (no secrets)
      receipts/             the receipt store: one SQLite shard per worker (WAL), unless
                            ``--store postgresql://…`` puts it in PostgreSQL (shared by replicas)
      metrics/              per-worker counters

On first run :func:`prepare_data_dir` creates it all with a fresh Ed25519 key;
later runs reuse the key recorded in ``gateway.json``.

With a PKCS#11 token (``pkcs11_module``/``pkcs11_token``/``pkcs11_key_label``) no
key file is made: the token's key is published in ``keys/keys.json`` with a
reference beside it (:mod:`llmseal.trust.pkcs11.ref`), and each worker logs in to
the token itself with the PIN from the environment variable ``pin_env`` — the PIN
is never part of the configuration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from llmseal.core.keys import Signer
from llmseal.errors import ConfigError, KeyManagementError
from llmseal.gateway.config.config import GatewayConfig
from llmseal.trust.keydir import KeyDirectory, locked_directory, write_atomic

__all__ = ["ensure_signing_key", "ensure_token_key", "prepare_data_dir", "prepare_signing_dir"]


def prepare_data_dir(config: GatewayConfig, *, at: datetime) -> GatewayConfig:
    """Create the data directory and key on first run; return the config with its key id."""
    if config.models:
        from llmseal.gateway.keys.keymap import prepare_model_keys

        prepare_model_keys(config.key_settings(), at=at)
        return config
    if config.pkcs11_module:
        key_id = ensure_token_key(config, at=at)
    elif config.pin_env:  # a token key made by `llmseal keys new --pkcs11-module`
        keydir = KeyDirectory(config.keys_dir)
        recorded = _read_state(Path(config.data_dir) / "gateway.json").get("key_id")
        token_key = config.key_id or recorded
        if not isinstance(token_key, str) or not keydir.token_ref_path(token_key).exists():
            raise ConfigError(
                f"--pin-env: no token key {token_key!r} in {keydir.path} (make one with "
                "`llmseal keys new --pkcs11-module`, or give --pkcs11-module/--token/--key-label)"
            )
        with _prepare_lock(Path(config.data_dir)):
            _record_key(Path(config.data_dir) / "gateway.json", token_key)
        key_id = token_key
    else:
        key_id = ensure_signing_key(Path(config.data_dir), config.key_id, at=at)
    return dataclasses.replace(config, key_id=key_id)


def prepare_signing_dir(data_dir: Path, key_id: str | None, *, at: datetime) -> Signer:
    """Like :func:`prepare_data_dir`, for the middleware: returns the signer itself."""
    key_id = ensure_signing_key(data_dir, key_id, at=at)
    return KeyDirectory(data_dir / "keys").signer(key_id)


def ensure_signing_key(root: Path, key_id: str | None, *, at: datetime) -> str:
    """The key id this data directory signs with, creating directory and key if needed.

    Serialized with a lock file: several workers (or vLLM API processes) starting
    at once on an empty directory must agree on one key, not create one each.
    """
    with _prepare_lock(root):
        return _ensure_key_locked(root, key_id, at)


def ensure_token_key(config: GatewayConfig, *, at: datetime) -> str:
    """Publish (or check) the PKCS#11 token key of ``config``; returns its key id."""
    from llmseal.trust.pkcs11.ref import adopt_token_key
    from llmseal.trust.pkcs11.token import pin_from_env

    root = Path(config.data_dir)
    key_id = config.key_id or config.pkcs11_key_label
    label = config.pkcs11_key_label or config.key_id
    if not (key_id and label and config.pkcs11_module and config.pkcs11_token and config.pin_env):
        raise ConfigError("a token key needs --pkcs11-module, --token, --key-label and --pin-env")
    with _prepare_lock(root):
        adopt_token_key(
            KeyDirectory(root / "keys"),
            key_id,
            module=config.pkcs11_module,
            token=config.pkcs11_token,
            key_label=label,
            pin=pin_from_env(config.pin_env),
            at=at,
        )
        _record_key(root / "gateway.json", key_id)
    return key_id


def _prepare_lock(root: Path) -> contextlib.AbstractContextManager[None]:
    return locked_directory(root, ConfigError, name=".prepare.lock")


def _record_key(state_path: Path, key_id: str) -> None:
    if _read_state(state_path).get("key_id") != key_id:
        write_atomic(state_path, json.dumps({"key_id": key_id}, indent=2).encode() + b"\n", 0o600)


def _ensure_key_locked(root: Path, key_id: str | None, at: datetime) -> str:
    state_path = root / "gateway.json"
    state = _read_state(state_path)
    recorded = state.get("key_id")
    keydir = KeyDirectory(root / "keys")
    chosen = key_id or recorded
    if chosen is None:
        chosen = _default_key_id(at)
        keydir.create(chosen, at=at)
    elif chosen not in keydir.load_keyset():
        if key_id is None:
            raise KeyManagementError(f"key {chosen!r} recorded in {state_path} is missing")
        keydir.create(chosen, at=at)  # an explicitly named new key
    if recorded != chosen:
        _record_key(state_path, chosen)
    return chosen


def _read_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return data


def _default_key_id(at: datetime) -> str:
    host = "".join(c if c.isalnum() or c in "-." else "-" for c in socket.gethostname())[:40]
    return f"llmseal-{host}-{at:%Y%m%d}-{secrets.token_hex(3)}"
