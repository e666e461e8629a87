"""Render bench results as a table."""

from __future__ import annotations

from typing import Any

from rich.table import Table

__all__ = ["render"]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render(results: dict[str, Any]) -> Table:
    table = Table(title="llmseal bench")
    table.add_column("operation", no_wrap=True)
    for column in ("ours", "llm_sign/s", "raw/s", "vs llm_sign", "vs raw"):
        table.add_column(column, justify="right", overflow="fold")
    for name in ("sign", "verify"):
        row = results.get(name)
        if row:
            table.add_row(
                name,
                _fmt(row["ops_per_s"]),
                _fmt(row["llm_sign_ops_per_s"]),
                _fmt(row["raw_ops_per_s"]),
                _fmt(row["vs_llm_sign"]),
                _fmt(row["vs_raw"]),
            )
    canon = results.get("canonicalize")
    if canon:
        table.add_row(
            "canonicalize (2 KB)",
            _fmt(canon["ops_per_s"]),
            "-",
            _fmt(canon["rfc8785_ops_per_s"]),
            "-",
            "-",
        )
    for key, value in results.items():
        if isinstance(value, dict) and key not in (
            "sign",
            "verify",
            "canonicalize",
            "payload_bytes",
        ):
            _add_group(table, key, value)
    return table


def _add_group(table: Table, prefix: str, group: dict[str, Any]) -> None:
    """One row per measurement; nested groups become dotted names."""
    for sub, value in group.items():
        name = f"{prefix}.{sub}"
        if isinstance(value, dict) and "ops_per_s" in value:
            table.add_row(
                name,
                _fmt(value["ops_per_s"]),
                _fmt(value.get("llm_sign_ops_per_s")),
                _fmt(value.get("raw_ops_per_s", "")),
                _fmt(value.get("vs_llm_sign")),
                _fmt(value.get("vs_raw", "")),
            )
        elif isinstance(value, dict):
            _add_group(table, name, value)
        else:
            table.add_row(name, _fmt(value), "", "", "", "")
