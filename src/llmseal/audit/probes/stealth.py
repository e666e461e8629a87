"""Probes phrased like ordinary traffic, and the cover traffic they hide in.

A seller that can tell probes from customers can route probes to the real model
and everything else to a cheaper one. Plain probes are easy to spot: a fixed
instruction suffix, ``max_tokens`` of 1 or 16, one shape for every request.
With ``EnrollOptions.style == "stealth"`` each family phrases its questions with a
seeded choice of everyday openings and answer requests, and sends them with the
settings an application commonly uses (``max_tokens`` 64–128; the logprob family
asks for ``top_logprobs`` as SDK users sometimes do and reads only the first
token). ``temperature`` stays 0: the families need the greedy answer, and
temperature 0 is ordinary for extraction and classification traffic; the cover
traffic (:func:`cover_probes`) uses exactly the same settings, so settings alone
say nothing about which request is a probe.

The reference is enrolled with the very requests the audit sends (each probe keeps
its ``send`` parameters), so the honest envelope is measured on the stealth
phrasing, not borrowed from the plain one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from llmseal.audit.family import EnrollOptions, Probe

__all__ = [
    "COVER_FAMILY",
    "MAX_TOKENS",
    "STYLES",
    "cover_probes",
    "dresser",
    "probe_body",
    "sent_params",
]

STYLES = ("plain", "stealth")
COVER_FAMILY = "cover"
MAX_TOKENS = (64, 80, 96, 128)
_OPENINGS = (
    "{q}",
    "Quick question: {q}",
    "Hi! {q}",
    "Settle a bet for me. {q}",
    "I'm helping my kid with homework. {q}",
    "Random thought: {q}",
    "Can you help? {q}",
    "{q} Thanks!",
    "For a pub quiz: {q}",
    "Just curious, {lq}",
)
_COVER = (
    "What should I cook tonight with rice and beans?",
    "Suggest a name for a small bakery.",
    "How do I politely decline a meeting invitation?",
    "Give me three tips for sleeping better.",
    "What is a good way to start learning the guitar?",
    "Summarise why people enjoy gardening.",
    "Write a short thank-you note to a colleague.",
    "What are some fun things to do on a rainy day?",
    "Explain what a spreadsheet is to a beginner.",
    "How can I keep houseplants alive?",
    "Recommend a board game for four players.",
    "What is the difference between a lake and a pond?",
    "Write a haiku about autumn.",
    "How do I make my emails shorter?",
    "What are healthy snacks for work?",
    "Give me a packing list for a weekend trip.",
    "Why is the sky blue?",
    "Translate 'good morning' into Spanish.",
    "What makes a good cover letter?",
    "Tell me a short joke about cats.",
)

Dress = Callable[[list[dict[str, Any]], Mapping[str, Any]], dict[str, Any]]


def dresser(options: EnrollOptions, family: str) -> Dress:
    """The body builder for ``family``'s enrollment requests in ``options.style``.

    Plain: the messages and the family's own parameters. Stealth: the user turn
    reworded with a seeded opening and the parameters replaced by ordinary ones
    (the family's ``logprobs``/``top_logprobs`` kept) — seeded per family, so the
    same options give the same bank.
    """
    if options.style == "plain":
        return lambda messages, params: {"messages": list(messages), **params}
    rng = random.Random(f"stealth:{family}:{options.seed}")  # noqa: S311 - a seeded, reproducible bank

    def dress(messages: list[dict[str, Any]], params: Mapping[str, Any]) -> dict[str, Any]:
        worded = [dict(m) for m in messages]
        last = worded[-1]
        text = str(last.get("content", ""))
        opening = rng.choice(_OPENINGS)
        lower = text[:1].lower() + text[1:]
        last["content"] = opening.format(q=text, lq=lower)
        sent = {k: v for k, v in params.items() if k in ("logprobs", "top_logprobs")}
        return {"messages": worded, **_ordinary(rng), **sent}

    return dress


def _ordinary(rng: random.Random) -> dict[str, Any]:
    return {"max_tokens": rng.choice(MAX_TOKENS), "temperature": 0}


def sent_params(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``send`` member a probe keeps when its request is not the family's default.

    Stealth bodies carry their own parameters (recorded so the audit sends exactly
    what enrollment measured); plain ones are rebuilt from the section's defaults.
    """
    params = {k: v for k, v in body.items() if k not in ("messages", "model")}
    return {"send": params} if body.get("max_tokens") in MAX_TOKENS else {}


def probe_body(item: Mapping[str, Any], default: Mapping[str, Any]) -> dict[str, Any]:
    """The request for an enrolled probe: its recorded ``send`` parameters, else ``default``."""
    send = item.get("send")
    params = dict(send) if isinstance(send, dict) else dict(default)
    return {"messages": list(item["messages"]), **params}


def cover_probes(rng: random.Random, *, logprobs: float = 0.5) -> Iterator[Probe]:
    """Endless cover requests: everyday questions with the stealth probes' settings.

    They are sent and signed like probes but no family scores them (family ``cover``);
    ``logprobs`` is the share that asks for top logprobs, matching the probes'.
    """
    n = 0
    while True:
        n += 1
        opening = rng.choice(_OPENINGS)
        text = rng.choice(_COVER)
        body: dict[str, Any] = {
            "messages": [{"role": "user", "content": opening.format(
                q=text, lq=text[:1].lower() + text[1:])}],
            **_ordinary(rng),
        }  # fmt: skip
        if rng.random() < logprobs:
            body.update(logprobs=True, top_logprobs=5)
        yield Probe(id=f"cover:{n}", family=COVER_FAMILY, body=body)
