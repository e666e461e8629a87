"""``llmseal audit report verify | show``: reproduce an audit report, or render it for people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

from llmseal.cli._common import out_console, print_json, write_atomic

__all__ = ["report"]


@click.group("report")
def report() -> None:
    """Re-check an audit report's receipts and verdicts, or render it."""


@report.command("verify")
@click.argument("report_path", metavar="REPORT")
@click.option("--keys", "keys_source", required=True, metavar="KEYSET",
              help="The issuer's key set (file or URL): every receipt is re-verified.")  # fmt: skip
@click.option("--references", "reference_paths", multiple=True, metavar="PACK_OR_REF.json",
              help="A pack or REF.json holding the references (repeatable).")  # fmt: skip
@click.option("--data-dir", default="~/.llmseal", show_default=True,
              type=click.Path(file_okay=False),
              help="Also look in DATA_DIR/fingerprints/ for the references.")  # fmt: skip
@click.option("--publishers", metavar="KEYSET", help="Trusted pack publishers (key set).")
@click.option("--auditors", metavar="KEYSET",
              help="Require the report to be signed by one of these keys.")  # fmt: skip
@click.option("--record-as", "issuer", metavar="NAME",
              help="Record the reproduced verdict as routing evidence for endpoint NAME "
                   "(DATA_DIR/routing/evidence.jsonl).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(
    report_path: str, keys_source: str, reference_paths: tuple[str, ...], data_dir: str,
    publishers: str | None, auditors: str | None, issuer: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Re-verify every receipt and recompute every verdict of REPORT; exit 2 if they differ."""
    from llmseal.audit.packs.packfile import load_references
    from llmseal.audit.packs.packstore import stored_packs
    from llmseal.audit.reports.report import load_report
    from llmseal.audit.reports.reportcheck import check_report
    from llmseal.core import _time
    from llmseal.trust.keysource import load_keyset

    loaded = load_report(report_path)
    # Packs are judged at the audit's time: one that expired since still names the same bytes.
    at = _time.parse_lenient(str(loaded.body.get("created_at", "")))
    trusted = load_keyset(publishers) if publishers else None
    references = [r for p in reference_paths for r in load_references(p, trusted=trusted, at=at)]
    if Path(data_dir).expanduser().exists():
        references += [r for p in stored_packs(data_dir, trusted=trusted, at=at)
                       for r in p.references]  # fmt: skip
    result = check_report(
        loaded, keys=load_keyset(keys_source), references=references,
        auditors=load_keyset(auditors) if auditors else None,
    )  # fmt: skip
    if issuer:
        from llmseal.audit.reports.reportcheck import record_report
        from llmseal.audit.routing.ledger import Ledger

        record_report(Ledger(_routing_path(data_dir)), result, issuer=issuer)
    if as_json:
        print_json({
            "status": "reproduced", "report_id": loaded.report_id,
            "verdict": result.outcome.value, "receipts": result.receipts,
            "failed": result.failed, "auditor": result.auditor,
            "families": {v.family: {"verdict": v.outcome.value, "p_value": v.p_value,
                                    "queries": v.queries} for v in result.verdicts},
        })  # fmt: skip
        return
    auditor = result.auditor or ("unsigned" if loaded.signature is None else "not checked")
    lines = [f"reproduced  audit report {loaded.report_id}",
             f"  verdict    {result.outcome.value} ({loaded.body.get('queries')} queries)",
             f"  receipts   {result.receipts} re-verified, {result.failed} failed exchanges",
             f"  auditor    {auditor}"]  # fmt: skip
    lines += [_family_line(v) for v in result.verdicts]
    _print(lines)


@report.command("show")
@click.argument("report_path", metavar="REPORT")
@click.option("--html", "html_path", metavar="OUT.html",
              help="Write a self-contained page (inline SVG, no network) to OUT.html.")  # fmt: skip
def show(report_path: str, html_path: str | None) -> None:
    """Summarise REPORT per family (it is not re-verified: see `report verify`)."""
    from llmseal.audit.reports.report import load_report
    from llmseal.audit.reports.reportview import render_html

    loaded = load_report(report_path)
    body = loaded.body
    lines = [f"{body.get('verdict')}  audit report {loaded.report_id}",
             f"  model      {body.get('model_id')} at {body.get('endpoint')}",
             f"  created    {body.get('created_at')}",
             f"  queries    {body.get('queries')} "
             f"({len(body.get('receipt_ids', ()))} signed)"]  # fmt: skip
    lines += [_family_line(v) for v in loaded.verdicts]
    if html_path:
        write_atomic(html_path, render_html(loaded).encode("utf-8"))
        lines.append(f"  page       {html_path}")
    _print(lines)


def _routing_path(data_dir: str) -> Path:
    return Path(data_dir).expanduser() / "routing" / "evidence.jsonl"


def _print(lines: list[str]) -> None:
    from llmseal.cli._common import terminal_safe

    out_console.print(Text("\n".join(terminal_safe(line) for line in lines)))


def _family_line(verdict: Any) -> str:
    return (f"  {verdict.family:<10} {verdict.outcome.value:<12} p={verdict.p_value:.3g} "
            f"queries {verdict.queries}: {verdict.reason}")  # fmt: skip
