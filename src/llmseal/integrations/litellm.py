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

**As a signed hop** (``LLMSEAL_UPSTREAM_KEYS=KEYSET`` or ``upstream_keys=``, a
key set file or URL of the sealed upstream): LiteLLM's calls to its upstreams
go through the verifying client, and each answer's receipt names the verified
upstream receipt as its ``upstream`` parent, with the transform LiteLLM applied
declared (``reserialize``); a 2xx answer without a verified upstream receipt is
never sealed. What LiteLLM passes back of a sealed upstream, and why the check
happens inside it: :mod:`llmseal.integrations._litellm_hop`.

Tested with litellm 1.110.2 (its wheel inspected: no ``.pth`` start-up hook, no
encoded payloads; the 1.82.7/1.82.8 releases compromised in March 2026 are not
on PyPI any more). The ``litellm`` extra pins that version.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from llmseal.client.build import build_verifier
from llmseal.errors import ConfigError
from llmseal.gateway.middleware import ReceiptMiddleware
from llmseal.integrations._litellm_hop import HopCapture, HopTransport, hop_parents

__all__ = ["TESTED_VERSION", "create_app"]

TESTED_VERSION = "1.110.2"


def create_app(*, upstream_keys: str | None = None, **options: Any) -> ReceiptMiddleware:
    """LiteLLM's proxy app (``litellm.proxy.proxy_server:app``) with receipts.

    ``options`` go to :class:`ReceiptMiddleware` (``data_dir``, ``issuer``...);
    unset ones come from ``LLMSEAL_*``. ``upstream_keys`` (or
    ``LLMSEAL_UPSTREAM_KEYS``): the key set of the sealed upstream, which makes the
    proxy a signed hop. A uvicorn factory (``--factory``).
    """
    try:
        import litellm
        from litellm.proxy.proxy_server import app
    except ImportError as exc:
        raise ConfigError(
            f"the LiteLLM proxy is not installed (pip install 'llmseal[litellm]'): {exc}"
        ) from exc
    keys = upstream_keys or os.environ.get("LLMSEAL_UPSTREAM_KEYS")
    if not keys:  # the upstream's receipts are dropped: unverified, nobody vouches for them
        return ReceiptMiddleware(HopCapture(app), **options)
    # LiteLLM's OpenAI provider hands this client to the openai SDK for every upstream call.
    transport = HopTransport(build_verifier(keys=keys))
    litellm.aclient_session = httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(600.0, connect=10.0)
    )
    sealed = ReceiptMiddleware(HopCapture(app), **options)
    if sealed.error is None:
        sealed.sealer.hop = hop_parents
    return sealed
