"""``llmseal sign``: issue a receipt for a request/response pair."""

from __future__ import annotations

from typing import Any

import click

from llmseal.cli._common import json_text, parse_time, print_json, read_input, write_atomic
from llmseal.core.canonical import loads
from llmseal.core.keys import Signer
from llmseal.core.receipt import Receipt
from llmseal.core.sign import issue_receipt
from llmseal.core.verify import content_hash
from llmseal.errors import ConfigError, ContentError, Error, InputError
from llmseal.trust.keydir import KeyDirectory

__all__ = ["sign"]


@click.command()
@click.option(
    "--dir", "directory", required=True, type=click.Path(file_okay=False), help="Key directory."
)
@click.option("--key-id", required=True, help="The key to sign with (must be active).")
@click.option("--model-id", required=True, help="The model the receipt claims.")
@click.option(
    "--prompt", "prompt_path", required=True, metavar="REQUEST.json", help="The request body."
)
@click.option(
    "--output", "output_path", required=True, metavar="RESPONSE.json", help="The response body."
)
@click.option("--weight-hash", help="Optional SHA-256 of a weights snapshot (64 hex digits).")
@click.option(
    "--claim",
    "claims",
    multiple=True,
    metavar="NAME=JSON",
    help="Extension claim, e.g. --claim 'issuer=\"api.example\"' (repeatable).",
)
@click.option("--issued-at", metavar="TIME", help="issued_at (RFC 3339); default now.")
@click.option("--raw", is_flag=True, help="Hash the files' raw bytes instead of their JCS form.")
@click.option(
    "--pin-env", metavar="VAR", help="For a key held in a PKCS#11 token: the PIN's variable."
)
@click.option(
    "--out", "out_path", metavar="FILE", help="Write the receipt to FILE (atomically), not stdout."
)
def sign(out_path: str | None, **options: Any) -> None:
    """Sign a receipt for REQUEST.json -> RESPONSE.json; print it, or write it to --out FILE.

    On failure nothing is written: no FILE, and nothing on stdout (a shell
    redirection `> receipt.json` has already created an empty file, though).
    """
    nothing = f"nothing was written to {out_path}" if out_path else "nothing was written"
    try:
        receipt = _issue(**options)
    except click.ClickException as exc:
        raise InputError(f"{exc.format_message()} ({nothing})") from exc
    except Error as exc:
        raise InputError(f"{exc.diagnostics()} ({nothing})") from exc
    if out_path is None:
        print_json(receipt.to_dict())
    else:
        write_atomic(out_path, json_text(receipt.to_dict()))


def _issue(
    directory: str,
    key_id: str,
    model_id: str,
    prompt_path: str,
    output_path: str,
    weight_hash: str | None,
    claims: tuple[str, ...],
    issued_at: str | None,
    raw: bool,
    pin_env: str | None,
) -> Receipt:
    at = parse_time(issued_at, "--issued-at")
    prompt = read_input(prompt_path, "request")
    output = read_input(output_path, "response")
    try:
        prompt_hash = content_hash(prompt, response=False, raw=raw)
        output_hash = content_hash(output, response=True, raw=raw)
    except ContentError as exc:
        raise InputError(f"{exc} (use --raw to sign bytes that are not JSON)") from exc
    signer = _signer(KeyDirectory(directory), key_id, pin_env)
    try:
        receipt = issue_receipt(
            signer,
            model_id=model_id,
            prompt_hash=prompt_hash,
            output_hash=output_hash,
            at=at,
            claims=_parse_claims(claims),
            weight_hash=weight_hash,
        )
    finally:
        close = getattr(signer, "close", None)  # a token signer holds a logged-in session
        if close is not None:
            close()
    return receipt


def _signer(keydir: KeyDirectory, key_id: str, pin_env: str | None) -> Signer:
    if pin_env is None:
        return keydir.signer(key_id)
    try:  # python-pkcs11 is the optional [hsm] extra
        from llmseal.trust.pkcs11.ref import open_directory_signer
        from llmseal.trust.pkcs11.token import pin_from_env
    except ImportError as exc:
        raise ConfigError(
            f"PKCS#11 needs python-pkcs11: pip install 'llmseal[hsm]' ({exc})"
        ) from exc
    return open_directory_signer(keydir, key_id, pin_from_env(pin_env))


def _parse_claims(items: tuple[str, ...]) -> dict[str, object]:
    claims: dict[str, object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=JSON", param_hint="--claim")
        try:
            claims[name] = loads(value)
        except ContentError:
            claims[name] = value  # a bare word is taken as a string
    return claims
