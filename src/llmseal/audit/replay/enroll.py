"""Build (or reuse) the replay reference for a committed weights file.

Enrollment runs the weights locally under every honest variation of
:data:`~llmseal.audit.replay.envelope.VARIANTS`; on two cores it takes about a
minute for the 12 probe prompts, so the reference is kept beside the caller's
other caches and reused while the weights are the same (its ``weight_hash`` says).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.families.replay import ReplayFamily
from llmseal.audit.family import EnrollOptions
from llmseal.audit.replay.envelope import VARIANTS, LocalRun
from llmseal.audit.replay.verify import FAMILY_NAME
from llmseal.errors import AuditError, Error

__all__ = ["load_or_enroll", "measure_reference"]


def measure_reference(family: ReplayFamily, *, at: datetime) -> Reference:
    manifest = family.manifest
    weights = family.weights
    if manifest is None or weights is None:
        raise AuditError("replay enrollment needs the committed weights (bind them first)")
    sources = [LocalRun(str(weights), **v) for v in VARIANTS]
    try:
        section = family.enroll(sources, EnrollOptions(model_id=manifest.file_name))
    finally:
        for source in sources:
            source.close()
    return Reference.build(
        model_id=manifest.file_name, families={FAMILY_NAME: section},
        covers=[s.label for s in sources], at=at, source="weights",
        provenance={"weight_hash": manifest.weight_hash, "weights_sha256": manifest.file_sha256},
    )  # fmt: skip


def load_or_enroll(family: ReplayFamily, cache: Path, *, at: datetime) -> Reference:
    """The cached reference for the bound weights, measured and written if missing."""
    from llmseal.trust.keydir import write_atomic

    assert family.manifest is not None
    # v2: greedy tokens are judged after the signed penalties (a v1 envelope did not).
    path = cache / f"replay-v2-{family.manifest.weight_hash}.json"
    if path.is_file():
        try:
            reference = Reference.from_json(path.read_bytes())
            section = reference.section(FAMILY_NAME) or {}
            if section.get("weight_hash") == family.manifest.weight_hash:
                return reference
        except (OSError, Error):
            pass  # unreadable or stale: measure again
    reference = measure_reference(family, at=at)
    cache.mkdir(parents=True, exist_ok=True)
    write_atomic(path, reference.to_json())
    return reference
