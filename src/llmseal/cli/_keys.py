"""``llmseal keys``: create, revoke, list and publish the keys of a key directory."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from rich.table import Table
from rich.text import Text

from llmseal.cli._common import out_console, parse_time, print_json, print_table
from llmseal.core import _time
from llmseal.errors import ConfigError, KeyManagementError
from llmseal.trust.dns.record import dns_name_for_key_id, zone_line
from llmseal.trust.keydir import KeyDirectory

__all__ = ["keys"]

_DIR = click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False),
    help="Key directory (keys.json + 0600 private key files).",
)


@click.group()
def keys() -> None:
    """Manage signing keys and the published key set."""


@keys.command("new")
@click.argument("key_id")
@_DIR
@click.option(
    "--algorithm",
    type=click.Choice(["ed25519", "ecdsa-p256"]),
    default="ed25519",
    show_default=True,
)
@click.option("--at", "at", metavar="TIME", help="created_at (RFC 3339); default now.")
@click.option("--pkcs11-module", metavar="SO", help="Generate the key in a PKCS#11 token instead.")
@click.option("--token", "token", metavar="LABEL", help="Label of the PKCS#11 token.")
@click.option("--pin-env", metavar="VAR", help="Environment variable holding the token PIN.")
@click.option(
    "--key-label", metavar="LABEL", help="Label of the key on the token (default KEY_ID)."
)
def new(
    key_id: str,
    directory: str,
    algorithm: str,
    at: str | None,
    pkcs11_module: str | None,
    token: str | None,
    pin_env: str | None,
    key_label: str | None,
) -> None:
    """Create KEY_ID: private key DIR/<name>.pem (0600), public key into DIR/keys.json.

    With --pkcs11-module the private key is generated in the token and never
    leaves it; DIR gets the public key and a reference (module, token, label).
    """
    keydir = KeyDirectory(directory)
    when = parse_time(at, "--at")
    if pkcs11_module or token or pin_env or key_label:
        if not (pkcs11_module and token and pin_env):
            raise click.UsageError("a token key needs --pkcs11-module, --token and --pin-env")
        _new_token_key(keydir, key_id, algorithm, when, pkcs11_module, token, pin_env, key_label)
        return
    entry = keydir.create(key_id, at=when, algorithm=algorithm)  # type: ignore[arg-type]
    out_console.print(
        Text.assemble(
            "created ",
            (entry.key_id, "bold"),
            f" ({entry.public_key.algorithm})\n  private key  {keydir.private_key_path(key_id)}",
            f"\n  key set      {keydir.keyset_path}",
        )
    )


def _new_token_key(
    keydir: KeyDirectory,
    key_id: str,
    algorithm: str,
    at: datetime,
    module: str,
    token: str,
    pin_env: str,
    key_label: str | None,
) -> None:
    try:  # python-pkcs11 is the optional [hsm] extra
        from llmseal.trust.pkcs11.ref import create_token_key
        from llmseal.trust.pkcs11.token import pin_from_env
    except ImportError as exc:
        raise ConfigError(
            f"PKCS#11 needs python-pkcs11: pip install 'llmseal[hsm]' ({exc})"
        ) from exc
    entry, ref = create_token_key(
        keydir,
        key_id,
        module=module,
        token=token,
        pin=pin_from_env(pin_env),
        at=at,
        key_label=key_label,
        algorithm=algorithm,  # type: ignore[arg-type]
    )
    out_console.print(
        Text.assemble(
            "created ",
            (entry.key_id, "bold"),
            f" ({entry.public_key.algorithm}) in token {ref.token!r} as {ref.key_label!r}",
            f"\n  reference    {keydir.token_ref_path(key_id)}",
            f"\n  key set      {keydir.keyset_path}",
        )
    )


@keys.command("revoke")
@click.argument("key_id")
@_DIR
@click.option("--at", "at", metavar="TIME", help="Revocation time (RFC 3339); default now.")
def revoke(key_id: str, directory: str, at: str | None) -> None:
    """Revoke KEY_ID from TIME on: receipts it issued before TIME stay valid."""
    entry = KeyDirectory(directory).revoke(key_id, at=parse_time(at, "--at"))
    assert entry.rotated_at is not None
    out_console.print(
        Text.assemble(
            "revoked ", (entry.key_id, "bold"), f" as of {_time.format_utc(entry.rotated_at)}"
        )
    )


@keys.command("list")
@_DIR
@click.option("--json", "as_json", is_flag=True, help="Print the key set JSON.")
def list_keys(directory: str, as_json: bool) -> None:
    """List the keys of a key directory."""
    keyset = KeyDirectory(directory).load_keyset()
    if as_json:
        print_json(keyset.to_dict())
        return
    table = Table("key_id", "algorithm", "status", "created_at", "rotated_at", "public key")
    for entry in keyset:
        table.add_row(
            Text(entry.key_id),
            entry.public_key.algorithm,
            entry.status,
            _time.format_utc(entry.created_at) if entry.created_at else "-",
            _time.format_utc(entry.rotated_at) if entry.rotated_at else "-",
            entry.public_key.b64(),
        )
    print_table(table)


@keys.command("dns-record")
@click.argument("key_id")
@_DIR
@click.option(
    "--name",
    metavar="NAME",
    help="DNS name of the record; default from KEY_ID: DOMAIN/MODEL/PERIOD -> "
    "MODEL.PERIOD.models.DOMAIN.",
)
@click.option("--ttl", type=click.IntRange(0, 2**31 - 1), help="TTL of the zone line.")
def dns_record(key_id: str, directory: str, name: str | None, ttl: int | None) -> None:
    """Print the zone-file TXT line that publishes KEY_ID (v=llmsig1; revoked keys get r=)."""
    entry = KeyDirectory(directory).load_keyset().resolve(key_id)
    if entry is None:
        raise KeyManagementError(f"no key {key_id!r} in {KeyDirectory(directory).keyset_path}")
    name = name or dns_name_for_key_id(key_id)
    if name is None:
        raise click.BadParameter(
            f"key id {key_id!r} has no DNS name by the rule DOMAIN/MODEL/PERIOD; give one",
            param_hint="--name",
        )
    sys.stdout.write(zone_line(name, entry, ttl=ttl) + "\n")
