"""``llmseal bench``: like ``openssl speed``, for receipts (and later the gateway)."""

from __future__ import annotations

import click

from llmseal.bench import GROUPS
from llmseal.cli._common import print_json, print_table

__all__ = ["bench"]


@click.command()
@click.option("--quick", is_flag=True, help="Short runs (seconds, not minutes).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--only",
    type=click.Choice(GROUPS),
    multiple=True,
    help="Run only these groups (repeatable).",
)
def bench(quick: bool, as_json: bool, only: tuple[str, ...]) -> None:
    """Measure signing, verification and the gateway against llm_sign and raw Ed25519."""
    from llmseal.bench import run_all

    results = run_all(quick=quick, only=set(only), progress=not as_json)
    if as_json:
        print_json(results)
    else:
        from llmseal.bench._support.report import render

        print_table(render(results))
