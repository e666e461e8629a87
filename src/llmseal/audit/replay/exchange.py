"""What the replay needs from one signed exchange: the prompt, the delivered text, the
sampling parameters it was signed with (engine defaults filled in), and its receipt.

Only what the caller sent and received is used — the request exactly as signed
(``prompt_hash``) and the response as delivered (``output_hash``) — so the replay
re-scores the bytes the receipt vouches for, nothing the issuer could restate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmseal.errors import ContentError

__all__ = ["ENGINE_DEFAULTS", "ReplayInput", "SamplingParams", "parse_exchange"]


@dataclass(frozen=True, slots=True)
class SamplingParams:
    temperature: float
    top_k: int  # 0: off
    top_p: float
    min_p: float
    repeat_penalty: float
    presence_penalty: float
    frequency_penalty: float

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0 or self.top_k == 1


# What a request that leaves a parameter out gets. llama-cpp-python's server (its
# request models) and the OpenAI API; keyed by the `inference.engine` claim.
ENGINE_DEFAULTS: Mapping[str, Mapping[str, float]] = {
    "llama-cpp-python": {
        "temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05,
        "repeat_penalty": 1.1, "presence_penalty": 0.0, "frequency_penalty": 0.0,
    },
    "llama.cpp": {
        "temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05,
        "repeat_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0,
    },
    "openai": {
        "temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0,
        "repeat_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0,
    },
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReplayInput:
    messages: tuple[Mapping[str, Any], ...]
    text: str  # the delivered completion
    stopped: bool  # finish_reason "stop": the model chose to end here
    params: SamplingParams


def _params(request: Mapping[str, Any], engine: str) -> SamplingParams:
    defaults = ENGINE_DEFAULTS.get(engine, ENGINE_DEFAULTS["llama-cpp-python"])

    def pick(name: str) -> float:
        value = request.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return float(defaults[name])

    return SamplingParams(
        temperature=pick("temperature"),
        top_k=int(pick("top_k")),
        top_p=pick("top_p"),
        min_p=pick("min_p"),
        repeat_penalty=pick("repeat_penalty"),
        presence_penalty=pick("presence_penalty"),
        frequency_penalty=pick("frequency_penalty"),
    )


def _delivered(response: Any) -> tuple[str, str | None]:
    """(text, finish_reason) of choice 0 of a chat completion or of its stream chunks."""
    if isinstance(response, Mapping):
        choice = _first_choice(response)
        message = choice.get("message")
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(content, str):
            raise ContentError("the response has no message content to replay")
        return content, choice.get("finish_reason")
    if isinstance(response, Sequence) and not isinstance(response, str | bytes):
        parts: list[str] = []
        finish = None
        for chunk in response:
            if not isinstance(chunk, Mapping) or not chunk.get("choices"):
                continue
            choice = _first_choice(chunk)
            delta = choice.get("delta")
            if isinstance(delta, Mapping) and isinstance(delta.get("content"), str):
                parts.append(delta["content"])
            finish = choice.get("finish_reason") or finish
        return "".join(parts), finish
    raise ContentError("the response is neither a completion nor a stream of chunks")


def _first_choice(body: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise ContentError("the response has no choices")
    return choices[0]


def parse_exchange(
    request: Any, response: Any, claims: Mapping[str, Any] | None = None
) -> ReplayInput:
    """ContentError when the exchange is not a chat completion that can be replayed.

    ``claims`` are the receipt's extension claims: ``inference.engine`` says whose
    defaults fill the sampling parameters the request left out.
    """
    claims = claims or {}
    if claims.get("endpoint", "/v1/chat/completions") != "/v1/chat/completions":
        raise ContentError("only chat completions are replayed")
    if not isinstance(request, Mapping) or not isinstance(request.get("messages"), list):
        raise ContentError("the request has no messages")
    if request.get("n") not in (None, 1) or request.get("tools") or request.get("grammar"):
        raise ContentError("n > 1, tools and grammars are not replayed")
    messages = tuple(m for m in request["messages"] if isinstance(m, Mapping))
    text, finish = _delivered(response)
    inference = claims.get("inference")
    engine = inference.get("engine") if isinstance(inference, Mapping) else None
    params = _params(request, engine if isinstance(engine, str) else "llama-cpp-python")
    stopped = finish == "stop" and not request.get("stop")
    return ReplayInput(messages, text, stopped, params)
