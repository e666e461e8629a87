"""A running transparency log: admission, sequencing, lookups and proofs.

:mod:`.service` (:class:`TransparencyLog`, :func:`init_log`), :mod:`.admission` (which
receipts become entries), :mod:`.sequencer` (one thread: batches, durable indices,
publication), :mod:`.checkpoints` (the checkpoints it signs and keeps),
:mod:`.replicated` (the sequencer of a log shared by PostgreSQL replicas),
:mod:`.pgservice` (creating and opening that shared log), :mod:`.awaiter` (waiting
for a checkpoint from an event loop) and :mod:`.server` (``llmseal log serve`` and
``llmseal log check``).
"""

from __future__ import annotations

from llmseal.log.service.service import (
    LOG_FORMAT,
    TransparencyLog,
    init_log,
    load_log_signer,
    read_log_info,
)

__all__ = ["LOG_FORMAT", "TransparencyLog", "init_log", "load_log_signer", "read_log_info"]
