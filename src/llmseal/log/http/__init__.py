"""The log over HTTP: :mod:`.app` (the C2SP tlog-tiles read API plus add, proof and
lookup) and :mod:`._asgi` (the ASGI pieces the log's and the witness's apps share).
"""

from __future__ import annotations

from llmseal.log.http.app import LogApp

__all__ = ["LogApp"]
