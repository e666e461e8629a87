"""``llmseal log monitor``: follow a log over HTTP and check everything it publishes.

Exit 0: every check passed (state saved); 1: an alarm, its evidence written under
``STATE/evidence/`` (the state is not moved); 2: the log or a key set could not be
read at all. ``--follow`` runs a round every ``--interval`` seconds until an alarm
or Ctrl-C.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click
import orjson
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from llmseal.cli._common import err_console, now, out_console
from llmseal.cli.log._witness import read_vkeys
from llmseal.core.keyset import KeySet
from llmseal.errors import ConfigError

__all__ = ["monitor"]


@click.command("monitor")
@click.option("--url", required=True, metavar="URL", help="The log's tlog-tiles prefix.")
@click.option(
    "--vkey",
    "vkeys",
    required=True,
    multiple=True,
    metavar="VKEY",
    help="The log's checkpoint key (vkey text or a file); its name is the origin.",
)
@click.option(
    "--state",
    "state_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Where the last verified checkpoint and tree edge are kept.",
)
@click.option(
    "--keys",
    "keysets",
    multiple=True,
    metavar="KEYSET",
    help="Verify every entry as a receipt against this key set (file or URL).",
)
@click.option(
    "--watch-key",
    "watch",
    multiple=True,
    metavar="KEY_ID",
    help="List the entries signed by this key ID (repeatable).",
)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="URL",
    help="A witness's monitoring prefix: compare its cosigned checkpoint.",
)
@click.option("--once", "mode", flag_value="once", help="One round, then exit.")
@click.option("--follow", "mode", flag_value="follow", help="Keep following the log.")
@click.option(
    "--interval",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds between rounds with --follow.",
)
@click.option(
    "--workers",
    default=min(4, os.cpu_count() or 1),
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes verifying receipts in a big catch-up.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per round.")
def monitor(url: str, vkeys: tuple[str, ...], state_dir: str, keysets: tuple[str, ...],
            watch: tuple[str, ...], witnesses: tuple[str, ...], mode: str | None,
            interval: float, workers: int, as_json: bool) -> None:  # fmt: skip
    """Check a log's checkpoints, tiles, entries and witnesses; alarms exit 1."""
    from llmseal.log.monitor.monitor import Monitor
    from llmseal.log.monitor.monitorstate import MonitorState
    from llmseal.log.tree.httpfetch import HttpFetch

    if mode is None:
        raise click.UsageError("give --once or --follow")
    verifiers = read_vkeys(vkeys, "--vkey")
    origins = {v.name for v in verifiers}
    if len(origins) != 1:
        raise ConfigError(f"--vkey: the keys name different logs: {sorted(origins)}")
    state_path = Path(state_dir)
    fetch = HttpFetch(url)
    peers = [(w, HttpFetch(w)) for w in witnesses]
    job = Monitor(fetch, verifiers, MonitorState.load(state_path, origins.pop()),
                  keys=_keys(keysets), watch=set(watch), witnesses=peers,
                  workers=workers)  # fmt: skip
    while True:
        if _one_round(job, state_path, url, as_json):
            sys.exit(1)
        if mode == "once":
            return
        time.sleep(interval)  # a poll interval, like the witness network's 10 s


def _keys(keysets: tuple[str, ...]) -> KeySet | None:
    """One snapshot of every key set (read now: one that cannot be read fails now)."""
    if not keysets:
        return None
    from llmseal.trust.keysource import load_keyset

    return KeySet(entry for source in keysets for entry in load_keyset(source))


def _one_round(job: Any, state_path: Path, url: str, as_json: bool) -> bool:
    """Run a round, report it; True if it raised an alarm."""
    from llmseal.log.monitor.monitorstate import write_evidence

    with Progress(TextColumn("[bold]entries"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, transient=True, disable=as_json) as bar:  # fmt: skip
        task = bar.add_task("entries", total=None)
        result = job.round(progress=lambda done, total: bar.update(task, completed=done,
                                                                   total=total))  # fmt: skip
    at = now()
    evidence = [str(write_evidence(state_path, a, origin=job.origin, at=at)) for a in result.alarms]
    if not result.alarms:
        job.state.save(state_path)
    report = {**result.to_dict(), "url": url, "evidence": evidence}
    if as_json:
        sys.stdout.write(orjson.dumps(report).decode("utf-8") + "\n")
        sys.stdout.flush()
    else:
        _print(report)
    return bool(result.alarms)


def _print(report: dict[str, Any]) -> None:
    for alarm, folder in zip(report["alarms"], report["evidence"], strict=True):
        out_console.print(f"[bold red]ALARM[/] {alarm['kind']}: {alarm['message']}",
                          markup=True, highlight=False)  # fmt: skip
        out_console.print(f"  evidence: {folder}", markup=False)
    if not report["alarms"]:
        grown = report["size"] - report["old_size"]
        out_console.print(
            f"ok  {report['origin']} size {report['size']} (+{grown} entries checked, "
            f"{report['receipts_verified']} receipts verified)", markup=False,
        )  # fmt: skip
    for item in report["watched"]:
        out_console.print(
            f"  watched key {item['key_id']}: entry {item['index']} receipt "
            f"{item['receipt_id']} issued_at {item['issued_at']} ({item['status']})", markup=False,
        )  # fmt: skip
    for item in report["invalid"]:
        reasons = "; ".join(item["reasons"])
        out_console.print(f"  entry {item['index']}: {item['status']} {reasons}", markup=False)
    for witness, note in report["witnesses"].items():
        out_console.print(f"  witness {witness}: {note}", markup=False)
