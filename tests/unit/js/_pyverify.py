"""The Python verifier applied to what a user would paste into the JS verifier.

Mirrors the inputs ``verify()`` in ``js/src/verify.js`` accepts — a sealed
response, a saved SSE stream, a receipt — with the Python library's own parts,
so both verifiers can be asked the same question.
"""

from __future__ import annotations

from typing import Any

from llmseal.core.canonical import loads
from llmseal.core.framing import read_stream
from llmseal.core.keyset import KeySet
from llmseal.core.verify import Verification, verify_receipt

__all__ = ["python_verify"]


def python_verify(input_: Any, keys: Any, options: dict[str, Any]) -> Verification:
    """Raises an InputError subclass where the JS verifier answers ``error``."""
    output: Any = None
    if isinstance(input_, str) and input_.lstrip().startswith(("data:", "event:", ":")):
        saved = read_stream(input_.encode())
        assert saved.receipt is not None
        receipt, output = saved.receipt.receipt, list(saved.chunks)
    else:
        value = loads(input_) if isinstance(input_, str) else input_
        receipt, output = (value["receipt"], value) if "receipt" in value else (value, None)
    prompt = options.get("prompt")
    if "output" in options:
        output = options["output"]
    return verify_receipt(
        receipt,
        KeySet.from_obj(keys),
        prompt=None if prompt is None else prompt.encode(),
        output=output.encode() if isinstance(output, str) else output,
    )
