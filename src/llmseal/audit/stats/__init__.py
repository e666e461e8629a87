"""The statistics under every verdict: sequential tests, the Bernoulli loop, the verdict.

Modules: :mod:`.verdict` (``SAME | DIFF | UNDETERMINED`` and what it rests on),
:mod:`.sequential` (envelopes of honest variation, anytime-valid tests, error-rate
splitting) and :mod:`.bernoulli` (the verdict loop the exceedance families share).
"""

from __future__ import annotations

__all__: list[str] = []
