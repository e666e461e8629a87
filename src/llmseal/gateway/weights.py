"""``llmseal serve --weights``: bind every receipt to committed weights, and prove them.

At startup (:func:`prepare_weights`, once, before any worker) the gateway asks the
upstream which file it serves — llama.cpp's ``GET /props`` (``model_path``), or a
``/v1/models`` id that is a file path (llama-cpp-python without an alias) — and
hashes that file: a different file is a refusal to start, as is an upstream that
cannot be asked. An upstream that names no file leaves the binding as the operator's
word (``inference.weights_check = "unverified"``), and ``--weights-file`` is then the
file whose chunks are served.

Routes (``docs/spec/weights.md``):

* ``GET /v1/receipts/weights/<weight_hash>``            the manifest (RFC 8785 JSON)
* ``GET /v1/receipts/weights/<weight_hash>/chunk/<i>``  chunk ``i`` with its inclusion proof
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from llmseal.errors import ConfigError, WeightsError, WeightsMismatchError
from llmseal.gateway._http import send_bytes, send_error, send_json
from llmseal.gateway._types import Send
from llmseal.gateway.config import GatewayConfig
from llmseal.weights import WeightManifest, check_file
from llmseal.weights.commit import mapped
from llmseal.weights.proof import ChunkProver

__all__ = ["WeightsApi", "WeightsBinding", "prepare_weights"]

log = logging.getLogger("llmseal.gateway")


def _read_manifest(path: str) -> WeightManifest:
    try:
        return WeightManifest.from_json(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read --weights {path}: {exc.strerror}") from exc


def _upstream_model_file(config: GatewayConfig) -> tuple[str | None, dict[str, Any]]:
    """(model path the upstream names, engine facts it tells); ConfigError if unreachable."""
    base = config.upstream.rstrip("/")
    facts: dict[str, Any] = {}
    try:
        with httpx.Client(timeout=config.connect_timeout) as client:
            props = client.get(f"{base}/props")
            if props.status_code == 200:
                body = props.json()
                if isinstance(body, dict):
                    facts["engine"] = "llama.cpp"
                    if isinstance(body.get("build_info"), str):
                        facts["engine_version"] = body["build_info"]
                    path = body.get("model_path")
                    if isinstance(path, str) and path:
                        return path, facts
            models = client.get(f"{base}/v1/models")
            ids = [m.get("id") for m in models.json().get("data", []) if isinstance(m, dict)]
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise ConfigError(f"--weights: cannot ask the upstream what it serves: {exc}") from exc
    paths = [i for i in ids if isinstance(i, str) and os.path.isabs(i)]
    return (paths[0] if paths else None), facts


def prepare_weights(config: GatewayConfig) -> GatewayConfig:
    """Check the upstream and files against the manifest; return the config to run with.

    Raises WeightsMismatchError (refuse to start) when the upstream serves another
    file, ConfigError when the check cannot be made.
    """
    if config.weights is None:
        return config
    manifest = _read_manifest(config.weights)
    named, facts = _upstream_model_file(config)
    if named is not None:
        if not os.path.isfile(named):
            raise ConfigError(f"--weights: the upstream serves {named}, which is not readable here")
        try:
            check_file(named, manifest)
        except WeightsMismatchError as exc:
            raise WeightsMismatchError(f"refusing to start: the upstream serves {exc}") from exc
        facts["weights_check"] = "upstream-file"
    else:
        facts["weights_check"] = "unverified"
        log.warning("the upstream does not say which file it serves: weight_hash is unverified")
    chunk_file = config.weights_file or named
    if config.weights_file is not None and config.weights_file != named:
        check_file(config.weights_file, manifest)
    inference = {**facts, **(config.inference or {})}
    return replace(config, weights_file=chunk_file, inference=inference)


@dataclass
class WeightsBinding:
    """What a worker needs: the manifest, its bytes, the claim, and a prover when it has a file."""

    manifest: WeightManifest
    manifest_json: bytes
    inference: dict[str, Any]
    prover: ChunkProver | None
    _files: ExitStack

    @classmethod
    def load(cls, config: GatewayConfig) -> WeightsBinding | None:
        if config.weights is None:
            return None
        manifest = _read_manifest(config.weights)
        files = ExitStack()
        prover = None
        if config.weights_file is not None:
            view = files.enter_context(mapped(config.weights_file))
            try:
                prover = ChunkProver(manifest, view)
            except WeightsError:
                files.close()
                raise
        inference = dict(config.inference or {})
        return cls(manifest, manifest.to_json(), inference, prover, files)

    def close(self) -> None:
        self.prover = None
        self._files.close()


class WeightsApi:
    def __init__(self, binding: WeightsBinding) -> None:
        self.binding = binding

    async def handle(self, path: str, method: str, send: Send) -> int:
        parts = path.rstrip("/").split("/")[4:]  # after /v1/receipts/weights
        wh = self.binding.manifest.weight_hash
        if method != "GET" or not parts:
            return await send_error(send, 404, "no such weights endpoint", "not_found")
        if parts[0] != wh:
            return await send_error(send, 404, f"no weights {parts[0][:80]!r} here", "not_found")
        if len(parts) == 1:
            await send_bytes(send, 200, self.binding.manifest_json,
                             headers=[(b"cache-control", b"public, max-age=86400")])  # fmt: skip
            return 200
        if len(parts) == 3 and parts[1] == "chunk" and parts[2].isdigit():
            return await self._chunk(int(parts[2]), send)
        return await send_error(send, 404, "no such weights endpoint", "not_found")

    async def _chunk(self, index: int, send: Send) -> int:
        prover = self.binding.prover
        if prover is None:
            return await send_error(send, 404, "this gateway serves no weight chunks", "not_found")
        if index >= self.binding.manifest.chunk_count:
            return await send_error(send, 404, f"no chunk {index}", "not_found")
        answer = await asyncio.to_thread(prover.prove, index)
        await send_json(send, 200, answer)
        return 200
