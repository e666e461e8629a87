"""Gateway configuration: every setting of ``llmseal serve``, checked when made.

A :class:`GatewayConfig` is immutable and JSON-serializable: workers are separate
processes and receive it through one environment variable (:data:`ENV_VAR`). The
data directory it names, and the key there, are :mod:`.datadir`'s.

With ``models`` (one :class:`~llmseal.gateway.keys.modelkeys.ModelKey` per served model)
the gateway signs each model with its own key instead (:mod:`llmseal.gateway.keys.keymap`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from llmseal.core.keys import Signer
from llmseal.errors import ConfigError
from llmseal.gateway.http.headers import REQUEST_ALLOWED, check_forward_headers
from llmseal.gateway.keys.modelkeys import (
    ModelKey,
    Unmapped,
    check_model_keys,
    check_one_key_options,
)
from llmseal.store.pg import is_postgres_url
from llmseal.trust.keydir import KeyDirectory

if TYPE_CHECKING:
    from llmseal.compat.llm_sign import LlmSignIssuer
    from llmseal.gateway.keys.keymap import KeySettings

__all__ = ["ENV_VAR", "GatewayConfig", "listen_address"]

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
