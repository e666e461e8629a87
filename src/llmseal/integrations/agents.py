"""The OpenAI Agents SDK through the verifying client, with its receipts by response id.

    from agents import Agent, Runner
    from llmseal.integrations.agents import use_verified_openai

    receipts = use_verified_openai(base_url="https://gateway.example/v1",
                                   keys="https://gateway.example/v1/receipts/keys")
    result = Runner.run_sync(Agent(name="a", instructions="..."), "question")
    receipts.get(result.raw_responses[0].response_id)   # the verified receipt

One call sets the Agents SDK's default client to an ``AsyncOpenAI`` whose
transport verifies every answer before the SDK sees it (a failed check raises
the llmseal error out of ``Runner.run``), picks the API (``"responses"``, the
SDK's default, or ``"chat_completions"`` for servers without the Responses API)
and turns the SDK's tracing to OpenAI off (it would send the traces elsewhere).
Each verified answer's receipt is kept under the answer's ``id``; in
chat-completions mode the SDK reports no ``response_id``, so use
:meth:`VerifiedReceipts.all` there.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx

from llmseal.client.build import build_verifier
from llmseal.client.transport import AsyncVerifyingTransport
from llmseal.core.canonical import loads
from llmseal.core.sse import SseSplitter, event_data
from llmseal.errors import ConfigError, ContentError

__all__ = ["RecordingTransport", "VerifiedReceipts", "use_verified_openai"]


class VerifiedReceipts:
    """Receipts of verified answers, by the answer's id (the order they arrived in)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, dict[str, Any]] = {}
        self._all: list[dict[str, Any]] = []

    def get(self, response_id: str | None) -> dict[str, Any] | None:
        with self._lock:
            return self._by_id.get(response_id) if response_id else None

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._all)

    def record(self, value: Any) -> None:
        """Keep the receipt of a verified body or stream event (others are ignored)."""
        if not isinstance(value, dict) or not isinstance(value.get("receipt"), dict):
            return
        inner = value.get("response")  # Responses API events carry the response inside
        answer_id = inner.get("id") if isinstance(inner, dict) else value.get("id")
        with self._lock:
            self._all.append(value["receipt"])
            if isinstance(answer_id, str):
                self._by_id[answer_id] = value["receipt"]


class _Watched(httpx.AsyncByteStream):
    """Passes a verified stream on unchanged, noting the event that carries the verdict."""

    def __init__(self, inner: Any, receipts: VerifiedReceipts) -> None:
        self._inner = inner
        self._receipts = receipts
        self._splitter = SseSplitter()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for data in self._inner:
            for event in self._splitter.feed(data):
                payload = event_data(event)
                if payload is not None and b'"llmseal"' in payload:
                    # not JSON: no verdict event (the verifier already vetted the bytes)
                    with contextlib.suppress(ContentError):
                        self._receipts.record(loads(payload))
            yield data

    async def aclose(self) -> None:
        await self._inner.aclose()


class RecordingTransport(httpx.AsyncBaseTransport):
    """Wraps a verifying transport; records the receipts of the answers it let through."""

    def __init__(self, inner: Any, receipts: VerifiedReceipts) -> None:
        """``inner``: an :class:`~llmseal.client.AsyncVerifyingTransport`."""
        self._inner = inner
        self.receipts = receipts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await self._inner.handle_async_request(request)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return httpx.Response(
                response.status_code, headers=response.headers.raw,
                stream=_Watched(response.stream, self.receipts), extensions=response.extensions,
            )  # fmt: skip
        if response.is_stream_consumed:  # a verified JSON answer, already read
            with contextlib.suppress(ContentError):
                self.receipts.record(loads(response.content))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def use_verified_openai(
    *,
    base_url: str,
    keys: str,
    api_key: str = "sk-local",
    api: str = "responses",
    **verify_options: Any,
) -> VerifiedReceipts:
    """Route the Agents SDK through the verifying client; the receipts it verifies.

    ``verify_options`` are :func:`llmseal.client.build_verifier`'s (``data_dir``,
    ``expect_issuer``...).
    """
    if api not in ("responses", "chat_completions"):
        raise ConfigError(f"api must be 'responses' or 'chat_completions', not {api!r}")
    try:
        import openai
        from agents import set_default_openai_api, set_default_openai_client, set_tracing_disabled
    except ImportError as exc:
        raise ConfigError(f"the OpenAI Agents SDK is not installed (openai-agents): {exc}") from exc
    receipts = VerifiedReceipts()
    transport = RecordingTransport(AsyncVerifyingTransport(build_verifier(keys=keys,
                                                                          **verify_options)),
                                   receipts)  # fmt: skip
    # openai accepts httpx and httpx2 clients; its annotations name only httpx2.
    http: Any = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(600.0, connect=10.0))
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, http_client=http)
    set_default_openai_client(client, use_for_tracing=False)
    set_default_openai_api("responses" if api == "responses" else "chat_completions")
    set_tracing_disabled(True)
    return receipts
