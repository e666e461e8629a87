"""Gateway configuration and the data directory it owns.

``DATA_DIR`` layout::

    DATA_DIR/               0700
      keys/                 a key directory (keys.json + 0600 private keys)
      gateway.json          which key this gateway signs with (no secrets)
      receipts/             the receipt store: one SQLite shard per worker (WAL), unless
                            ``--store postgresql://…`` puts it in PostgreSQL (shared by replicas)
      metrics/              per-worker counters

On first run :func:`prepare_data_dir` creates it all with a fresh Ed25519 key;
later runs reuse the key recorded in ``gateway.json``. Workers receive the
config through one environment variable (they are separate processes).

With a PKCS#11 token (``pkcs11_module``/``pkcs11_token``/``pkcs11_key_label``) no
key file is made: the token's key is published in ``keys/keys.json`` with a
reference beside it (:mod:`llmseal.trust.pkcs11.ref`), and each worker logs in to
the token itself with the PIN from the environment variable ``pin_env`` — the PIN
is never part of the configuration.

With ``models`` (one :class:`~llmseal.gateway.keys.modelkeys.ModelKey` per served model)
the gateway signs each model with its own key instead (:mod:`llmseal.gateway.keys.keymap`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from llmseal.core.keys import Signer
from llmseal.errors import ConfigError, KeyManagementError
from llmseal.gateway.http.headers import REQUEST_ALLOWED, check_forward_headers
from llmseal.gateway.keys.modelkeys import (
    ModelKey,
    Unmapped,
    check_model_keys,
    check_one_key_options,
)
from llmseal.store.pg import is_postgres_url
from llmseal.trust.keydir import KeyDirectory, locked_directory, write_atomic

if TYPE_CHECKING:
    from llmseal.compat.llm_sign import LlmSignIssuer
    from llmseal.gateway.keys.keymap import KeySettings

__all__ = [
    "ENV_VAR",
    "GatewayConfig",
    "ensure_signing_key",
    "ensure_token_key",
    "listen_address",
    "prepare_data_dir",
    "prepare_signing_dir",
]

ENV_VAR = "LLMSEAL_GATEWAY_CONFIG"
ReceiptMode = Literal["always", "on-request"]


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> ``(host, port)``; ConfigError otherwise."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


@dataclass(frozen=True)
class GatewayConfig:
    """Everything a gateway worker needs; immutable and JSON-serializable."""

    upstream: str
    data_dir: str
    key_id: str | None = None
    receipts: ReceiptMode = "always"
    issuer: str | None = None
    model_id: str | None = None
    max_request_bytes: int = 8 << 20
    max_response_bytes: int = 64 << 20
    upstream_timeout: float = 300.0
    connect_timeout: float = 10.0
    durable: bool = False
    store: str | None = None  # receipts: a directory or postgresql://… (default DATA_DIR/receipts)
    access_log: bool = False
    cert_chain: str | None = None  # the signing key's certificate chain, sent as receipt_evidence
    llm_sign_cert: str | None = None  # leaf-first PEM chain: adds llm_sign envelopes (compat)
    llm_sign_key: str | None = None
    pkcs11_module: str | None = None
    pkcs11_token: str | None = None
    pkcs11_key_label: str | None = None
    pin_env: str | None = None
    verify_page: bool = True  # GET /verify: the in-browser verifier (static, public)
    dashboard: bool = False  # the issuer dashboard and its recent-receipt rings
    dashboard_listen: str | None = None  # "HOST:PORT": the dashboard there, not on the main port
    forward_headers: tuple[str, ...] = ()  # request fields forwarded beyond the allow-list
    log_dir: str | None = None  # the embedded transparency log (``--log DIR`` or postgresql://)
    log_url: str | None = None  # a standalone ``llmseal log serve`` (``--log-url``)
    log_origin: str | None = None  # origin of a log ``--log DIR`` creates
    log_inline: bool = False  # wait for the proof, send it as receipt_evidence.log
    log_timeout: float = 10.0
    log_batch_age: float = 0.05
    log_witness_policy: str | None = None  # witnesses cosign the embedded log (tlog-policy)
    log_witness_interval: float = 10.0  # seconds between cosigning rounds
    weights: str | None = None  # a weights manifest: weight_hash in every receipt
    weights_file: str | None = None  # the committed GGUF, whose chunks the gateway serves
    inference: dict[str, Any] | None = None  # the `inference` claim (engine, n_batch, threads)
    upstream_keys: str | None = None  # a hop: the upstream's receipts must verify with these
    models: tuple[ModelKey, ...] = ()  # one key per served model (keymap.py), else one key
    unmapped: Unmapped = "refuse"  # a model without a key: refused, or passed unsigned

    def __post_init__(self) -> None:
        try:
            extra = check_forward_headers(self.forward_headers)
        except ValueError as exc:
            raise ConfigError(f"--forward-header: {exc}") from None
        # JSON (the workers' environment) turns the tuple into a list: keep one form.
        object.__setattr__(self, "forward_headers", tuple(sorted(n.decode() for n in extra)))
        if (self.llm_sign_cert is None) != (self.llm_sign_key is None):
            raise ConfigError("--llm-sign-cert and --llm-sign-key go together")
        if self.pkcs11_module or self.pkcs11_token or self.pkcs11_key_label:
            if not (self.pkcs11_module and self.pkcs11_token and self.pin_env):
                raise ConfigError("a token key needs --pkcs11-module, --token and --pin-env")
            if not (self.pkcs11_key_label or self.key_id or self.models):
                raise ConfigError("a token key needs --key-label (or --key-id)")
        if not self.upstream.startswith(("http://", "https://")):
            raise ConfigError(f"--upstream must be an http(s) URL, not {self.upstream!r}")
        if self.receipts not in ("always", "on-request"):
            raise ConfigError("--receipts must be 'always' or 'on-request'")
        if self.max_request_bytes <= 0 or self.max_response_bytes <= 0:
            raise ConfigError("body size limits must be positive")
        if self.upstream_timeout <= 0 or self.connect_timeout <= 0:
            raise ConfigError("timeouts must be positive")
        if self.dashboard_listen is not None:
            if not self.dashboard:
                raise ConfigError("--dashboard-listen needs the dashboard enabled")
            listen_address(self.dashboard_listen)
        self._check_log()
        self._check_models()

    def _check_models(self) -> None:
        # JSON (the workers' environment) turns each ModelKey into an object.
        models = tuple(ModelKey.from_dict(m) for m in self.models)
        object.__setattr__(self, "models", models)
        if self.unmapped not in ("refuse", "unsigned"):
            raise ConfigError("--unmapped must be 'refuse' or 'unsigned'")
        if not models:
            return
        check_model_keys(models)
        check_one_key_options(
            key_id=self.key_id, cert_chain=self.cert_chain, key_label=self.pkcs11_key_label,
            model_id=self.model_id, weights=self.weights,
        )  # fmt: skip

    @property
    def request_fields(self) -> frozenset[bytes]:
        """Request header fields forwarded to the upstream (llmseal.gateway.http.headers)."""
        return REQUEST_ALLOWED | {name.encode() for name in self.forward_headers}

    def _check_log(self) -> None:
        if self.log_dir is not None and self.log_url is not None:
            raise ConfigError("give --log DIR (embedded) or --log-url URL, not both")
        if self.log_inline and self.log_dir is None and self.log_url is None:
            raise ConfigError("--log-inline needs --log DIR or --log-url URL")
        if self.log_url is not None and not self.log_url.startswith(("http://", "https://")):
            raise ConfigError(f"--log-url must be an http(s) URL, not {self.log_url!r}")
        if self.log_witness_policy is not None and self.log_dir is None:
            raise ConfigError("--log-witness-policy needs --log DIR (the log it cosigns)")
        if self.log_witness_policy is not None and is_postgres_url(self.log_dir):
            raise ConfigError("--log-witness-policy works with --log DIR, not PostgreSQL (yet)")
        if self.log_timeout <= 0 or self.log_batch_age <= 0:
            raise ConfigError("log timeouts must be positive")

    @property
    def store_location(self) -> str:
        """Where receipts are stored: ``--store``, else ``DATA_DIR/receipts``."""
        return self.store or str(Path(self.data_dir) / "receipts")

    @property
    def keys_dir(self) -> Path:
        return Path(self.data_dir) / "keys"

    def key_settings(self) -> KeySettings:
        """The per-model key settings (:mod:`llmseal.gateway.keys.keymap`)."""
        from llmseal.gateway.keys.keymap import KeySettings

        return KeySettings(
            Path(self.data_dir), self.models, self.unmapped,
            self.pkcs11_module, self.pkcs11_token, self.pin_env,
        )  # fmt: skip

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls, value: str | None = None) -> GatewayConfig:
        raw = value if value is not None else os.environ.get(ENV_VAR)
        if not raw:
            raise ConfigError(f"{ENV_VAR} is not set")
        try:
            data: dict[str, Any] = json.loads(raw)
            return cls(**data)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{ENV_VAR} is not a gateway configuration: {exc}") from exc

    def llm_sign_issuer(self) -> LlmSignIssuer | None:
        """The llm_sign envelope issuer (compat), when both files are configured."""
        if self.llm_sign_cert is None or self.llm_sign_key is None:
            return None
        from llmseal.compat.llm_sign import LlmSignIssuer

        return LlmSignIssuer.from_files(self.llm_sign_cert, self.llm_sign_key)

    def certificate_evidence(self, signer: Signer) -> dict[str, Any] | None:
        """``{"x5c": [...]}`` for a certificate key, after checking the leaf is that key."""
        if self.cert_chain is None:
            return None
        from llmseal.gateway.keys.keymap import chain_evidence

        return chain_evidence(self.cert_chain, signer, "--cert-chain")

    def load_signer(self) -> Signer:
        """The signer recorded for this gateway."""
        if self.key_id is None:
            raise ConfigError("no signing key configured (run prepare_data_dir first)")
        if self.pin_env is not None:  # the key is in a PKCS#11 token
            from llmseal.trust.pkcs11.ref import open_directory_signer
            from llmseal.trust.pkcs11.token import pin_from_env

            pin = pin_from_env(self.pin_env)
            return open_directory_signer(KeyDirectory(self.keys_dir), self.key_id, pin)
        return KeyDirectory(self.keys_dir).signer(self.key_id)


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
