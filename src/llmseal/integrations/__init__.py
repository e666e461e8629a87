"""Where llmseal plugs into other people's servers and frameworks (issue 16).

Each module imports its framework only when used, so ``import llmseal`` never
needs it: :mod:`llmseal.integrations.litellm` (the LiteLLM proxy, also as a
signed hop), :mod:`~llmseal.integrations.agents` (the OpenAI Agents SDK),
:mod:`~llmseal.integrations.langchain` (LangChain's ``ChatOpenAI``),
:mod:`~llmseal.integrations.otel` (OpenTelemetry).
"""

from __future__ import annotations

__all__: list[str] = []
