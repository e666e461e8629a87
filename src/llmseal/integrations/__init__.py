"""Where llmseal plugs into other people's servers and frameworks (issue 16).

Each module imports its framework only when used, so ``import llmseal`` never
needs it: :mod:`llmseal.integrations.litellm` (the LiteLLM proxy).
"""

from __future__ import annotations

__all__: list[str] = []
