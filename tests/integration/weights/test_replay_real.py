"""Issue 13 must-show: replay against the real models, every one claiming SmolLM2's weights.

Honest SmolLM2 behind ``serve --weights`` → SAME (greedy and sampled); Gemma-3-270M,
Q4_0 and Q2_K requantizations of SmolLM2, and a 20% mix → DIFF, from a few answers.
The reference (enrolled once per weight_hash under n_batch 512/8/1, 1–2 threads) is
cached beside the requantized models.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.families.replay import FAMILY, ReplayFamily
from llmseal.audit.replay.enroll import load_or_enroll
from llmseal.audit.replay.verify import FAMILY_NAME, SignedAnswer, replay_verdict
from llmseal.audit.stats.sequential import ErrorRates
from llmseal.audit.stats.verdict import Outcome, Verdict
from llmseal.devmodels import cache_dir
from llmseal.devserver import ModelServer
from llmseal.weights import WeightManifest
from tests.integration.weights.replay_helpers import (
    ask,
    gateway_over,
    mixing_router,
    question,
    sealed,
)

# Enrollment (72 local answers under three engine settings) runs once per weight_hash and
# is cached; on a busy shared machine it alone can take minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]
RATES = ErrorRates(alpha=0.01, beta=0.01, min_effect=0.02)


@pytest.fixture(scope="module")
def manifest_file(
    smollm2_manifest: WeightManifest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("weights") / "manifest.json"
    path.write_bytes(smollm2_manifest.to_json())
    return path


@pytest.fixture(scope="module")
def family(smollm2: Path, smollm2_manifest: WeightManifest) -> ReplayFamily:
    return FAMILY.bind(smollm2, smollm2_manifest)


@pytest.fixture(scope="module")
def reference(family: ReplayFamily) -> Reference:
    return load_or_enroll(family, cache_dir() / "replay", at=datetime.now(UTC))


@pytest.fixture
def judge(family: ReplayFamily, reference: Reference) -> Callable[[list[SignedAnswer]], Verdict]:
    def run(answers: list[SignedAnswer]) -> Verdict:
        return replay_verdict(reference.section(FAMILY_NAME), answers, RATES, family.scorer())

    return run


def test_the_envelope_was_measured(reference: Reference) -> None:
    section = reference.section(FAMILY_NAME)
    assert section is not None
    assert section["greedy"]["total"] > 400 and section["sampled"]["total"] > 400
    # Honest kernels disagree only at near-ties: far below the 1-nat threshold.
    assert section["max_honest_gap"] < section["gap"]
    assert len(reference.covers) == 3


def test_honest_answers_are_same(
    tmp_path: Path, manifest_file: Path, smollm2: Path, smollm2_manifest: WeightManifest,
    judge: Callable[[list[SignedAnswer]], Verdict],
) -> None:  # fmt: skip
    with sealed(tmp_path, manifest_file, smollm2, smollm2) as url:
        # SAME must rule out a per-token rate p0 + 0.02: a few hundred honest tokens.
        greedy = [ask(url, question(i, sampled=False, max_tokens=32)) for i in range(24)]
        sampled = [ask(url, question(i, sampled=True, max_tokens=32)) for i in range(20)]
    assert all(a.receipt.weight_hash == smollm2_manifest.weight_hash for a in greedy + sampled)
    for answers in (greedy, sampled):
        verdict = judge(answers)
        assert verdict.outcome is Outcome.SAME, verdict.reason
        assert verdict.receipt_ids and set(verdict.receipt_ids) <= {
            a.receipt.receipt_id for a in answers
        }


@pytest.mark.parametrize("substitute", ["q4_0", "q2_k", "gemma"])
def test_substitutes_claiming_the_weights_are_diff(
    substitute: str, request: pytest.FixtureRequest, tmp_path: Path, manifest_file: Path,
    smollm2: Path, judge: Callable[[list[SignedAnswer]], Verdict],
) -> None:  # fmt: skip
    model: Path = request.getfixturevalue(substitute)
    chat_format = "gemma" if substitute == "gemma" else None
    with sealed(tmp_path, manifest_file, smollm2, model, chat_format) as url:
        greedy = [ask(url, question(i, sampled=False)) for i in range(3)]
        verdict = judge(greedy)
        assert verdict.outcome is Outcome.DIFF, verdict.reason
        assert len(verdict.receipt_ids) <= 3
        # Sampled answers carry less per token (honest ones exceed ~2% too): the goal is
        # DIFF within 10 (the bench measures it); the test allows 20 before failing.
        sampled = [ask(url, question(i, sampled=True)) for i in range(10)]
        verdict = judge(sampled)
        if verdict.outcome is not Outcome.DIFF:
            sampled += [ask(url, question(i, sampled=True)) for i in range(10, 20)]
            verdict = judge(sampled)
    assert verdict.outcome is Outcome.DIFF, verdict.reason


def test_a_twenty_percent_mix_is_diff_within_thirty_answers(
    tmp_path: Path, manifest_file: Path, smollm2: Path, q4_0: Path,
    judge: Callable[[list[SignedAnswer]], Verdict],
) -> None:  # fmt: skip
    with (
        ModelServer(model=smollm2, log=tmp_path / "honest.log") as honest,
        ModelServer(model=q4_0, log=tmp_path / "q4_0.log") as substitute,
        mixing_router(honest.url, substitute.url, 0.2, seed=5) as router,
        gateway_over(router, tmp_path, manifest_file, smollm2) as url,
    ):
        answers = [ask(url, question(i, sampled=False, max_tokens=32)) for i in range(30)]
    verdict = judge(answers)
    assert verdict.outcome is Outcome.DIFF, verdict.reason
    assert len(verdict.receipt_ids) <= 30


def test_cli_replays_the_evidence_store(
    tmp_path: Path, manifest_file: Path, smollm2: Path, q2_k: Path, cli: Any, reference: Reference
) -> None:
    """Passive: a verifying client's own evidence, replayed by `llmseal audit replay`."""
    from llmseal.client.transport import verifying_http_client

    evidence = tmp_path / "client"
    with sealed(tmp_path, manifest_file, smollm2, q2_k) as url:
        keys = f"{url}/v1/receipts/keys"
        with verifying_http_client(keys=keys, data_dir=evidence, sample_rate=1.0) as client:
            for i in range(3):
                r = client.post(f"{url}/v1/chat/completions", json=question(i, sampled=False))
                assert r.status_code == 200
    ref = tmp_path / "ref.json"
    ref.write_bytes(reference.to_json())
    out = cli("audit", "replay", "--weights", smollm2, "--manifest", manifest_file,
              "--data-dir", evidence, "--reference", ref, "--json")  # fmt: skip
    assert out.status == 1, out.stderr
    verdict = out.json()
    assert verdict["verdict"] == "DIFF" and verdict["family"] == "replay"
    assert len(verdict["receipt_ids"]) <= 3
    wrong = cli("audit", "replay", "--weights", q2_k, "--manifest", manifest_file,
                "--data-dir", evidence, "--reference", ref)  # fmt: skip
    assert wrong.status == 2 and "not the committed weights" in wrong.stderr
