"""Sealed NDJSON streams (Ollama's native API) from the gateway's sealing code, for the JS tests.

``python -m tests.unit.js.ndjson_vectors`` writes ``tests/vectors/llmseal/ndjson.json``:
streams sealed by :class:`~llmseal.gateway.sealing.sealing.Sealer` on ``/api/chat`` (the code
that seals real traffic, fed in small pieces), and the ways each can be broken, each
with the status the Python verifier gives it (``test_ndjson_vectors.py`` re-checks
them; ``js/test/ndjson.test.js`` requires the same of ``verify``).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmseal.core.ndjson import read_ndjson
from llmseal.core.verify import verify_receipt
from llmseal.errors import Error
from tests.unit.js.python_vectors import OUT as SIGNED
from tests.unit.js.python_vectors import T0, _Gateway, keyset, signers

__all__ = ["OUT", "build", "judge", "main"]

OUT = SIGNED.with_name("ndjson.json")
REQUEST = {
    "model": "smollm2",
    "messages": [{"role": "user", "content": "Why is the sky blue? 世界"}],
}
WORDS = ["Rayleigh", " scattering", " — short", " waves", " scatter", " more."]


def _lines() -> bytes:
    out = b""
    for word in WORDS:
        line = {"model": "smollm2", "created_at": "2026-04-12T14:32:00Z",
                "message": {"role": "assistant", "content": word}, "done": False}  # fmt: skip
        out += json.dumps(line, ensure_ascii=False).encode() + b"\n"
    done = {"model": "smollm2", "created_at": "2026-04-12T14:32:01Z",
            "message": {"role": "assistant", "content": ""}, "done": True,
            "done_reason": "stop", "prompt_eval_count": 12, "eval_count": 6}  # fmt: skip
    return out + json.dumps(done).encode() + b"\n"


def judge(text: str, prompt: str | None) -> dict[str, Any]:
    """The Python verdict: status and the content checked (``error`` for a bad stream)."""
    try:
        saved = read_ndjson(text.encode("utf-8"))
        if saved.receipt is None:
            return {"expected": "error", "content_checked": []}
        result = verify_receipt(
            saved.receipt.receipt, keyset(), prompt=prompt, output=list(saved.chunks)
        )
    except Error:
        return {"expected": "error", "content_checked": []}
    return {"expected": result.status.value, "content_checked": list(result.content_checked)}


def _variant(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _receipt_line(text: str) -> str:
    return text.rstrip("\n").rsplit("\n", 1)[1]


async def _sealed(directory: Path) -> str:
    gateway = _Gateway(signers()["py-ed25519"], directory, T0)
    return await gateway.stream("/api/chat", REQUEST, _lines())


def build() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        sealed = asyncio.run(_sealed(Path(directory)))
    prompt = json.dumps(REQUEST, ensure_ascii=False)
    line = _receipt_line(sealed)
    edits: list[tuple[str, Callable[[str], str], str | None]] = [
        ("sealed NDJSON chat stream", lambda t: t, None),
        ("sealed NDJSON chat stream with its request", lambda t: t, prompt),
        ("answered to another request", lambda t: t, prompt.replace("blue", "red")),
        ("CRLF line ends and blank lines", lambda t: t.replace("\n", "\r\n\r\n"), None),
        ("one token changed", lambda t: _variant(t, " scatter", " scatters"), None),
        ("a line dropped", lambda t: _variant(t, t.split("\n")[1] + "\n", ""), None),
        ("usage claim inflated", lambda t: _variant(t, '"eval_count":6', '"eval_count":60'), None),
        ("a line after the receipt", lambda t: t + t.split("\n")[0] + "\n", None),
        ("two receipt lines", lambda t: t + line + "\n", None),
        ("content hidden in the receipt line",
         lambda t: t.replace(line, line.replace('"response":""', '"response":"psst"')), None),
        ("a receipt line with another member",
         lambda t: t.replace(line, line[:-1] + ',"note":"x"}'), None),
        ("a receipt line of another framing",
         lambda t: t.replace(line, line.replace('_receipt":2', '_receipt":3')), None),
        ("no receipt line", lambda t: t.replace(line + "\n", ""), None),
    ]  # fmt: skip
    cases = []
    for name, edit, given in edits:
        text = edit(sealed)
        case: dict[str, Any] = {"name": name, "input": text, "options": {}}
        if given is not None:
            case["options"]["prompt"] = given
        cases.append({**case, **judge(text, given)})
    return {"keyset": keyset().to_dict(), "cases": cases}


def main(write: Callable[[str], Any] = OUT.write_text) -> None:
    write(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
