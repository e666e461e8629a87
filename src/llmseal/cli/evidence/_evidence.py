"""``llmseal evidence``: what the verifying client recorded."""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from llmseal.cli._common import out_console, print_json, print_table, terminal_safe
from llmseal.errors import InputError
from llmseal.store.evidence import EvidenceStore
from llmseal.store.evidencerecord import EvidenceRecord

__all__ = ["evidence"]

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, exists=True),
    help="The client's data_dir (its evidence, or its samples with --store).",
)
_STORE = click.option(
    "--store",
    metavar="URL",
    help="The evidence store the client was given (postgresql://…), shared by callers.",
)


def _open(data_dir: str | None, store: str | None) -> EvidenceStore:
    if store is not None:
        from llmseal.store.pg import is_postgres_url
        from llmseal.store.pgevidence import PostgresEvidenceStore

        if not is_postgres_url(store):
            raise InputError(f"--store must be a postgresql:// URL, not {store!r}")
        return PostgresEvidenceStore(store, data_dir)
    if data_dir is None:
        raise InputError("give --data-dir (or --store URL)")
    return EvidenceStore(data_dir)


@click.group()
def evidence() -> None:
    """List, show, export and prove (transparency log) verified exchanges."""


def _add_prove() -> None:
    from llmseal.cli.evidence._prove import prove

    evidence.add_command(prove)


_add_prove()


@evidence.command("list")
@_DATA_DIR
@_STORE
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per receipt.")
@click.option("--limit", type=click.IntRange(1), help="At most this many records.")
def list_evidence(
    data_dir: str | None, store: str | None, as_json: bool, limit: int | None
) -> None:
    """One line per checked receipt: status, issuer, model, time."""
    records = list(_open(data_dir, store).list(limit=limit))
    if as_json:
        print_json([
            {k: v for k, v in r.to_dict().items() if k != "receipt"} for r in records
        ])  # fmt: skip
        return
    table = Table("receipt_id", "status", "issuer", "model_id", "issued_at", "sample")
    for r in records:
        style = "green" if r.status == "valid" else "red"
        # Every field came from the wire (older stores may hold unchecked claims).
        cells = [terminal_safe(v) for v in (r.receipt_id, r.status, r.issuer, r.model_id)]
        table.add_row(Text(cells[0]), Text(cells[1], style=style), Text(cells[2]),
                      Text(cells[3]), Text(terminal_safe(r.issued_at)),
                      "yes" if r.sampled else "")  # fmt: skip
    print_table(table)


@evidence.command("show")
@click.argument("receipt_id")
@_DATA_DIR
@_STORE
def show(receipt_id: str, data_dir: str | None, store: str | None) -> None:
    """Everything recorded about RECEIPT_ID (JSON), with its sample directory if any."""
    evidence_store = _open(data_dir, store)
    record = evidence_store.get(receipt_id)
    if record is None:
        raise InputError(f"no evidence for receipt {receipt_id!r} in {data_dir or 'the store'}")
    out = record.to_dict()
    out["log_proof"] = evidence_store.log_proof(receipt_id)
    sample = evidence_store.sample_path(record)
    out["sample_dir"] = str(sample) if sample else None
    print_json(out)


@evidence.command("export")
@_DATA_DIR
@_STORE
@click.option(
    "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="FILE.tar.gz"
)
def export(data_dir: str | None, store: str | None, out_path: str) -> None:
    """A tar.gz of all records (evidence.jsonl) and every complete sample directory."""
    evidence_store = _open(data_dir, store)
    records = list(evidence_store.list())
    target = Path(out_path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        samples = _write_archive(tmp, evidence_store, records)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    out_console.print(f"exported {len(records)} record(s) and {samples} sample(s) to {target}")


def _write_archive(tmp: Path, store: EvidenceStore, records: list[EvidenceRecord]) -> int:
    samples = 0
    with tarfile.open(tmp, "w:gz") as archive:
        lines = b"".join(
            (json.dumps(r.to_dict(), ensure_ascii=False) + "\n").encode() for r in records
        )
        info = tarfile.TarInfo("evidence.jsonl")
        info.size, info.mtime = len(lines), int(time.time())
        archive.addfile(info, io.BytesIO(lines))
        for record in records:
            sample = store.sample_path(record)
            if sample is not None:  # only complete samples (manifest present)
                archive.add(sample, arcname=f"verification_samples/{record.sample}")
                samples += 1
    return samples
