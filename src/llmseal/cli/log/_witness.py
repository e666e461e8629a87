"""``llmseal witness``: run a C2SP tlog-witness for one or more logs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llmseal.errors import ConfigError, LogFormatError
from llmseal.log.note.note import NoteVerifier
from llmseal.log.note.notekeys import SIG_COSIGNATURE, VerifierKey, load_verifier

__all__ = ["read_vkeys", "witness"]


@click.group()
def witness() -> None:
    """Cosign logs' checkpoints (C2SP tlog-witness), refusing forks and rollbacks."""


@witness.command("init")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False))
@click.option("--name", required=True, help="The witness's key name (e.g. witness.example.com).")
def init(directory: str, name: str) -> None:
    """Create DIR with a new witness key (0600) and print the witness vkey."""
    from llmseal.log.witness.witnessdir import init_witness_dir

    signer = init_witness_dir(directory, name)
    click.echo(signer.vkey())


@witness.command("serve")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7380, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--log-vkey",
    "log_vkeys",
    multiple=True,
    required=True,
    metavar="VKEY",
    help="A log's checkpoint key (vkey text, or a file of vkeys); its name is the origin.",
)
def serve(directory: str, host: str, port: int, log_vkeys: tuple[str, ...]) -> None:
    """Serve POST /add-checkpoint and the monitoring reads until interrupted."""
    from llmseal.log.witness.witness import Witness
    from llmseal.log.witness.witnessdir import load_witness_key
    from llmseal.log.witness.witnessserver import serve_witness, wall_clock
    from llmseal.log.witness.witnessstore import WitnessStore

    signer = load_witness_key(directory)
    keys = read_vkeys(log_vkeys, "--log-vkey")
    store = WitnessStore(directory)
    try:
        w = Witness.for_keys(signer, keys, store, wall_clock)

        def announce(url: str) -> None:
            # One line a supervisor (or a test, with --port 0) can read the URL from.
            sys.stderr.write(f"llmseal witness {signer.name} on {url} for "
                             f"{', '.join(sorted(w.logs))}\n{signer.vkey()}\n")  # fmt: skip
            sys.stderr.flush()

        serve_witness(w, host=host, port=port, announce=announce)
    finally:
        store.close()


def read_vkeys(values: tuple[str, ...], option: str) -> list[NoteVerifier]:
    """Checkpoint keys from vkey texts or files holding one vkey per line."""
    texts: list[str] = []
    for value in values:
        path = Path(value)
        if "+" not in value or path.is_file():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"{option}: cannot read {value}: {exc.strerror}") from exc
            texts += [line.strip() for line in lines if line.strip()]
        else:
            texts.append(value)
    keys: list[NoteVerifier] = []
    for text in texts:
        try:
            vkey = VerifierKey.parse(text)
            if vkey.sig_type == SIG_COSIGNATURE:
                raise LogFormatError(f"{vkey.name} is a witness key, not a log key")
            keys.append(load_verifier(vkey))
        except LogFormatError as exc:
            raise ConfigError(f"{option}: {exc}") from None
    if not keys:
        raise ConfigError(f"{option}: no keys given")
    return keys
