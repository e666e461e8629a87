"""``llmseal audit``: enroll, run, replay, pack and report model-identity audits.

Modules: :mod:`._audit` (the group, ``enroll``, ``run``), :mod:`._send` (the verified
sender ``run`` audits through), :mod:`._replay`, :mod:`._pack`, :mod:`._report`.
"""

__all__: list[str] = []
