"""Benchmarks behind ``llmseal bench``: ratios against the peer and the raw primitive.

Each group measures ours, the peer (llm_sign 0.2.0) and the bare primitive in
the same run, so the ratios hold on any machine even when absolute numbers don't.
"""

from __future__ import annotations

import importlib
import platform
from typing import Any

from rich.console import Console

__all__ = ["GROUPS", "run_all"]


# The groups, in the order they run; ``llmseal bench --only`` offers exactly these.
# Each is the module ``llmseal.bench.<name>`` with ``run(*, quick) -> dict``.
GROUPS = (
    "core",
    "gateway",
    "client",
    "x509",
    "dns",
    "weights",
    "replay",
    "audit",
    "web",
    "log",
    "witness",
    "bundle",
    "postgres",
)


def run_all(*, quick: bool, only: set[str], progress: bool) -> dict[str, Any]:
    """Run the selected groups (all when ``only`` is empty) and collect one JSON object."""
    groups = {
        name: importlib.import_module(f"llmseal.bench.{name}").run
        for name in GROUPS
        if not only or name in only
    }
    console = Console(stderr=True)
    results: dict[str, Any] = {
        "quick": quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    for name, fn in groups.items():
        if progress:
            with console.status(f"bench: {name}..."):
                out = fn(quick=quick)
        else:
            out = fn(quick=quick)
        results.update(out)
    return results
