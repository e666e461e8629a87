"""Enrollment: measuring a model from honest sources into a content-addressed reference.

Modules: :mod:`.reference` (:class:`~.reference.Reference`), :mod:`.enroll` (the
sources and the enrollment run), :mod:`.honest` (honest variation: collect, select,
count) and :mod:`.localproc` (the weights run in a process of their own).
"""

from __future__ import annotations

__all__: list[str] = []
