"""Interoperability with other signing formats (llm_sign 0.2.0, seed 003)."""

from __future__ import annotations

__all__: list[str] = []
