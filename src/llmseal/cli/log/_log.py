"""``llmseal log``: create, serve and check a transparency log."""

from __future__ import annotations

import sys

import click

from llmseal.cli._common import out_console

__all__ = ["log"]

_DIR = click.option(
    "--dir", "directory", required=True, type=click.Path(file_okay=False), help="The log directory."
)


@click.group()
def log() -> None:
    """A transparency log of receipts (C2SP tlog-tiles, RFC 9162)."""


@log.command("init")
@_DIR
@click.option("--origin", required=True, help="The log's name, e.g. log.example.com/receipts.")
def init(directory: str, origin: str) -> None:
    """Create a log (its key 0600) and print its verifier key (vkey)."""
    from llmseal.log.service.service import init_log

    vkey = init_log(directory, origin)
    sys.stdout.write(vkey + "\n")


@log.command("serve")
@_DIR
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--keys",
    "keysets",
    multiple=True,
    required=True,
    metavar="KEYSET",
    help="Key set (file or URL) whose receipts the log admits; repeatable.",
)
@click.option("--batch-size", default=1024, show_default=True, type=click.IntRange(1, 65536))
@click.option(
    "--batch-age",
    default=50.0,
    show_default=True,
    type=click.FloatRange(0.1, 10_000),
    help="Milliseconds an entry waits for its batch to fill.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--witness-policy",
    type=click.Path(dir_okay=False),
    help="C2SP tlog-policy: have its witnesses (those with a URL) cosign our checkpoints.",
)
@click.option(
    "--witness-interval",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.05, 3600),
    help="Seconds between cosigning rounds (not per batch, as witnesses ask).",
)
def serve(
    directory: str,
    host: str,
    port: int,
    keysets: tuple[str, ...],
    batch_size: int,
    batch_age: float,
    log_level: str,
    witness_policy: str | None,
    witness_interval: float,
) -> None:
    """Serve the log: the tlog-tiles read API, POST /add, /proof/<id>, /lookup/<id>."""
    from llmseal.log.service.server import run

    run(
        directory,
        keysets,
        host=host,
        port=port,
        batch_size=batch_size,
        batch_age=batch_age / 1000,
        log_level=log_level,
        witness_policy=witness_policy,
        witness_interval=witness_interval,
    )


@log.command("check")
@_DIR
@click.option("--entries/--no-entries", default=True, show_default=True, help="Hash every entry.")
def check(directory: str, entries: bool) -> None:
    """Check every tile (and entry) against the published checkpoint, read-only."""
    from llmseal.log.service.server import check_directory

    size = check_directory(directory, entries=entries)
    out_console.print(f"ok  {size} entries, every tile consistent with the checkpoint")
