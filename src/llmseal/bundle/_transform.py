"""Recomputing a hop's declared transform between two JSON bodies (RFC 6901 pointers).

``reserialize`` keeps the ``preserves`` pointers equal, ``redact`` replaces the
``paths`` pointers by :data:`REDACTED` and changes nothing else, ``augment`` adds
the ``added`` pointers and changes nothing else. Bodies are compared by their
content hash (a response without the members gateways add).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmseal.core.hashing import hash_json, hash_response

__all__ = ["REDACTED", "apply_transform"]

REDACTED = "[redacted]"
_MISSING = object()


def apply_transform(
    op: str, spec: Mapping[str, Any], before: Any, after: Any, *, response: bool
) -> str | None:
    pointers = spec.get({"reserialize": "preserves", "redact": "paths", "augment": "added"}[op], [])
    if not isinstance(pointers, list) or not all(isinstance(p, str) for p in pointers):
        return "its pointers are not a list of JSON pointers"
    if op == "reserialize":
        changed = [p for p in pointers if not _same(_get(before, p), _get(after, p))]
        return f"{changed} differ" if changed else None
    edited, target = before, after
    if op == "redact":
        for pointer in pointers:
            edited = _put(edited, pointer, REDACTED)
    else:
        for pointer in pointers:
            target = _put(target, pointer, _MISSING)
    digest = hash_response if response else hash_json
    return None if digest(edited) == digest(target) else "other members differ too"


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (so ``true`` is not ``1``, as Python's ``==`` would have it)."""
    if a is _MISSING or b is _MISSING:
        return False
    return bool(hash_json(a) == hash_json(b))


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(pointer)
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _get(value: Any, pointer: str) -> Any:
    try:
        for token in _tokens(pointer):
            if isinstance(value, Mapping):
                value = value.get(token, _MISSING)
            elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
                value = value[int(token)]
            else:
                return _MISSING
            if value is _MISSING:
                return _MISSING
    except ValueError:
        return _MISSING
    return value


def _put(value: Any, pointer: str, new: Any) -> Any:
    """A copy of ``value`` with ``pointer`` set to ``new`` (or removed for _MISSING)."""
    try:
        tokens = _tokens(pointer)
    except ValueError:
        return value
    if not tokens:
        return value
    head, rest = (
        tokens[0],
        "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in tokens[1:]),
    )
    if isinstance(value, Mapping) and head in value:
        copy = dict(value)
        if len(tokens) == 1:
            if new is _MISSING:
                del copy[head]
            else:
                copy[head] = new
        else:
            copy[head] = _put(value[head], rest, new)
        return copy
    if isinstance(value, list) and head.isdigit() and int(head) < len(value):
        items = list(value)
        items[int(head)] = (
            new if len(tokens) == 1 and new is not _MISSING else _put(items[int(head)], rest, new)
        )
        return items
    return value
