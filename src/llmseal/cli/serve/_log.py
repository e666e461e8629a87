"""The transparency-log options of ``llmseal serve`` (kept apart from the rest)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["log_options", "log_settings"]

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--log",
        "log_dir",
        metavar="DIR|URL",
        help="Run a transparency log in the gateway (created if new) and serve it under /log/;"
        " postgresql://… shares it between replicas.",
    ),
    click.option(
        "--log-url", metavar="URL", help="Log every receipt to a standalone `llmseal log serve`."
    ),
    click.option("--log-origin", metavar="ORIGIN", help="Origin of a log --log creates."),
    click.option(
        "--log-inline",
        is_flag=True,
        help="Wait for inclusion, send the proof as receipt_evidence.log (503 if the log fails).",
    ),
    click.option(
        "--log-timeout",
        default=10.0,
        show_default=True,
        type=click.FloatRange(min=0.01),
        help="Seconds --log-inline waits for the log.",
    ),
    click.option(
        "--log-batch-age",
        default=50.0,
        show_default=True,
        type=click.FloatRange(0.1, 10_000),
        help="Milliseconds an entry of the embedded log waits for its batch.",
    ),
    click.option(
        "--log-witness-policy",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="C2SP tlog-policy: its witnesses cosign the embedded log every 10 s.",
    ),
)


def log_options(f: F) -> F:
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def log_settings(options: dict[str, Any]) -> dict[str, Any]:
    """GatewayConfig fields from the parsed options."""
    return {
        "log_dir": options["log_dir"],
        "log_url": options["log_url"],
        "log_origin": options["log_origin"],
        "log_inline": options["log_inline"],
        "log_timeout": options["log_timeout"],
        "log_batch_age": options["log_batch_age"] / 1000,
        "log_witness_policy": options["log_witness_policy"],
    }
