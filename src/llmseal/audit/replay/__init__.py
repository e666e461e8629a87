"""Re-execution audits: score signed answers under the committed weights (issue 13).

* :mod:`~llmseal.audit.replay.exchange` — what is replayed: prompt, delivered text,
  the signed sampling parameters (engine defaults filled in);
* :mod:`~llmseal.audit.replay.sampler` — llama.cpp's sampling distribution, rebuilt;
* :mod:`~llmseal.audit.replay.scoring` — teacher-forced scoring with llama.cpp;
* :mod:`~llmseal.audit.replay.envelope` — the per-token exceedance rule and the local
  runs that measure honest variation;
* :mod:`~llmseal.audit.replay.verify` — the sequential verdict;
* :mod:`~llmseal.audit.replay.passive` — answers from a client's evidence store;
* :mod:`~llmseal.audit.replay.enroll` — the cached reference.

The family itself is :mod:`llmseal.audit.families.replay`.
"""

from __future__ import annotations

__all__: list[str] = []
