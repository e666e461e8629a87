"""The gateway's HTTP contract: an OpenAPI 3.1 document, served at ``GET /openapi.json``.

It covers what the gateway itself answers: the sealed routes (their bodies are
the upstream's, so only the members the gateway adds or writes are fixed), the
receipt API (seed 004, "API surface") and the health check. The test suite runs
schemathesis against a live gateway with it: no 5xx, every response as written
here (``tests/integration/gateway/test_openapi.py``).
"""

from __future__ import annotations

from typing import Any

import orjson

from llmseal.core.receipt import CORE_MEMBERS

__all__ = ["OPENAPI_JSON", "document"]

_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


_ERROR = _json(_ref("Error"), "An OpenAI-style error; never a receipt.")
_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "code"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "code": {"type": ["string", "integer"]},
                },
            }
        },
    },
    "Receipt": {
        "description": "An Attested AI-Assisted Work v0.3 receipt; other members are "
        "signed extension claims (docs/spec/receipt.md).",
        "type": "object",
        "required": list(CORE_MEMBERS),
        "properties": {
            "receipt_id": {"type": "string"},
            "model_id": {"type": "string"},
            "prompt_hash": _HEX64,
            "output_hash": _HEX64,
            "issued_at": {
                "type": "string",
                "pattern": "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$",
            },
            "nonce": {"type": "string"},
            "key_id": {"type": "string"},
            "signature": {"type": "string"},
            "weight_hash": _HEX64,
        },
    },
    "KeySet": {
        "type": "object",
        "required": ["keys"],
        "properties": {
            "keys": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key_id", "public_key", "status"],
                    "properties": {
                        "key_id": {"type": "string"},
                        "public_key": {"type": "string"},
                        "status": {"enum": ["active", "revoked"]},
                        "created_at": {"type": ["string", "null"]},
                        "rotated_at": {"type": ["string", "null"]},
                        "algorithm": {"type": "string"},
                    },
                },
            }
        },
    },
    "Verification": {
        "type": "object",
        "required": ["status", "key_id", "issued_at", "reasons"],
        "properties": {
            "status": {"enum": ["valid", "tampered", "unknown_key", "revoked"]},
            "key_id": {"type": "string"},
            "issued_at": {"type": "string"},
            "reasons": {"type": "array", "items": {"type": "string"}},
        },
    },
    "VerifyRequest": {
        "type": "object",
        "required": ["receipt"],
        "properties": {
            "receipt": _ref("Receipt"),
            "prompt": {"type": ["string", "object", "array"]},
            "output": {"type": ["string", "object", "array"]},
        },
    },
    "SealedAnswer": {
        "description": "The upstream's JSON answer with the members the gateway adds.",
        "type": "object",
        "required": ["receipt"],
        "properties": {"receipt": _ref("Receipt"), "receipt_evidence": {"type": "object"}},
    },
    "StreamEvent": {
        "description": "The data of one SSE event: a chunk (JSON object) or [DONE]; the "
        "receipt travels in a comment (docs/spec/stream.md), which has no data.",
        "type": ["object", "string"],
    },
    "ExchangeRequest": {
        "description": "Any JSON object: hashed exactly as received, then forwarded.",
        "type": "object",
        "properties": {"model": {"type": "string"}, "stream": {"type": "boolean"}},
    },
}


def _sealed(summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": [
                {
                    "name": "X-Receipt-Request",
                    "in": "header",
                    "required": False,
                    "schema": {"enum": ["true"]},
                    "description": "Ask for a receipt when the gateway runs --receipts on-request.",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {_JSON: {"schema": _ref("ExchangeRequest")}},
            },
            "responses": {
                "200": {
                    "description": "The upstream's answer, sealed (a JSON body with `receipt`, "
                    "or an SSE stream whose receipt is a framing-2 comment).",
                    "headers": {"X-Receipt-Id": {"schema": {"type": "string"}}},
                    "content": {
                        _JSON: {"schema": _ref("SealedAnswer")},
                        "text/event-stream": {"schema": _ref("StreamEvent")},
                    },
                },
                "400": _ERROR,
                "413": _ERROR,
                "502": _ERROR,
                "503": _ERROR,
                "504": _ERROR,
                "default": _json(
                    {"type": "object"}, "An upstream 4xx/5xx JSON answer, sealed as it was."
                ),
            },
        }
    }


def _get(schema: dict[str, Any], description: str, *, missing: bool = False) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _json(schema, description)}
    if missing:
        responses["404"] = _ERROR
        responses["503"] = _ERROR
    return {"get": {"summary": description, "responses": responses}}


_RECEIPT_ID = {"name": "receipt_id", "in": "path", "required": True, "schema": {"type": "string"}}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the gateway's own routes."""
    one = _get(_ref("Receipt"), "A stored receipt, byte for byte as delivered", missing=True)
    one["get"]["parameters"] = [_RECEIPT_ID]
    check = _get(_ref("Verification"), "Verify a stored receipt", missing=True)
    check["get"]["parameters"] = [_RECEIPT_ID]
    verify = {
        "post": {
            "summary": "Verify a receipt and, when given, the content it covers",
            "requestBody": {
                "required": True,
                "content": {_JSON: {"schema": _ref("VerifyRequest")}},
            },
            "responses": {
                "200": _json(_ref("Verification"), "The verdict"),
                "400": _ERROR,
                "413": _ERROR,
            },
        }
    }
    health = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "llmseal gateway",
            "version": "0.3",
            "description": "Signed receipts for LLM answers (docs/gateway.md).",
        },
        "paths": {
            "/v1/chat/completions": _sealed("OpenAI chat completion, sealed"),
            "/v1/completions": _sealed("OpenAI completion, sealed"),
            "/v1/messages": _sealed("Anthropic message, sealed"),
            "/v1/responses": _sealed("OpenAI Responses API response, sealed"),
            "/v1/embeddings": _sealed("OpenAI embeddings, sealed"),
            "/v1/receipts/keys": _get(_ref("KeySet"), "The public key set"),
            "/v1/receipts/verify": verify,
            "/v1/receipts/{receipt_id}": one,
            "/v1/receipts/{receipt_id}/verify": check,
            "/healthz": _get(health, "Liveness"),
        },
        "components": {"schemas": _SCHEMAS},
    }


OPENAPI_JSON = orjson.dumps(document())
