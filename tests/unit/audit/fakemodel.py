"""A deterministic stand-in for a chat model, for the family units (the real models are in
tests/integration/audit). Answers depend on the prompt through a salted hash, so two
salts are two different "models"; ``noisy`` flips a fixed fifth of the answers, like
an honest kernel variation."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from llmseal.audit.family import SourceAnswer

TOKENS = ("The", "A", "In", "I", "Once", "Sure", "Here")


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


def answer(
    body: Mapping[str, Any], *, salt: str = "smol", noisy: bool = False, extra_tokens: int = 0,
    logprobs: bool = True, shift: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    prompt = " ".join(str(m.get("content")) for m in body["messages"])
    h = _h(salt, prompt)
    flipped = noisy and _h("noise", prompt) % 5 == 0
    if flipped:
        h += 97
    usage = {"prompt_tokens": len(prompt.split()) + 20 + extra_tokens, "completion_tokens": 1,
             "total_tokens": 0}  # fmt: skip
    if body.get("max_tokens") == 1 or (body.get("top_logprobs") or 0) >= 5:
        order = [TOKENS[(h + i) % len(TOKENS)] for i in range(5)]
        # fixed top-5 values: a different model (salt) ranks the tokens differently
        top = [{"token": t, "logprob": -0.4 - 0.6 * i + shift * (-1) ** i}
               for i, t in enumerate(order)]  # fmt: skip
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant",
                                                          "content": order[0]}}  # fmt: skip
        if logprobs and body.get("logprobs"):
            choice["logprobs"] = {"content": [{"token": order[0], "logprob": top[0]["logprob"],
                                               "top_logprobs": top}]}  # fmt: skip
    else:
        text = f"The answer is {h % 997}."
        choice = {"index": 0, "message": {"role": "assistant", "content": text}}
        if body.get("logprobs"):
            # a narrow margin on a fixed quarter of the prompts: the answers kernel noise
            # could flip, which the margin screen drops
            gap = 0.1 if _h("margin", prompt) % 4 == 0 else 3.0
            pieces = ["The", " answer", " is", f" {h % 997}", "."]
            choice["logprobs"] = {"content": [
                {"token": t, "logprob": -0.1, "top_logprobs": [
                    {"token": t, "logprob": -0.1}, {"token": "x", "logprob": -0.1 - gap}]}
                for t in pieces]}  # fmt: skip
    return {"id": "x", "object": "chat.completion", "choices": [choice], "usage": usage}


class FakeSource:
    def __init__(self, label: str, kind: str = "weights", **model: Any) -> None:
        self._label = label
        self._kind = kind
        self.model = model
        self.asked = 0

    @property
    def label(self) -> str:
        return self._label

    @property
    def kind(self) -> str:
        return self._kind

    def ask(self, method: str, endpoint: str, body: Mapping[str, Any] | None) -> SourceAnswer:
        self.asked += 1
        if method == "GET":
            return SourceAnswer(200, {"object": "list", "data": [
                {"id": "smollm2-135m-instruct", "object": "model", "owned_by": "me"}]},
                {"server": "uvicorn"})  # fmt: skip
        assert body is not None
        return SourceAnswer(200, answer(body, **self.model))
