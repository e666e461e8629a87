"""Loading references from a fingerprint pack (minimal form, until the pack format lands).

:func:`load_pack` accepts a pack ``{"references": [...], ...}`` or a bare reference
(``REF.json``); every reference is id-checked (:meth:`Reference.from_dict`). The
signed pack format (``packId``, publisher signature, expiry, trust policy) replaces
this module's body; its contract — a path in, id-checked references out — stays.
"""

from __future__ import annotations

from pathlib import Path

from llmseal.audit.reference import Reference
from llmseal.core.canonical import loads
from llmseal.errors import ContentError, InputError

__all__ = ["load_pack"]


def load_pack(path: str | Path) -> list[Reference]:
    """The references of the pack (or bare reference) at ``path``."""
    try:
        data = loads(Path(path).read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except ContentError as exc:
        raise InputError(f"{path} is not JSON: {exc}") from exc
    if isinstance(data, dict) and "reference_id" in data:
        return [Reference.from_dict(data)]
    refs = data.get("references") if isinstance(data, dict) else None
    if not isinstance(refs, list) or not refs:
        raise InputError(f"{path} is neither a fingerprint pack nor a reference")
    return [Reference.from_dict(r) for r in refs]
