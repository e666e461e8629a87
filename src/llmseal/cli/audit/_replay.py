"""``llmseal audit replay``: re-execute the evidence store's answers under committed weights."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from llmseal.cli._common import err_console, now, print_json

__all__ = ["replay"]


def _cache() -> Path:
    root = os.environ.get("LLMSEAL_REPLAY_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "llmseal" / "replay"


@click.command("replay")
@click.option("--weights", required=True, type=click.Path(dir_okay=False, exists=True),
              metavar="MODEL.gguf", help="The committed weights (checked against M).")  # fmt: skip
@click.option("--manifest", "manifest_path", required=True,
              type=click.Path(dir_okay=False, exists=True), metavar="MANIFEST.json")  # fmt: skip
@click.option("--data-dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="A verifying client's data_dir (its samples are replayed).")  # fmt: skip
@click.option("--reference", type=click.Path(dir_okay=False), metavar="REF.json",
              help="Replay reference (default: measured once per weight_hash).")  # fmt: skip
@click.option("--alpha", default=0.01, show_default=True, type=click.FloatRange(1e-9, 0.5),
              help="Bound on a false DIFF for honest serving inside the envelope.")  # fmt: skip
@click.option("--min-effect", default=0.02, show_default=True,
              type=click.FloatRange(1e-4, 0.5),
              help="Per-token exceedance-rate increase a SAME must rule out.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def replay(
    weights: str,
    manifest_path: str,
    data_dir: str,
    reference: str | None,
    alpha: float,
    min_effect: float,
    as_json: bool,
) -> None:
    """SAME / DIFF / UNDETERMINED for the stored answers claiming these weights (exit 0/1/3)."""
    from llmseal.audit.enrollment.reference import Reference
    from llmseal.audit.families.replay import FAMILY
    from llmseal.audit.replay.enroll import load_or_enroll
    from llmseal.audit.replay.passive import evidence_answers
    from llmseal.audit.replay.verify import FAMILY_NAME, replay_verdict
    from llmseal.audit.stats.sequential import ErrorRates
    from llmseal.cli._common import read_input
    from llmseal.cli._weights import load_manifest

    manifest = load_manifest(manifest_path)
    with err_console.status("checking the weights against the manifest..."):
        family = FAMILY.bind(weights, manifest)
    answers = evidence_answers(data_dir)
    if reference is not None:
        ref = Reference.from_json(read_input(reference, "replay reference"))
    else:
        with err_console.status("measuring honest kernel variation (once per weight_hash)..."):
            ref = load_or_enroll(family, _cache(), at=now())
    rates = ErrorRates(alpha=alpha, beta=0.01, min_effect=min_effect)
    with err_console.status(f"replaying {len(answers)} answers..."):
        verdict = replay_verdict(ref.section(FAMILY_NAME), answers, rates, family.scorer())
    if as_json:
        print_json({"reference_id": ref.reference_id, **verdict.to_dict()})
    else:
        sys.stdout.write(f"{verdict.outcome.value}: {verdict.reason}\n")
        for receipt_id in verdict.receipt_ids:
            sys.stdout.write(f"  {receipt_id}\n")
    sys.exit(verdict.outcome.exit_code)
