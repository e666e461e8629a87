"""httpx transports that verify every sealed answer before an SDK sees it.

    import openai
    from llmseal.client import verifying_http_client

    client = openai.OpenAI(
        base_url="https://gateway.example/v1",
        http_client=verifying_http_client(keys="https://gateway.example/v1/receipts/keys",
                                          data_dir="~/.llmseal"),
    )

How failures reach you (measured with openai 3.54 and anthropic 2.12):

* **openai, non-streaming**: the llmseal exception itself
  (:class:`~llmseal.VerificationError` and its subclasses ``BindingError``,
  ``ReplayError``, ``ReceiptRequiredError``, ``PolicyError``). The SDK retries and
  wraps only ``httpx`` transport errors, so a verification failure is final.
* **anthropic, non-streaming**: ``anthropic.APIConnectionError`` whose
  ``__cause__`` is the llmseal exception. The SDK retries connection errors
  (``max_retries``, default 2); **every retry is verified afresh**, so a
  tampering relay fails each time. ``max_retries=0`` fails on the first attempt.
* **streaming, both SDKs**: chunks reach your loop as they arrive, one event
  late (provisional); the receipt is checked when it arrives at the end and a
  failure is raised directly from the iteration as the llmseal exception. The
  SDK sees no receipt event: the last chunk (OpenAI) or ``message_stop`` event
  (Anthropic) is released only once the receipt verified, with ``receipt`` and
  ``"llmseal": {"status": "valid", ...}`` added (``chunk.model_extra``).
* answers the SDK retries by itself (a signed 429/5xx) are each verified too.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from llmseal.client.build import build_verifier
from llmseal.client.ndjson import NdjsonVerifier
from llmseal.client.stream import StreamVerifier
from llmseal.client.verifier import DEFAULT_FRESHNESS, ResponseVerifier
from llmseal.core.keyset import KeyResolver
from llmseal.core.receipt import Receipt
from llmseal.errors import BindingError, ConfigError
from llmseal.log.witness.witnesspolicy import WitnessPolicy

__all__ = [
    "AsyncVerifyingTransport",
    "VerifyingTransport",
    "transports_for",
    "verifying_async_http_client",
    "verifying_http_client",
]


def _prepare(verifier: ResponseVerifier, request: Any) -> str | None:
    if request.method != "POST":
        return None
    endpoint = verifier.endpoint_of(request.url.path)
    if endpoint is not None:
        request.headers["X-Receipt-Request"] = "true"
        # The stream wrapper sees the bytes before httpx decodes them, so a sealed
        # answer must arrive unencoded: what is checked is then what the SDK reads.
        request.headers["Accept-Encoding"] = "identity"
    return endpoint


def _stream_checker(
    verifier: ResponseVerifier, endpoint: str, body: bytes, response: Any
) -> StreamVerifier | NdjsonVerifier:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise BindingError(
            f"a sealed stream arrived with Content-Encoding {encoding!r}; refusing bytes "
            "that would be decoded after verification"
        )
    return verifier.stream(endpoint, body)


def _is_stream(response: Any) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith(("text/event-stream", "application/x-ndjson"))


def _transport_classes(lib: ModuleType) -> tuple[type[Any], type[Any]]:
    """The sync and async verifying transports for ``httpx`` or ``httpx2``.

    Same code for both libraries; only the base classes and the ``Response``
    constructor differ (httpx checks stream types with ``isinstance``).
    """

    class SyncStream(lib.SyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, inner: Any, checker: StreamVerifier | NdjsonVerifier) -> None:
            self._inner = inner
            self._checker = checker

        def __iter__(self) -> Iterator[bytes]:
            for data in self._inner:
                out = self._checker.feed(data)
                if out:
                    yield out
            tail = self._checker.finish()
            if tail:
                yield tail

        def close(self) -> None:
            self._inner.close()

    class AsyncStream(lib.AsyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, inner: Any, checker: StreamVerifier | NdjsonVerifier) -> None:
            self._inner = inner
            self._checker = checker

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for data in self._inner:
                out = self._checker.feed(data)
                if out:
                    yield out
            tail = self._checker.finish()
            if tail:
                yield tail

        async def aclose(self) -> None:
            await self._inner.aclose()

    def checked(response: Any, stream: Any) -> Any:
        """A new response whose only body is ``stream`` (the checker's output).

        Never the inner response itself: one that a mock or caching transport
        already read keeps its content, and httpx would hand the SDK that
        content instead of the checked stream.
        """
        headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-length"]
        return lib.Response(
            response.status_code, headers=headers, stream=stream, extensions=response.extensions
        )

    def inner_body(response: Any) -> Any:
        """The bytes of the inner response as a stream, whatever form it came in."""
        if not response.is_stream_consumed:
            return response.stream
        try:
            return lib.ByteStream(response.content)
        except lib.ResponseNotRead:
            raise BindingError(
                "the inner transport consumed the stream: nothing to verify"
            ) from None

    class Transport(lib.BaseTransport):  # type: ignore[misc, name-defined]
        """Wraps a transport; verifies answers of the sealed endpoints."""

        def __init__(self, verifier: ResponseVerifier, inner: Any = None) -> None:
            self.verifier = verifier
            self._inner = inner or lib.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            endpoint = _prepare(self.verifier, request)
            if endpoint is None:
                return self._inner.handle_request(request)
            body = request.read()
            response = self._inner.handle_request(request)
            if _is_stream(response):
                try:
                    checker = _stream_checker(self.verifier, endpoint, body, response)
                    inner = inner_body(response)
                except BindingError:
                    response.close()
                    raise
                return checked(response, SyncStream(inner, checker))
            try:
                content = response.read()
            finally:
                response.close()
            self.verifier.check_body(endpoint, body, content, response.status_code)
            return response  # already read: the client and the SDK get the verified bytes

        def close(self) -> None:
            self._inner.close()
            self.verifier.close()

    class AsyncTransport(lib.AsyncBaseTransport):  # type: ignore[misc, name-defined]
        """The asyncio twin (for ``AsyncOpenAI`` / ``AsyncAnthropic``)."""

        def __init__(self, verifier: ResponseVerifier, inner: Any = None) -> None:
            self.verifier = verifier
            self._inner = inner or lib.AsyncHTTPTransport()

        async def handle_async_request(self, request: Any) -> Any:
            endpoint = _prepare(self.verifier, request)
            if endpoint is None:
                return await self._inner.handle_async_request(request)
            body = await request.aread()
            response = await self._inner.handle_async_request(request)
            if _is_stream(response):
                try:
                    checker = _stream_checker(self.verifier, endpoint, body, response)
                    inner = inner_body(response)
                except BindingError:
                    await response.aclose()
                    raise
                return checked(response, AsyncStream(inner, checker))
            try:
                content = await response.aread()
            finally:
                await response.aclose()
            # CPU only (evidence is written by a background thread): no thread hop.
            self.verifier.check_body(endpoint, body, content, response.status_code)
            return response

        async def aclose(self) -> None:
            await self._inner.aclose()
            self.verifier.close()

    return Transport, AsyncTransport


@functools.cache
def transports_for(library: str) -> tuple[type[Any], type[Any]]:
    """``(VerifyingTransport, AsyncVerifyingTransport)`` for ``"httpx"`` or ``"httpx2"``."""
    if library not in ("httpx", "httpx2"):
        raise ConfigError(f"library must be 'httpx' or 'httpx2', not {library!r}")
    try:
        lib = importlib.import_module(library)
    except ImportError as exc:
        raise ConfigError(f"{library} is not installed") from exc
    return _transport_classes(lib)


VerifyingTransport, AsyncVerifyingTransport = transports_for("httpx")


def verifying_http_client(
    *,
    keys: str | os.PathLike[str] | KeyResolver | Mapping[str, str],
    data_dir: str | os.PathLike[str] | None = None,
    require_receipt: bool = True,
    expect_issuer: str | None = None,
    expect_models: tuple[str, ...] | list[str] = (),
    sample_rate: float = 0.01,
    sample_cap: int = 16 << 20,
    freshness: timedelta | None = DEFAULT_FRESHNESS,
    log_vkeys: tuple[str, ...] | list[str] = (),
    require_logged: bool = False,
    witness_policy: str | Path | WitnessPolicy | None = None,
    require_witnessed: bool = False,
    on_result: Callable[[Receipt, str, str], None] | None = None,
    store: str | None = None,
    library: str = "httpx",
    **client_options: Any,
) -> Any:
    """An ``httpx.Client`` for ``openai.OpenAI(http_client=...)``.

    ``library="httpx2"`` returns an ``httpx2.Client`` instead, which is what
    ``anthropic.Anthropic`` (>= 2) accepts; openai accepts both. ``keys`` is the
    issuer's key set (URL or file, cached and refreshed once on an unknown key),
    any key resolver, or ``{issuer: location}`` (each key set bound to its issuer);
    ``data_dir`` holds the evidence store — or ``store="postgresql://…"`` keeps the
    evidence of every caller in one database (replay protection across processes and
    machines; samples still go under ``data_dir``).
    ``log_vkeys`` and ``require_logged``: check (and require) inline transparency-log
    proofs.
    """
    verifier = build_verifier(
        keys=keys, data_dir=data_dir, require_receipt=require_receipt, expect_issuer=expect_issuer,
        expect_models=expect_models, sample_rate=sample_rate, sample_cap=sample_cap,
        freshness=freshness, log_vkeys=log_vkeys, require_logged=require_logged,
        witness_policy=witness_policy, require_witnessed=require_witnessed, store=store,
        on_result=on_result,
    )  # fmt: skip
    return _client(library, verifier, asynchronous=False, options=client_options)


def verifying_async_http_client(**options: Any) -> Any:
    """The ``AsyncClient`` twin of :func:`verifying_http_client` (same arguments),
    for ``openai.AsyncOpenAI`` / ``anthropic.AsyncAnthropic``."""
    library = options.pop("library", "httpx")
    names = ("keys", "data_dir", "require_receipt", "expect_issuer", "expect_models",
             "sample_rate", "sample_cap", "freshness", "log_vkeys", "require_logged",
             "witness_policy", "require_witnessed", "store", "on_result")  # fmt: skip
    verifier = build_verifier(**{k: options.pop(k) for k in names if k in options})
    return _client(library, verifier, asynchronous=True, options=options)


def _client(
    library: str, verifier: ResponseVerifier, *, asynchronous: bool, options: dict[str, Any]
) -> Any:
    lib = importlib.import_module(library)
    sync_transport, async_transport = transports_for(library)
    options.setdefault("timeout", lib.Timeout(600.0, connect=10.0))
    if asynchronous:
        return lib.AsyncClient(transport=async_transport(verifier), **options)
    return lib.Client(transport=sync_transport(verifier), **options)
