"""Model-identity audits: does the endpoint serve the model its receipts claim?

A receipt proves who served which bytes, claiming which model; it cannot prove
which weights produced them. An audit sends probes through the verifying client
(so every answer is signed and bound to its request), tests the answers against
a *reference* of the claimed model, and writes a signed report that names the
receipts it rests on — a DIFF a third party can recompute (design.md, "Audit
verdicts"; issue 12).

The interface, one module per concept:

* :mod:`~llmseal.audit.stats.verdict` — ``SAME | DIFF | UNDETERMINED`` with statistic,
  p-value, effect size, queries used and receipt ids (:class:`Verdict`);
* :mod:`~llmseal.audit.exchange` — :class:`ObservedExchange`, one signed (or
  failed) exchange exactly as the verifying client saw it;
* :mod:`~llmseal.audit.enrollment.reference` — :class:`Reference`, content-addressed
  (``sha256:`` of its RFC 8785 form), naming the honest variations it covers;
* :mod:`~llmseal.audit.stats.sequential` — the sequential-testing contract: envelopes
  of honest variation, anytime-valid mixture tests, error-rate splitting;
* :mod:`~llmseal.audit.stats.bernoulli` — the verdict loop shared by exceedance families;
* :mod:`~llmseal.audit.family` — the :class:`Family` protocol (enroll, probes,
  verify) and the :func:`registry`; families live in :mod:`llmseal.audit.families`.

The rules every verdict obeys: only signed exchanges are samples; DIFF only
against a measured envelope (otherwise UNDETERMINED); the false-DIFF budget
``alpha`` holds at whatever point the runner stops, and is split over the
families of an audit.

The rest, by concept: :mod:`.runner` (the audit loop), :mod:`.enrollment` (building
references), :mod:`.probes` (probe banks and cover traffic), :mod:`.stats`,
:mod:`.families` and :mod:`.replay` (the verifiers), :mod:`.reports` (the signed
report, re-checked and shown), :mod:`.packs` (fingerprint packs) and :mod:`.routing`
(routing on the evidence).
"""

from __future__ import annotations

from llmseal.audit.enrollment.reference import Reference, content_id
from llmseal.audit.exchange import ObservedExchange
from llmseal.audit.family import (
    EnrollOptions,
    Family,
    Probe,
    Registry,
    Source,
    SourceAnswer,
    registry,
)
from llmseal.audit.stats.bernoulli import Score, sequential_verdict
from llmseal.audit.stats.sequential import (
    BernoulliTest,
    Envelope,
    ErrorRates,
    clopper_pearson_upper,
)
from llmseal.audit.stats.verdict import Outcome, TracePoint, Verdict, combine

__all__ = [
    "BernoulliTest",
    "EnrollOptions",
    "Envelope",
    "ErrorRates",
    "Family",
    "ObservedExchange",
    "Outcome",
    "Probe",
    "Reference",
    "Registry",
    "Score",
    "Source",
    "SourceAnswer",
    "TracePoint",
    "Verdict",
    "clopper_pearson_upper",
    "combine",
    "content_id",
    "registry",
    "sequential_verdict",
]
