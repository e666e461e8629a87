"""HTTP plumbing: ASGI helpers and types, the header allow-lists, the upstream client.

Modules: :mod:`.headers` (which fields cross the gateway), :mod:`.upstream` (the
upstream server as the gateway sees it), built on the lean HTTP/1.1 client
:mod:`._h1` / :mod:`._h1response` / :mod:`._interim`; :mod:`._asgi` and
:mod:`._types` are the small ASGI helpers every route uses.
"""

from __future__ import annotations

__all__: list[str] = []
