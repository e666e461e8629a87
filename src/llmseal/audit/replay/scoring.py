"""Teacher-forced re-evaluation of a delivered answer under the committed weights.

The prompt is rebuilt the way llama-cpp-python builds it (the GGUF's own chat template,
``Jinja2ChatFormatter``), the delivered text is tokenized, and prompt + answer are
evaluated in one pass with logits for every position: for each delivered token we
get its log-probability, its rank, its logit gap to the argmax and, for sampled
requests, its log-probability under the signed sampling parameters (``sampler``).

The text does not say which tokens produced it: a sampler may emit ``f`` + ``en``
where the tokenizer writes ``fen``. So each position is judged by its *consistent
set* — every vocabulary token whose bytes start the rest of the text — and scores
the best of them (greedy: gap of the best consistent token to the argmax; sampled:
the sampler's total mass on the set). An honest token is always in that set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from llmseal.audit.replay.exchange import ReplayInput
from llmseal.audit.replay.sampler import log_distribution, penalized
from llmseal.errors import ConfigError, ContentError

__all__ = ["AnswerScore", "Scorer"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AnswerScore:
    """Per delivered token (EOS included when the model stopped by itself)."""

    tokens: tuple[int, ...]
    logprob: tuple[float, ...]  # log p(token) at temperature 1
    rank: tuple[int, ...]  # 0 = the argmax
    gap: tuple[float, ...]  # argmax logit - best consistent logit (0: the argmax fits)
    logq: tuple[float, ...]  # log q(consistent set) under the signed sampler (sampled only)
    entropy: tuple[float, ...]  # H(q) at each position
    variance: tuple[float, ...]  # Var_q[log q] at each position


class Scorer:
    """One llama.cpp context over the committed file, reused for every answer."""

    def __init__(
        self, model: str | Path, *, n_batch: int = 512, n_threads: int = 2, n_ctx: int = 1024
    ) -> None:
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise ConfigError("the replay audit needs llama-cpp-python") from exc
        self.n_ctx = n_ctx
        self.llm = llama_cpp.Llama(
            model_path=str(model), n_ctx=n_ctx, n_batch=n_batch, n_threads=n_threads,
            logits_all=True, verbose=False, seed=0,
        )  # fmt: skip
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigError(f"{model} has no chat template to rebuild prompts with")
        model_ = self.llm._model
        self.eos = self.llm.token_eos()
        bos = self.llm.token_bos()
        self._pieces: dict[bytes, list[int]] = {}
        for token in range(self.llm.n_vocab()):
            piece = self.piece(token)
            if piece:
                self._pieces.setdefault(piece, []).append(token)
        self._longest = max(len(p) for p in self._pieces)
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=model_.token_get_text(self.eos) if self.eos != -1 else "",
            bos_token=model_.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[self.eos],
        )

    def piece(self, token: int) -> bytes:
        """The bytes a token stands for (llama-cpp-python's helper pads them with NULs)."""
        import ctypes

        import llama_cpp

        buffer = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(self.llm._model.vocab, token, buffer, 256, 0, False)
        return buffer.raw[: max(n, 0)]

    def prompt_tokens(self, messages: Sequence[Mapping[str, Any]]) -> list[int]:
        result = self._formatter(messages=list(messages))  # type: ignore[arg-type]
        tokens: list[int] = self.llm.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        return tokens

    def answer_tokens(self, item: ReplayInput) -> list[int]:
        tokens: list[int] = self.llm.tokenize(item.text.encode("utf-8"), add_bos=False)
        return [*tokens, self.eos] if item.stopped else tokens

    def score(self, item: ReplayInput) -> AnswerScore:
        prompt = self.prompt_tokens(item.messages)
        answer = self.answer_tokens(item)
        if not answer:
            raise ContentError("the delivered answer is empty")
        if len(prompt) + len(answer) > self.n_ctx:
            raise ContentError(f"prompt and answer exceed {self.n_ctx} tokens")
        self.llm.reset()  # type: ignore[no-untyped-call]
        self.llm.eval(prompt + answer)
        rows = np.asarray(self.llm.scores[len(prompt) - 1 : len(prompt) + len(answer) - 1],
                          dtype=np.float64)  # fmt: skip
        return self._features(rows, answer, item)

    def consistent_sets(self, answer: list[int], text: bytes) -> list[list[int]]:
        """Per position, the tokens whose bytes begin the text still to come."""
        sets: list[list[int]] = []
        offset = 0
        for token in answer:
            piece = b"" if token == self.eos else self.piece(token)
            if not piece or text[offset : offset + len(piece)] != piece:
                sets.append([token])  # EOS, or pieces that do not line up: the token alone
                continue
            rest = text[offset : offset + self._longest]
            found = {t for n in range(1, len(rest) + 1) for t in self._pieces.get(rest[:n], ())}
            sets.append(sorted(found | {token}))
            offset += len(piece)
        return sets

    def _features(self, rows: F64, answer: list[int], item: ReplayInput) -> AnswerScore:
        sets = self.consistent_sets(answer, item.text.encode("utf-8"))
        if item.params.greedy:
            # A greedy sampler takes the argmax *after* the penalties (llama-cpp-python's
            # server defaults to repeat_penalty 1.1): judge each token against that.
            rows = np.stack(
                [penalized(rows[j], answer[:j], item.params) for j in range(len(answer))]
            )
        idx = np.arange(len(answer))
        chosen = rows[idx, answer]
        top = rows.max(axis=1)
        best = np.array([rows[j, s].max() for j, s in enumerate(sets)])
        lse = top + np.log(np.exp(rows - top[:, None]).sum(axis=1))
        logq: list[float] = []
        entropy: list[float] = []
        variance: list[float] = []
        if not item.params.greedy:
            for j, token_set in enumerate(sets):
                lq = log_distribution(rows[j], answer[:j], item.params)
                q = np.exp(lq)
                h = float(-(q * lq).sum())
                logq.append(float(np.logaddexp.reduce(lq[token_set])))
                entropy.append(h)
                variance.append(max(float((q * lq * lq).sum()) - h * h, 0.0))
        return _score(answer, chosen, lse, rows, top, best, logq, entropy, variance)


def _score(
    answer: list[int],
    chosen: F64,
    lse: F64,
    rows: F64,
    top: F64,
    best: F64,
    logq: list[float],
    entropy: list[float],
    variance: list[float],
) -> AnswerScore:
    return AnswerScore(
        tokens=tuple(answer),
        logprob=tuple((chosen - lse).tolist()),
        rank=tuple(int(r) for r in (rows > chosen[:, None]).sum(axis=1)),
        gap=tuple((top - best).tolist()),
        logq=tuple(logq),
        entropy=tuple(entropy),
        variance=tuple(variance),
    )
