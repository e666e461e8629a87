"""``llmseal serve --check``: open every key and file a configuration names, change nothing.

Keys load (a token key logs in with its PIN), certificate chains parse and certify
their keys, a model mapping is consistent, the llm_sign pair and a weights
manifest or upstream key set file can be read. Nothing is created, and neither the
upstream, the store nor a log is contacted: those are met at the start. Returns
one line per key, as notes for the printed configuration; raises the first problem.
"""

from __future__ import annotations

import json
from pathlib import Path

from llmseal.core.keys import Signer
from llmseal.errors import ConfigError, KeyManagementError
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.keys.keymap import (
    KeySettings,
    chain_evidence,
    directory_signer,
    token_settings,
)
from llmseal.gateway.keys.modelkeys import ModelKey
from llmseal.trust.keydir import KeyDirectory, load_private_key

__all__ = ["preflight"]


def preflight(config: GatewayConfig, *, workers: int = 1) -> list[str]:
    """Validate ``config`` read-only; notes such as ``key smollm2: key directory ...``."""
    from llmseal.gateway.server import check_workers

    check_workers(config, workers)
    if config.models:
        settings = config.key_settings()
        notes = []
        for key in config.models:
            notes.append(f"model {key.model}: key {key.key_id} ({_model_key(settings, key)})")
            if key.dns:
                from llmseal.trust.dns.record import dns_name_for_key_id

                notes.append(f"model {key.model}: DNS name {dns_name_for_key_id(key.key_id)}")
    else:
        notes = [_single_key(config)]
    if config.llm_sign_issuer() is not None:
        notes.append(f"llm_sign: {config.llm_sign_cert}")
    if config.weights is not None:
        from llmseal.weights.manifest import WeightManifest

        try:
            manifest = WeightManifest.from_json(Path(config.weights).read_bytes())
        except OSError as exc:
            raise ConfigError(f"cannot read --weights {config.weights}: {exc.strerror}") from exc
        notes.append(f"weights: {manifest.weight_hash}")
    if config.upstream_keys is not None and "://" not in config.upstream_keys:
        from llmseal.trust.keysource import load_keyset

        load_keyset(config.upstream_keys)
    return notes


def _model_key(config: KeySettings, key: ModelKey) -> str:
    """Open one mapped key and check its chain, changing nothing; says where it is."""
    keydir = KeyDirectory(config.keys_dir)
    signer: Signer | None
    if key.key_label is not None:
        from llmseal.trust.pkcs11.token import open_pkcs11_signer, pin_from_env

        module, token, pin_env = token_settings(config, key)
        signer = open_pkcs11_signer(module, token, key.key_label, pin_from_env(pin_env), key.key_id)
        where = f"token {token!r}, label {key.key_label!r}"
    elif key.key_file is not None:
        signer = load_private_key(Path(key.key_file), key.key_id)
        published = keydir.load_keyset().resolve(key.key_id)
        if published is not None and published.public_key != signer.public_key():
            raise ConfigError(
                f"models.{key.model}: key_file {key.key_file} is not the published"
                f" key {key.key_id!r}"
            )
        where = f"file {key.key_file}"
    elif keydir.load_keyset().resolve(key.key_id) is not None:
        signer = directory_signer(keydir, key.key_id, config.pin_env, key.model)
        where = f"key directory {keydir.path}"
    else:
        signer, where = None, "new: created at the first start"
    if key.cert_chain is not None:
        if signer is None:
            raise KeyManagementError(
                f"models.{key.model}: no key {key.key_id!r} in {keydir.path} for its cert_chain"
            )
        chain_evidence(key.cert_chain, signer, f"models.{key.model}.cert_chain")
    close = getattr(signer, "close", None)
    if close is not None:  # a token session: --check must not keep it
        close()
    return where


def _single_key(config: GatewayConfig) -> str:
    keydir = KeyDirectory(config.keys_dir)
    signer: Signer | None = None
    if config.pkcs11_module is not None:
        from llmseal.trust.pkcs11.token import open_pkcs11_signer, pin_from_env

        assert config.pkcs11_token is not None and config.pin_env is not None  # GatewayConfig
        label = config.pkcs11_key_label or config.key_id
        key_id = config.key_id or label
        assert label is not None and key_id is not None
        pin = pin_from_env(config.pin_env)
        signer = open_pkcs11_signer(config.pkcs11_module, config.pkcs11_token, label, pin, key_id)
        where = f"token {config.pkcs11_token!r}, label {label!r}"
    else:
        key_id = config.key_id or _recorded(Path(config.data_dir) / "gateway.json")
        if key_id is not None and keydir.load_keyset().resolve(key_id) is not None:
            if config.pin_env is not None:
                from llmseal.trust.pkcs11.ref import open_directory_signer
                from llmseal.trust.pkcs11.token import pin_from_env

                signer = open_directory_signer(keydir, key_id, pin_from_env(config.pin_env))
            else:
                signer = keydir.signer(key_id)
            where = f"key directory {keydir.path}"
        elif config.pin_env is not None:
            raise ConfigError(f"--pin-env: no token key {key_id!r} in {keydir.path}")
        else:
            where = "new: created at the first start"
    if config.cert_chain is not None:
        if signer is None:
            raise KeyManagementError(f"no key {key_id!r} in {keydir.path} for --cert-chain")
        chain_evidence(config.cert_chain, signer, "--cert-chain")
    close = getattr(signer, "close", None)
    if close is not None:  # a token session
        close()
    if key_id is None:
        return "key: a new Ed25519 key, created at the first start"
    return f"key {key_id} ({where})"


def _recorded(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is unreadable: {exc}") from exc
    found = data.get("key_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None
