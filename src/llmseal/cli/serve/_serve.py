"""``llmseal serve``: the signing gateway in front of an OpenAI-compatible server."""

from __future__ import annotations

import ipaddress
from typing import Any

import click

from llmseal.cli.serve._config import ServeCommand, effective_config, settings_options
from llmseal.cli.serve._log import log_options, log_settings
from llmseal.gateway.config.config import GatewayConfig

__all__ = ["serve"]


@click.command(cls=ServeCommand)
@settings_options
@click.option(
    "--upstream",
    required=True,
    metavar="URL",
    help="The OpenAI-compatible server (vLLM, llama.cpp, Ollama).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--data-dir",
    default="llmseal-data",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Keys, receipt store, metrics (created on first run).",
)
@click.option(
    "--receipts",
    type=click.Choice(["always", "on-request"]),
    default="always",
    show_default=True,
    help="on-request: only when the client sends X-Receipt-Request: true.",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--key-id", help="Sign with this key of DATA_DIR/keys (created if new).")
@click.option("--issuer", help="Issuer claim put in every receipt (e.g. your API host name).")
@click.option(
    "--model-id", help="model_id for every receipt (default: the model the upstream reports)."
)
@click.option("--max-request-bytes", default=8 << 20, show_default=True, type=click.IntRange(1))
@click.option("--max-response-bytes", default=64 << 20, show_default=True, type=click.IntRange(1))
@click.option(
    "--upstream-timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0.001),
    help="Seconds: whole answer, or silence between stream chunks.",
)
@click.option(
    "--connect-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.001)
)
@click.option(
    "--durable",
    is_flag=True,
    help="fsync every receipt commit (survives power loss, not only crashes).",
)
@click.option(
    "--store",
    metavar="URL|DIR",
    help="The receipt store: postgresql://… (shared by replicas) or a directory"
    " (default DATA_DIR/receipts, SQLite).",
)
@click.option("--access-log", is_flag=True, help="Log every request (structured).")
@click.option("--pkcs11-module", metavar="SO", help="Sign with a key held in a PKCS#11 token.")
@click.option("--token", "pkcs11_token", metavar="LABEL", help="Label of the PKCS#11 token.")
@click.option("--key-label", metavar="LABEL", help="Label of the key on the token.")
@click.option(
    "--pin-env", metavar="VAR", help="Environment variable holding the token PIN (never a flag)."
)
@click.option(
    "--cert-chain",
    type=click.Path(dir_okay=False),
    metavar="CHAIN.pem",
    help="Certificate chain of the signing key (leaf first), sent beside each receipt.",
)
@click.option(
    "--llm-sign-cert",
    type=click.Path(dir_okay=False),
    metavar="CHAIN.pem",
    help="Also add llm_sign envelopes (leaf-first chain; with --llm-sign-key).",
)
@click.option(
    "--llm-sign-key",
    type=click.Path(dir_okay=False),
    metavar="KEY.pem",
    help="The 0600 private key of the --llm-sign-cert leaf.",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False, exists=True),
    metavar="MANIFEST.json",
    help="Put this commitment's weight_hash in every receipt (checked against the upstream).",
)
@click.option(
    "--weights-file",
    type=click.Path(dir_okay=False, exists=True),
    metavar="MODEL.gguf",
    help="The committed file, for chunk proofs (default: the file the upstream names).",
)
@click.option(
    "--inference",
    "inference",
    multiple=True,
    metavar="KEY=VALUE",
    help="Add to the signed `inference` claim (engine, engine_version, n_batch, threads...).",
)
@click.option(
    "--dashboard/--no-dashboard",
    default=None,
    help="The issuer dashboard at /dashboard (default: on only when --host is a loopback address).",
)
@click.option(
    "--dashboard-listen",
    metavar="HOST:PORT",
    help="Serve the dashboard on this separate address instead (e.g. 127.0.0.1:9090).",
)
@click.option(
    "--verify-page/--no-verify-page",
    default=True,
    show_default=True,
    help="The in-browser verifier at /verify.",
)
@click.option(
    "--forward-header",
    "forward_headers",
    multiple=True,
    metavar="NAME",
    help="Also forward this request header to the upstream (repeatable; see docs/gateway.md).",
)
@click.option(
    "--upstream-keys",
    metavar="KEYSET",
    help="Act as a hop: the upstream's receipts must verify with this key set (else 502).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@log_options
def serve(
    config: str | None,
    check: bool,
    model_key: tuple[Any, ...],
    unmapped: str,
    upstream: str,
    host: str,
    port: int,
    data_dir: str,
    receipts: str,
    workers: int,
    key_id: str | None,
    issuer: str | None,
    model_id: str | None,
    max_request_bytes: int,
    max_response_bytes: int,
    upstream_timeout: float,
    connect_timeout: float,
    durable: bool,
    store: str | None,
    access_log: bool,
    cert_chain: str | None,
    llm_sign_cert: str | None,
    llm_sign_key: str | None,
    pkcs11_module: str | None,
    pkcs11_token: str | None,
    key_label: str | None,
    pin_env: str | None,
    weights: str | None,
    weights_file: str | None,
    inference: tuple[str, ...],
    dashboard: bool | None,
    dashboard_listen: str | None,
    verify_page: bool,
    forward_headers: tuple[str, ...],
    upstream_keys: str | None,
    log_level: str,
    **log_opts: Any,
) -> None:
    """Run the signing gateway: every response leaves with a stored receipt.

    Every option can also come from the environment (LLMSEAL_<NAME>, shown below)
    or a TOML file (--config); the command line wins, then the environment.
    """
    settings = GatewayConfig(
        upstream=upstream,
        data_dir=data_dir,
        key_id=key_id,
        receipts=receipts,  # type: ignore[arg-type]
        issuer=issuer,
        model_id=model_id,
        max_request_bytes=max_request_bytes,
        max_response_bytes=max_response_bytes,
        upstream_timeout=upstream_timeout,
        connect_timeout=connect_timeout,
        durable=durable,
        store=store,
        access_log=access_log,
        cert_chain=cert_chain,
        llm_sign_cert=llm_sign_cert,
        llm_sign_key=llm_sign_key,
        pkcs11_module=pkcs11_module,
        pkcs11_token=pkcs11_token,
        pkcs11_key_label=key_label,
        pin_env=pin_env,
        weights=weights,
        weights_file=weights_file,
        inference=_inference(inference) if inference else None,
        verify_page=verify_page,
        dashboard=_dashboard_wanted(dashboard, dashboard_listen, host),
        dashboard_listen=dashboard_listen,
        forward_headers=forward_headers,
        upstream_keys=upstream_keys,
        models=model_key,
        unmapped=unmapped,  # type: ignore[arg-type]
        **log_settings(log_opts),
    )
    ctx = click.get_current_context()
    if check:
        from llmseal.gateway.config.preflight import preflight

        click.echo(effective_config(ctx, preflight(settings, workers=workers)), nl=False)
        return
    if llm_sign_cert and llm_sign_key:
        from llmseal.compat.llm_sign import LlmSignIssuer

        LlmSignIssuer.from_files(llm_sign_cert, llm_sign_key)  # fail now, not in every worker
    from llmseal.gateway.server import run

    def announce(prepared: GatewayConfig) -> None:
        keys = [f"key {prepared.key_id}"] if prepared.key_id else []
        click.echo(effective_config(ctx, keys), nl=False, err=True)

    run(settings, host=host, port=port, workers=workers, log_level=log_level, announce=announce)


def _inference(pairs: tuple[str, ...]) -> dict[str, str | int]:
    """``KEY=VALUE`` options as a claim; integers stay integers (n_batch=512)."""
    out: dict[str, str | int] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--inference")
        out[key] = int(value) if value.isdigit() else value
    return out


def _dashboard_wanted(flag: bool | None, listen: str | None, host: str) -> bool:
    """Recent receipt ids are capabilities: no dashboard on a public address unless asked."""
    if listen is not None:
        if flag is False:
            raise click.UsageError("--no-dashboard and --dashboard-listen contradict each other")
        return True
    if flag is not None:
        return flag
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
