"""``llmseal serve --weights``: bind every receipt to committed weights, and prove them.

At startup (:func:`prepare_weights`, once, before any worker) the gateway asks the
upstream which file it serves — llama.cpp's ``GET /props`` (``model_path``), or a
``/v1/models`` id that is a file path (llama-cpp-python without an alias) — and
hashes that file: a different file is a refusal to start, as is an upstream that
cannot be asked. Ollama names no file but tells each model's digest (``GET /api/tags``,
the SHA-256 of its GGUF blob): every model offered (only ``--model-id``'s, when given)
must have the manifest's whole-file SHA-256 (``weights_check = "upstream-digest"``).
An upstream that tells neither leaves the binding as the operator's word
(``inference.weights_check = "unverified"``), and ``--weights-file`` is then the
file whose chunks are served.

Routes (``docs/spec/weights.md``):

* ``GET /v1/receipts/weights/<weight_hash>``            the manifest (RFC 8785 JSON)
* ``GET /v1/receipts/weights/<weight_hash>/chunk/<i>``  chunk ``i`` with its inclusion proof
* ``GET /v1/receipts/weights/<weight_hash>/receipt``    the manifest sealed by the logged
  commitment receipt (:mod:`llmseal.gateway.weights.commitment`), its tlog-proof once published
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import orjson

from llmseal.errors import ConfigError, WeightsError, WeightsMismatchError
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.http._asgi import send_bytes, send_error, send_json
from llmseal.gateway.http._types import Send
from llmseal.gateway.receipts.receipt_log import ReceiptLogger
from llmseal.store.base import StoredReceipt
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


@dataclass(frozen=True)
class _Served:
    """What the upstream tells about the weights it serves."""

    path: str | None  # a model file path (llama.cpp /props, llama-cpp-python /v1/models)
    digests: tuple[str, ...]  # SHA-256 of the model blobs (Ollama /api/tags)
    facts: dict[str, Any]


def _upstream_served(config: GatewayConfig) -> _Served:
    """Ask the upstream what it serves; ConfigError if it cannot be asked."""
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
                        return _Served(path, (), facts)
            digests = _ollama_digests(client, base, config.model_id, facts)
            if digests:
                return _Served(None, digests, facts)
            models = client.get(f"{base}/v1/models")
            ids = [m.get("id") for m in models.json().get("data", []) if isinstance(m, dict)]
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise ConfigError(f"--weights: cannot ask the upstream what it serves: {exc}") from exc
    paths = [i for i in ids if isinstance(i, str) and os.path.isabs(i)]
    return _Served(paths[0] if paths else None, (), facts)


def _ollama_digests(
    client: httpx.Client, base: str, model_id: str | None, facts: dict[str, Any]
) -> tuple[str, ...]:
    """The digests of the models Ollama offers (only ``--model-id``'s when given)."""
    tags = client.get(f"{base}/api/tags")
    if tags.status_code != 200:
        return ()
    body = tags.json()
    models = body.get("models") if isinstance(body, dict) else None
    if not isinstance(models, list):
        return ()
    digests = []
    for m in models:
        digest = m.get("digest") if isinstance(m, dict) else None
        if not isinstance(digest, str) or not digest:
            continue
        if model_id is not None and model_id not in (m.get("name"), m.get("model")):
            continue
        digests.append(digest.lower().removeprefix("sha256:"))
    if digests:
        facts["engine"] = "ollama"
        version = client.get(f"{base}/api/version")
        answer = version.json() if version.status_code == 200 else None
        if isinstance(answer, dict) and isinstance(answer.get("version"), str):
            facts["engine_version"] = answer["version"]
    return tuple(digests)


def _check_digests(digests: tuple[str, ...], manifest: WeightManifest) -> None:
    """Every model the upstream offers must be the committed file (constant-time compare)."""
    want = manifest.file_sha256.encode()
    for digest in digests:
        if not hmac.compare_digest(digest.encode(), want):
            raise WeightsMismatchError(
                f"refusing to start: the upstream serves a model with digest sha256:{digest[:64]},"
                f" not the committed file's sha256:{manifest.file_sha256}"
            )


def prepare_weights(config: GatewayConfig) -> GatewayConfig:
    """Check the upstream and files against the manifest; return the config to run with.

    Raises WeightsMismatchError (refuse to start) when the upstream serves another
    file, ConfigError when the check cannot be made.
    """
    if config.weights is None:
        return config
    manifest = _read_manifest(config.weights)
    served = _upstream_served(config)
    named, facts = served.path, served.facts
    if named is not None:
        if not os.path.isfile(named):
            raise ConfigError(f"--weights: the upstream serves {named}, which is not readable here")
        try:
            check_file(named, manifest)
        except WeightsMismatchError as exc:
            raise WeightsMismatchError(f"refusing to start: the upstream serves {exc}") from exc
        facts["weights_check"] = "upstream-file"
    elif served.digests:
        _check_digests(served.digests, manifest)
        facts["weights_check"] = "upstream-digest"
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
    def __init__(
        self,
        binding: WeightsBinding,
        commitment: StoredReceipt | None = None,
        logger: ReceiptLogger | None = None,
    ) -> None:
        self.binding = binding
        self.commitment = commitment  # the logged commitment receipt (with a log only)
        self.logger = logger

    async def handle(self, path: str, method: str, send: Send) -> int:
        parts = path.rstrip("/").split("/")[4:]  # after /v1/receipts/weights
        wh = self.binding.manifest.weight_hash
        if method != "GET" or not parts:
            return await send_error(send, 404, "no such weights endpoint", "not_found")
        if parts[0] != wh:
            return await send_error(send, 404, f"no weights {parts[0][:80]!r} here", "not_found")
        if len(parts) == 1:
            headers = [(b"cache-control", b"public, max-age=86400")]
            if self.commitment is not None:
                headers.append((b"x-receipt-id", self.commitment.receipt_id.encode()))
            await send_bytes(send, 200, self.binding.manifest_json, headers=headers)
            return 200
        if len(parts) == 2 and parts[1] == "receipt":
            return await self._commitment(send)
        if len(parts) == 3 and parts[1] == "chunk" and parts[2].isdigit():
            return await self._chunk(int(parts[2]), send)
        return await send_error(send, 404, "no such weights endpoint", "not_found")

    async def _commitment(self, send: Send) -> int:
        if self.commitment is None or self.logger is None:
            return await send_error(send, 404, "this gateway logs no commitment", "not_found")
        # The manifest as a sealed response: its members, the receipt over them, and the
        # log proof beside it (so `llmseal verify` checks the output hash too).
        members: dict[str, Any] = {
            **orjson.loads(self.binding.manifest_json),
            "receipt": orjson.Fragment(self.commitment.body),
        }
        proof = await self.logger.proof_of(self.commitment, 0.5)
        if proof is not None:
            members["receipt_evidence"] = {"log": proof}
        await send_bytes(send, 200, orjson.dumps(members))
        return 200

    async def _chunk(self, index: int, send: Send) -> int:
        prover = self.binding.prover
        if prover is None:
            return await send_error(send, 404, "this gateway serves no weight chunks", "not_found")
        if index >= self.binding.manifest.chunk_count:
            return await send_error(send, 404, f"no chunk {index}", "not_found")
        answer = await asyncio.to_thread(prover.prove, index)
        await send_json(send, 200, answer)
        return 200
