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
    table = Table(
        "operation", "ours/s", "llm_sign/s", "raw/s", "vs llm_sign", "vs raw", title="llmseal bench"
    )
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
            for sub, number in value.items():
                if isinstance(number, dict) and "ops_per_s" in number:
                    table.add_row(
                        f"{key}.{sub}",
                        _fmt(number["ops_per_s"]),
                        _fmt(number.get("llm_sign_ops_per_s")),
                        "",
                        _fmt(number.get("vs_llm_sign")),
                        "",
                    )
                else:
                    table.add_row(f"{key}.{sub}", _fmt(number), "", "", "", "")
    return table
