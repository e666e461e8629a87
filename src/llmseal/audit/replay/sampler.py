"""The distribution an honest sampler draws each token from, rebuilt from the logits.

llama.cpp's default chain (``llama_cpp.Llama._init_sampler``): penalties over the last
64 *generated* tokens, then top-k, top-p and min-p on the untempered distribution,
then temperature, then a draw. We rebuild that distribution ``q`` per position and
mix in a little of the tempered, untruncated one, so a token that honest kernel noise
pushed just across a truncation boundary costs a few nats, not infinitely many.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from llmseal.audit.replay.exchange import SamplingParams

__all__ = ["PENALTY_WINDOW", "log_distribution", "penalized"]

PENALTY_WINDOW = 64
_SMOOTH = 1e-3
Logits = npt.NDArray[np.float64]


def penalized(logits: Logits, history: Sequence[int], params: SamplingParams) -> Logits:
    """Repeat/presence/frequency penalties as llama.cpp applies them (once per distinct token)."""
    if not history or (
        params.repeat_penalty == 1.0
        and params.presence_penalty == 0.0
        and params.frequency_penalty == 0.0
    ):
        return logits
    out = logits.copy()
    window = list(history[-PENALTY_WINDOW:])
    tokens, counts = np.unique(np.asarray(window), return_counts=True)
    values = out[tokens]
    if params.repeat_penalty != 1.0:
        rp = params.repeat_penalty
        values = np.where(values > 0, values / rp, values * rp)
    values = values - counts * params.frequency_penalty - params.presence_penalty
    out[tokens] = values
    return out


def _log_softmax(x: Logits) -> Logits:
    shifted = x - x.max()
    result: Logits = shifted - np.log(np.exp(shifted).sum())
    return result


def _kept(logits: Logits, params: SamplingParams) -> npt.NDArray[np.bool_]:
    """Which tokens survive top-k, top-p and min-p (in that order, untempered)."""
    order = np.argsort(-logits, kind="stable")
    k = len(order) if params.top_k <= 0 else min(params.top_k, len(order))
    top = order[:k]
    probs = np.exp(_log_softmax(logits[top]))
    if params.top_p < 1.0:
        cut = int(np.searchsorted(np.cumsum(probs), params.top_p)) + 1
        top, probs = top[:cut], probs[:cut]
    if params.min_p > 0.0:
        keep = probs >= params.min_p * probs[0]
        top = top[keep]
    mask = np.zeros(len(logits), dtype=bool)
    mask[top] = True
    return mask


def log_distribution(logits: Logits, history: Sequence[int], params: SamplingParams) -> Logits:
    """log q over the vocabulary for one sampled position."""
    scores = penalized(logits, history, params)
    tempered = scores / max(params.temperature, 1e-6)
    full = _log_softmax(tempered)
    mask = _kept(scores, params)
    truncated = np.where(mask, tempered, -np.inf)
    trunc = _log_softmax(truncated)
    mixed: Logits = np.logaddexp(np.log1p(-_SMOOTH) + trunc, np.log(_SMOOTH) + full)
    return mixed
