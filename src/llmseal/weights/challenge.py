"""``llmseal weights challenge``: ask an issuer for random chunks and check every proof.

Each sample costs the issuer one chunk read and the challenger one leaf hash and
O(log n) node hashes. An issuer missing a fraction ``f`` of the committed bytes
passes ``K`` uniform samples with probability about ``(1 - f)^K``.
"""

from __future__ import annotations

import random
import secrets
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx

from llmseal.errors import NetworkError
from llmseal.weights.manifest import WeightManifest
from llmseal.weights.proof import ChunkCheck, verify_chunk

__all__ = ["ChallengeResult", "chunk_url", "run_challenge"]


@dataclass(frozen=True, slots=True)
class ChallengeResult:
    weight_hash: str
    checks: tuple[ChunkCheck, ...]
    verify_ms: tuple[float, ...]

    @property
    def good(self) -> int:
        return sum(c.ok for c in self.checks)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and self.good == len(self.checks)

    @property
    def median_verify_ms(self) -> float:
        return statistics.median(self.verify_ms) if self.verify_ms else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "weight_hash": self.weight_hash,
            "passed": self.passed,
            "samples": len(self.checks),
            "verified": self.good,
            "median_verify_ms": round(self.median_verify_ms, 3),
            "failures": [
                {"index": c.index, "region": c.region, "reason": c.reason}
                for c in self.checks
                if not c.ok
            ],
        }


def chunk_url(base: str, weight_hash: str, index: int) -> str:
    return f"{base.rstrip('/')}/v1/receipts/weights/{weight_hash}/chunk/{index}"


def run_challenge(
    url: str,
    manifest: WeightManifest,
    *,
    samples: int,
    seed: int | None = None,
    timeout: float = 30.0,
) -> ChallengeResult:
    """Fetch ``samples`` distinct random chunks from ``url`` and verify each one."""
    # The issuer must not predict the sample: fresh OS randomness unless a seed is asked for.
    rng = random.Random(seed) if seed is not None else secrets.SystemRandom()  # noqa: S311
    indices = rng.sample(range(manifest.chunk_count), min(samples, manifest.chunk_count))
    checks: list[ChunkCheck] = []
    timings: list[float] = []
    with httpx.Client(timeout=timeout) as client:
        for index in indices:
            answer = _fetch(client, chunk_url(url, manifest.weight_hash, index))
            if isinstance(answer, str):
                checks.append(ChunkCheck(index, manifest.chunk(index).region, False, answer))
                continue
            start = time.perf_counter()
            checks.append(verify_chunk(manifest, index, answer))
            timings.append((time.perf_counter() - start) * 1e3)
    return ChallengeResult(manifest.weight_hash, tuple(checks), tuple(timings))


def _fetch(client: httpx.Client, url: str) -> Any:
    """The parsed answer, or a one-line reason it could not be had."""
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise NetworkError(f"cannot reach {url}: {exc}") from exc
    if response.status_code != 200:
        return f"HTTP {response.status_code} from the issuer"
    try:
        return response.json()
    except ValueError:
        return "the issuer's answer is not JSON"
