"""The dashboard's view of the transparency log: its latest checkpoint and cosignatures.

Read from what the log publishes — ``DIR/public/checkpoint`` of an embedded log
(``--log DIR``), or ``<url>/checkpoint`` of a standalone one (``--log-url``) — and
verified under the log's own key before anything of it is shown. Cosignature
lines (c2sp.org/tlog-cosignature) are listed with the time they claim; judging
them takes a witness policy, which is the verifier's business, not the dashboard's.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from llmseal.errors import Error
from llmseal.log import load_verifier, open_checkpoint
from llmseal.log.service import read_log_info
from llmseal.store.pg import is_postgres_url

__all__ = ["log_state"]

_COSIGNATURE_BYTES = 8 + 64  # u64 timestamp, then an Ed25519 signature


def _from_dir(log_dir: str) -> tuple[bytes, str, str]:
    info = read_log_info(log_dir)
    return (Path(log_dir) / "public" / "checkpoint").read_bytes(), info["origin"], info["vkey"]


def _from_url(log_url: str) -> tuple[bytes, str, str]:
    with httpx.Client(timeout=3.0, follow_redirects=False) as client:
        about = client.get(f"{log_url.rstrip('/')}/").raise_for_status().json()
        text = client.get(f"{log_url.rstrip('/')}/checkpoint").raise_for_status().content
    return text, str(about["origin"]), str(about["vkey"])


def _from_postgres(url: str) -> tuple[bytes, str, str]:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT c.body, i.origin, i.vkey FROM log_checkpoints c, log_info i"
                " WHERE c.name = 'checkpoint'"
            ).fetchone()
    except psycopg.Error as exc:
        raise OSError(str(exc).strip()) from exc
    if row is None:
        raise OSError("the database holds no log")
    return bytes(row[0]), str(row[1]), str(row[2])


def log_state(
    log_dir: str | None, log_url: str | None
) -> Callable[[], dict[str, Any] | None] | None:
    """A reader for the dashboard, or None when the gateway has no log."""
    if log_dir is not None and is_postgres_url(log_dir):
        fetch = functools.partial(_from_postgres, log_dir)
    elif log_dir is not None:
        fetch = functools.partial(_from_dir, log_dir)
    elif log_url is not None:
        fetch = functools.partial(_from_url, log_url)
    else:
        return None

    def read() -> dict[str, Any] | None:
        try:
            text, origin, vkey = fetch()
            log_key = load_verifier(vkey)
            signed = open_checkpoint(text, origin=origin, verifiers=[log_key])
        except (Error, OSError, httpx.HTTPError, ValueError, KeyError) as exc:
            return {"error": f"cannot read the log's checkpoint: {exc}"}
        cosignatures = [
            {
                "name": sig.name,
                "key_id": f"{sig.key_id:08x}",
                "time": int.from_bytes(sig.signature[:8], "big")
                if len(sig.signature) == _COSIGNATURE_BYTES
                else None,
            }
            for sig in signed.note.signatures
            if (sig.name, sig.key_id) != (log_key.name, log_key.key_id)
        ]
        return {
            "origin": signed.origin,
            "size": signed.size,
            "root": base64.b64encode(signed.root).decode("ascii"),
            "vkey": vkey,
            "checkpoint": text.decode("utf-8"),
            "cosignatures": cosignatures,
        }

    return read
