"""The error of an upstream answer that cannot be sealed (shared by the stream sealers)."""

from __future__ import annotations

from llmseal.errors import Error

__all__ = ["UpstreamProtocolError"]


class UpstreamProtocolError(Error):
    """The upstream answered something that cannot be sealed (not JSON, cut stream...)."""
