"""``llmseal evidence prove``: fetch log proofs for stored receipts that have none."""

from __future__ import annotations

import click
import httpx
from rich.progress import Progress

from llmseal.cli._common import err_console, out_console
from llmseal.errors import LogError, NetworkError
from llmseal.log.entry import receipt_leaf_hash
from llmseal.log.trust import LogTrust
from llmseal.store.evidence import EvidenceStore

__all__ = ["prove"]


@click.command("prove")
@click.option(
    "--data-dir",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="The client's data_dir.",
)
@click.option("--log-url", required=True, metavar="URL", help="The log to ask for proofs.")
@click.option(
    "--log-vkey", "log_vkeys", required=True, multiple=True, metavar="VKEY",
    help="The log's verifier key: every proof is checked before it is kept.",
)  # fmt: skip
@click.option("--limit", type=click.IntRange(1), help="At most this many receipts.")
def prove(data_dir: str, log_url: str, log_vkeys: tuple[str, ...], limit: int | None) -> None:
    """Fetch, verify and keep a tlog-proof for every accepted receipt that lacks one.

    Exit 0 when every receipt is proven, 1 when some are not (yet) in the log.
    """
    trust = LogTrust.from_vkeys(log_vkeys)
    store = EvidenceStore(data_dir)
    records = store.unproven(limit=limit)
    counts = {"proven": 0, "not logged": 0, "pending": 0, "invalid": 0}
    base = log_url.rstrip("/")
    with httpx.Client(timeout=10.0) as client, Progress(console=err_console) as progress:
        task = progress.add_task("proving", total=len(records))
        for record in records:
            receipt = record.to_dict()["receipt"]
            try:
                answer = client.get(f"{base}/proof/{receipt_leaf_hash(receipt).hex()}")
            except httpx.HTTPError as exc:
                raise NetworkError(f"cannot reach the log at {log_url}: {exc}") from exc
            progress.advance(task)
            if answer.status_code == 404:
                counts["pending" if "retry-after" in answer.headers else "not logged"] += 1
                continue
            if answer.status_code != 200:
                raise NetworkError(f"the log at {log_url} answered HTTP {answer.status_code}")
            try:
                entry = trust.check(receipt, answer.text)
            except LogError as exc:
                counts["invalid"] += 1
                err_console.print(f"receipt {record.receipt_id}: the log's proof fails: {exc}")
                continue
            store.put_log_proof(record.receipt_id, answer.text, origin=entry.origin,
                                index=entry.index, tree_size=entry.tree_size)  # fmt: skip
            counts["proven"] += 1
    store.close()
    out_console.print(", ".join(f"{n} {what}" for what, n in counts.items()))
    if counts["proven"] != len(records):
        raise SystemExit(1)
