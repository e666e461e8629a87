"""The fixed ~2 KB chat request/response pair every benchmark uses."""

from __future__ import annotations

from typing import Any

__all__ = ["REQUEST", "RESPONSE", "payload_sizes"]

_ANSWER = (
    "The sky looks blue because of Rayleigh scattering. Sunlight contains every colour, "
    "but the nitrogen and oxygen molecules in the atmosphere are much smaller than the "
    "wavelength of visible light, and they scatter short wavelengths far more strongly "
    "than long ones - roughly with the inverse fourth power of the wavelength. Blue light "
    "is therefore redirected across the whole sky and reaches your eyes from every "
    "direction, while most of the red and yellow light travels on in a straight line. "
    "Violet is scattered even more, but the Sun emits less of it and our eyes are less "
    "sensitive to it, so the mix we perceive is sky blue. At sunset the light crosses a "
    "much longer path through the air: most of the blue has been scattered away before "
    "it reaches you, which leaves the oranges and reds. A simple example: shine a torch "
    "through a glass of water with a few drops of milk; seen from the side the beam looks "
    "bluish, and seen end-on the light that comes through looks orange. Café owners in "
    "Zürich call this «le bleu du ciel» – same physics. "
)

REQUEST: dict[str, Any] = {
    "model": "smollm2-135m-instruct",
    "messages": [
        {"role": "system", "content": "You are a concise, accurate science tutor."},
        {
            "role": "user",
            "content": "Why is the sky blue? Answer in a short paragraph with one example.",
        },
    ],
    "max_tokens": 400,
    "temperature": 0.7,
    "top_p": 0.95,
    "seed": 42,
    "stream": False,
}

RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-bdcf39e7-ab21-4921-bb23-121f5ba08fdc",
    "object": "chat.completion",
    "created": 1795312707,
    "model": "smollm2-135m-instruct",
    "system_fingerprint": "b4242-llama.cpp",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": _ANSWER},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 41, "completion_tokens": 262, "total_tokens": 303},
}


def payload_sizes() -> tuple[int, int]:
    """Compact JSON sizes of the request and the response, in bytes."""
    import orjson

    return len(orjson.dumps(REQUEST)), len(orjson.dumps(RESPONSE))
