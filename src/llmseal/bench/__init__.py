"""Benchmarks behind ``llmseal bench``: ratios against the peer and the raw primitive.

Each group measures ours, the peer (llm_sign 0.2.0) and the bare primitive in
the same run, so the ratios hold on any machine even when absolute numbers don't.
"""

from __future__ import annotations

import platform
from typing import Any

from rich.console import Console

__all__ = ["run_all"]


def run_all(*, quick: bool, only: set[str], progress: bool) -> dict[str, Any]:
    """Run the selected groups (all when ``only`` is empty) and collect one JSON object."""
    from llmseal.bench import client, core, dns, gateway, replay, web, weights, x509

    groups = {
        "core": core.run,
        "gateway": gateway.run,
        "client": client.run,
        "x509": x509.run,
        "dns": dns.run,
        "weights": weights.run,
        "replay": replay.run,
        "web": web.run,
    }
    console = Console(stderr=True)
    results: dict[str, Any] = {
        "quick": quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    for name, fn in groups.items():
        if only and name not in only:
            continue
        if progress:
            with console.status(f"bench: {name}..."):
                out = fn(quick=quick)
        else:
            out = fn(quick=quick)
        results.update(out)
    return results
