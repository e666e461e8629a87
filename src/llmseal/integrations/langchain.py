"""LangChain's ``ChatOpenAI`` through the verifying client, with its receipts by run.

    from llmseal.integrations.langchain import verified_chat_openai

    chat, receipts = verified_chat_openai(base_url="https://gateway.example/v1",
                                          keys="https://gateway.example/v1/receipts/keys",
                                          model="m")
    message = chat.invoke("question", config={"run_id": run_id})
    message.response_metadata["receipt"]      # the verified receipt of this answer
    receipts.for_run(run_id)                  # every receipt of the run and its children

``chat`` is a ``ChatOpenAI`` (langchain-openai) whose sync and async httpx
clients verify every answer before the SDK parses it: an edited or stripped
answer raises the llmseal error out of ``invoke``/``stream`` (a stream fails at
its end, when the receipt arrives; the chunks before it are provisional, as with
the bare openai SDK, :mod:`llmseal.client.transport`).

LangChain drops members of an answer it does not know, so this ``ChatOpenAI``
lifts the receipt into the generation's ``generation_info`` (hence the message's
``response_metadata["receipt"]``; on a stream, that of the chunk with the
``finish_reason``, so of the chunks' sum too), and the verdict of a stream into
``response_metadata["llmseal"]``. ``receipts`` is a LangChain
callback handler attached to ``chat``; pass it in ``config={"callbacks": [...]}``
of a chain or graph too, and ``for_run`` of the outer run returns the receipts of
every model call under it. Tested with langchain-openai 1.7.4 (langchain-core 1.8).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from pydantic import SecretStr

from llmseal.client.transport import verifying_async_http_client, verifying_http_client
from llmseal.errors import ConfigError

__all__ = ["ReceiptCollector", "verified_chat_openai"]

try:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.messages import AIMessageChunk
    from langchain_core.outputs import ChatGenerationChunk, ChatResult, LLMResult
    from langchain_openai import ChatOpenAI
except ImportError as _missing:  # the classes below subclass LangChain's: needed at import
    raise ConfigError(
        f"langchain-openai is not installed (llmseal[langchain]): {_missing}"
    ) from None

_CARRIED = ("receipt", "llmseal")  # what the verifying client leaves on a verified answer


def _carried(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        answer = answer.model_dump() if hasattr(answer, "model_dump") else {}
    return {k: answer[k] for k in _CARRIED if isinstance(answer.get(k), dict)}


class _VerifiedChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` that keeps what the verifying client put on the answer.

    Only :func:`verified_chat_openai` builds one, always with the verifying
    clients: a receipt it carries was checked before LangChain saw the answer.
    """

    def _create_chat_result(
        self, response: Any, generation_info: dict[str, Any] | None = None
    ) -> ChatResult:
        result: ChatResult = super()._create_chat_result(response, generation_info)
        carried = _carried(response)
        for generation in result.generations if carried else ():
            generation.generation_info = {**(generation.generation_info or {}), **carried}
        return result

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict[str, Any], default_chunk_class: type, base_generation_info: Any
    ) -> ChatGenerationChunk | None:
        converted: ChatGenerationChunk | None = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        carried = _carried(chunk)
        if not carried:
            return converted
        if converted is None:  # the verdict must reach the caller even on an empty delta
            converted = ChatGenerationChunk(message=AIMessageChunk(content=""))
        # A new dict: base_generation_info is shared by every chunk of the stream.
        converted.generation_info = {**(converted.generation_info or {}), **carried}
        return converted


class ReceiptCollector(BaseCallbackHandler):
    """A LangChain callback handler: the verified receipts of each run.

    ``for_run(run_id)`` returns the receipts of that run's model calls and those
    of every run under it (a chain's steps, a graph's nodes), in arrival order.
    """

    run_inline = True  # bookkeeping only: no thread hop in async runs

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parent: dict[UUID, UUID] = {}
        self._own: dict[UUID, list[dict[str, Any]]] = {}

    def _link(self, run_id: UUID, parent_run_id: UUID | None) -> None:
        if parent_run_id is not None:
            with self._lock:
                self._parent[run_id] = parent_run_id

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: UUID,
        parent_run_id: UUID | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        self._link(run_id, parent_run_id)

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID,
        parent_run_id: UUID | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        self._link(run_id, parent_run_id)

    def on_llm_end(
        self, response: LLMResult, *, run_id: UUID, parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        self._link(run_id, parent_run_id)
        found = [
            info["receipt"]
            for generations in response.generations
            for generation in generations
            if isinstance((info := generation.generation_info or {}).get("receipt"), dict)
        ]
        if found:
            with self._lock:
                self._own.setdefault(run_id, []).extend(found)

    def for_run(self, run_id: UUID) -> list[dict[str, Any]]:
        """The receipts of ``run_id`` and of the runs under it."""
        with self._lock:
            return [r for run in self._own if self._under(run, run_id) for r in self._own[run]]

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for receipts in self._own.values() for r in receipts]

    def _under(self, run: UUID | None, ancestor: UUID) -> bool:
        seen: set[UUID] = set()
        while run is not None and run not in seen:
            if run == ancestor:
                return True
            seen.add(run)
            run = self._parent.get(run)
        return False


def verified_chat_openai(
    *,
    base_url: str,
    keys: str,
    api_key: str = "sk-local",
    verify: dict[str, Any] | None = None,
    callbacks: Iterable[Any] = (),
    **chat_options: Any,
) -> tuple[ChatOpenAI, ReceiptCollector]:
    """A ``ChatOpenAI`` that verifies every answer, and the handler keeping its receipts.

    ``verify``: :func:`llmseal.client.build_verifier`'s options (``data_dir``,
    ``expect_issuer``...), shared by the sync and the async client (one evidence
    store each). ``chat_options`` go to ``ChatOpenAI`` (``model``, ``temperature``...).
    """
    if "http_client" in chat_options or "http_async_client" in chat_options:
        raise ConfigError("verified_chat_openai makes the http clients; do not pass them")
    options = dict(verify or {})
    collector = ReceiptCollector()
    chat = _VerifiedChatOpenAI(
        base_url=base_url, api_key=SecretStr(api_key),
        http_client=verifying_http_client(keys=keys, **options),
        http_async_client=verifying_async_http_client(keys=keys, **options),
        callbacks=[collector, *callbacks], **chat_options,
    )  # fmt: skip
    return chat, collector
