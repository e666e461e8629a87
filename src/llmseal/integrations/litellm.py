"""The LiteLLM proxy, sealed: its own ASGI app inside :class:`ReceiptMiddleware`.

    pip install 'llmseal[litellm]'
    CONFIG_FILE_PATH=config.yaml LLMSEAL_DATA_DIR=./issuer LLMSEAL_ISSUER=llm.example.com \\
        uvicorn --factory llmseal.integrations.litellm:create_app --port 4000

The proxy reads its ``config.yaml`` from ``CONFIG_FILE_PATH`` at startup, as under
``litellm --config``; the middleware takes its settings from ``LLMSEAL_*``
(:mod:`llmseal.gateway.middleware`). Every answer the proxy sends on a sealed
route — chat and text completions, the Responses API, embeddings, Anthropic
messages — is sealed as the bytes LiteLLM emits, plain and streamed, framing 2.

**Why not a guardrail.** LiteLLM's post-call hooks (``CustomGuardrail``
``async_post_call_success_hook``, ``async_post_call_streaming_iterator_hook``)
see the answer *before* the proxy's last rewrites: in 1.110.2
(``litellm/proxy/common_request_processing.py``) it still restamps ``model``
with the name the client asked for, may attach guardrail information and drops
hidden parameters after the hooks ran, and re-serializes each stream chunk
after the iterator hook. A receipt signed in a hook would cover bytes no client
receives, and every honest answer would fail verification. Wrapping the ASGI
app signs what leaves the proxy, whatever LiteLLM did before.

Tested with litellm 1.110.2 (its wheel inspected: no ``.pth`` start-up hook, no
encoded payloads; the 1.82.7/1.82.8 releases compromised in March 2026 are not
on PyPI any more). The ``litellm`` extra pins that version.
"""

from __future__ import annotations

from typing import Any

from llmseal.errors import ConfigError
from llmseal.gateway.middleware import ReceiptMiddleware

__all__ = ["TESTED_VERSION", "create_app"]

TESTED_VERSION = "1.110.2"


def create_app(**options: Any) -> ReceiptMiddleware:
    """LiteLLM's proxy app (``litellm.proxy.proxy_server:app``) with receipts.

    ``options`` go to :class:`ReceiptMiddleware` (``data_dir``, ``issuer``...);
    unset ones come from ``LLMSEAL_*``. A uvicorn factory (``--factory``).
    """
    try:
        from litellm.proxy.proxy_server import app
    except ImportError as exc:
        raise ConfigError(
            f"the LiteLLM proxy is not installed (pip install 'llmseal[litellm]'): {exc}"
        ) from exc
    return ReceiptMiddleware(app, **options)
