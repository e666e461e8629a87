"""Audit reports: written, re-checked by a third party, shown as a page, carried in bundles.

Modules: :mod:`.report` (the signed report), :mod:`.reportcheck` (reproducing its
verdict), :mod:`.reportview` (one self-contained HTML page) and :mod:`.bundled`
(the reports an evidence bundle carries).
"""

from __future__ import annotations

__all__: list[str] = []
