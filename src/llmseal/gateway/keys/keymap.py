"""The keys a gateway signs with: one for everything, or one per served model.

docs/spec/receipt.md §7: with a mapping, the key (and the ``x5c`` chain beside
the receipt) is chosen by the model the upstream *served* — the answer's own
``model`` — and by the requested model only when the answer names none. A model
without a key is refused (:class:`~llmseal.errors.UnmappedModelError`) or passed
unsigned, as configured; it is never signed with another model's key.

:func:`prepare_model_keys` makes the key directory match a mapping (creating,
importing or adopting keys); :func:`open_keymap` opens the signers in a worker
(``serve --check`` opens them without changing anything: :mod:`llmseal.gateway.config.preflight`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson

from llmseal.core.keys import PublicKey, Signer
from llmseal.errors import ConfigError, KeyManagementError, UnmappedModelError
from llmseal.gateway.keys.modelkeys import (
    ModelKey,
    Unmapped,
    check_model_keys,
    parse_model_key,
    served_model,
)
from llmseal.gateway.sealing._protocol import UpstreamProtocolError
from llmseal.trust.keydir import KeyDirectory, load_private_key, locked_directory


@dataclass(frozen=True)
class KeySettings:
    """What the per-model keys need from a gateway's (or the middleware's) settings."""

    data_dir: Path
    models: tuple[ModelKey, ...]
    unmapped: Unmapped = "refuse"
    pkcs11_module: str | None = None  # the token of every key_label
    pkcs11_token: str | None = None
    pin_env: str | None = None

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"


__all__ = [
    "KeyMap",
    "KeySettings",
    "SigningKey",
    "StreamKey",
    "chain_evidence",
    "directory_signer",
    "keymap_from_env",
    "open_keymap",
    "prepare_model_keys",
    "token_settings",
]


@dataclass(frozen=True)
class SigningKey:
    """One signer with what travels beside its receipts."""

    signer: Signer
    evidence: dict[str, Any] | None = None  # {"x5c": [...]} of a certificate key
    model_id: str | None = None  # the receipts' model_id, when not the served model's name
    evidence_json: bytes | None = field(init=False, repr=False)  # serialized once

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "evidence_json", orjson.dumps(self.evidence) if self.evidence else None
        )


class KeyMap:
    """Which key signs an answer; ``single`` ignores the model (today's behaviour)."""

    def __init__(
        self,
        *,
        single: SigningKey | None = None,
        models: Mapping[str, SigningKey] | None = None,
        unmapped: Unmapped = "refuse",
    ) -> None:
        if (single is None) == (models is None):
            raise ConfigError("a key map has one key or a per-model mapping")
        if models is not None and not models:
            raise ConfigError("a per-model mapping needs at least one model")
        self.single = single
        self.models = dict(models or {})
        self.unmapped = unmapped

    @property
    def default(self) -> SigningKey:
        """The single key, or the first mapped model's (for /healthz and the dashboard)."""
        return self.single or next(iter(self.models.values()))

    def admits(self, requested: str | None) -> bool:
        """False for a request to refuse before it is forwarded: a model asked for by
        name that has no key, at a gateway that refuses unmapped models."""
        if self.single is not None or self.unmapped == "unsigned" or requested is None:
            return True
        return requested in self.models

    def choose(self, served: Any, requested: str | None) -> tuple[str | None, SigningKey | None]:
        """``(model, key)`` for an answer; key None means deliver unsigned.

        ``served`` is what the answer names (None when it names nothing: then the
        requested model counts). Raises UnmappedModelError when refusing.
        """
        if self.single is not None:
            return None, self.single
        model = served if served is not None else requested
        key = self.models.get(model) if isinstance(model, str) else None
        if key is not None:
            return model, key
        if self.unmapped == "unsigned":
            return None, None
        where = "served" if served is not None else "requested"
        raise UnmappedModelError(f"model {model!r} ({where}) has no signing key here", model)


def keymap_from_env(
    directory: Path,
    given: tuple[ModelKey, ...] | None,
    unmapped: str | None,
    env: Mapping[str, str],
    *,
    at: datetime,
) -> KeyMap | None:
    """The middleware's per-model keys, from ``model_keys=`` or ``LLMSEAL_MODEL_KEY``
    (space-separated ``--model-key`` forms), prepared and opened; None: one key."""
    models = given or tuple(parse_model_key(t) for t in env.get("LLMSEAL_MODEL_KEY", "").split())
    rule = unmapped or env.get("LLMSEAL_UNMAPPED", "refuse")
    if rule not in ("refuse", "unsigned"):
        raise ConfigError(f"LLMSEAL_UNMAPPED must be refuse or unsigned, not {rule}")
    if not models:
        return None
    check_model_keys(models)
    # The same names as `llmseal serve`'s variables for its token settings.
    settings = KeySettings(
        directory, models, cast(Unmapped, rule), env.get("LLMSEAL_PKCS11_MODULE"),
        env.get("LLMSEAL_PKCS11_TOKEN"), env.get("LLMSEAL_PIN_ENV"),
    )  # fmt: skip
    prepare_model_keys(settings, at=at)
    return open_keymap(settings)


def chain_evidence(path: str, signer: Signer, what: str) -> dict[str, Any]:
    """``{"x5c": [...]}`` from a leaf-first PEM chain, after checking the leaf is ``signer``."""
    from llmseal.trust.x509.pem import chain_to_pem, parse_pem_bundle

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from exc
    chain = parse_pem_bundle(data, what)
    leaf_key = PublicKey.from_cryptography(chain[0].public_key())
    # Never send a chain that does not certify the signing key: verifiers would
    # (rightly) refuse every receipt, and it would misattribute them.
    if leaf_key.raw != signer.public_key().raw:
        raise ConfigError(f"{what}: the leaf certificate is not for the signing key")
    from llmseal.trust.x509.profile import spki_key_id

    # A verifier recomputes the key id from the leaf (docs/x509.md): any other
    # spelling makes every receipt fail with key_mismatch.
    expected = spki_key_id(chain[0].public_key())
    if signer.key_id != expected:
        raise ConfigError(f"{what}: a certificate key's key id must be {expected}")
    return {"x5c": chain_to_pem(chain)}


def prepare_model_keys(config: KeySettings, *, at: datetime) -> None:
    """Create, import or adopt each mapped key in ``DATA_DIR/keys``.

    Under the data directory's prepare lock (config/datadir.py): workers or API processes
    starting at once agree on one key per model.
    """
    with locked_directory(config.data_dir, ConfigError, name=".prepare.lock"):
        _prepare_locked(config, at)


def _prepare_locked(config: KeySettings, at: datetime) -> None:
    keydir = KeyDirectory(config.keys_dir)
    for key in config.models:
        published = keydir.load_keyset().resolve(key.key_id)
        if key.key_label is not None:
            from llmseal.trust.pkcs11.ref import adopt_token_key
            from llmseal.trust.pkcs11.token import pin_from_env

            module, token, pin_env = token_settings(config, key)
            adopt_token_key(
                keydir, key.key_id, module=module, token=token, key_label=key.key_label,
                pin=pin_from_env(pin_env), at=at,
            )  # fmt: skip
        elif key.key_file is not None:
            private = load_private_key(Path(key.key_file), key.key_id)
            if published is None:
                from llmseal.trust.keydir import read_private_key

                keydir.import_key(key.key_id, read_private_key(Path(key.key_file)), at=at)
            elif published.public_key != private.public_key():
                raise ConfigError(
                    f"models.{key.model}: key_file {key.key_file} is not the published"
                    f" key {key.key_id!r}"
                )
        elif published is None:
            if key.cert_chain is not None:  # a fresh key could never match the chain
                raise KeyManagementError(
                    f"models.{key.model}: no key {key.key_id!r} in {keydir.path} for its"
                    " cert_chain (issue it with `llmseal ca issue --keydir`)"
                )
            keydir.create(key.key_id, at=at)


def open_keymap(config: KeySettings) -> KeyMap:
    """Every mapped model's signer and evidence, from the prepared key directory."""
    keydir = KeyDirectory(config.keys_dir)
    models = {}
    for key in config.models:
        signer = directory_signer(keydir, key.key_id, config.pin_env, key.model)
        evidence = None
        if key.cert_chain is not None:
            evidence = chain_evidence(key.cert_chain, signer, f"models.{key.model}.cert_chain")
        models[key.model] = SigningKey(signer, evidence, key.model_id)
    return KeyMap(models=models, unmapped=config.unmapped)


def directory_signer(keydir: KeyDirectory, key_id: str, pin_env: str | None, model: str) -> Signer:
    """The signer of a published key: its PEM file, or its token (reference file)."""
    if keydir.token_ref_path(key_id).exists():
        if pin_env is None:
            raise ConfigError(f"models.{model}: key {key_id!r} is in a token: give --pin-env")
        from llmseal.trust.pkcs11.ref import open_directory_signer
        from llmseal.trust.pkcs11.token import pin_from_env

        return open_directory_signer(keydir, key_id, pin_from_env(pin_env))
    return keydir.signer(key_id)


def token_settings(config: KeySettings, key: ModelKey) -> tuple[str, str, str]:
    if not (config.pkcs11_module and config.pkcs11_token and config.pin_env):
        raise ConfigError(
            f"models.{key.model}: key_label needs --pkcs11-module, --token and --pin-env"
        )
    return config.pkcs11_module, config.pkcs11_token, config.pin_env


class StreamKey:
    """The key of one stream, fixed by the first event that names a model.

    Later events must name the same model (a mapped gateway chose its key by it),
    and a stream whose events name none falls back to the requested model at the end.
    """

    def __init__(self, keys: KeyMap, endpoint: str, requested: str | None) -> None:
        self._keys = keys
        self._endpoint = endpoint
        self._requested = requested
        self.served: Any = None
        self._choice: tuple[str | None, SigningKey | None] | None = None

    def see(self, event: Any) -> None:
        """Look at one decoded event; raises UnmappedModelError when refusing its model."""
        found = served_model(self._endpoint, event)
        if found is None:
            return
        if self._choice is None:
            self.served = found
            self._choice = self._keys.choose(found, self._requested)
        elif found != self.served and self._keys.single is None:
            raise UpstreamProtocolError(
                f"upstream stream changed model from {self.served!r} to {found!r}"
            )

    def final(self) -> tuple[str | None, SigningKey | None]:
        if self._choice is None:
            self._choice = self._keys.choose(None, self._requested)
        return self._choice
