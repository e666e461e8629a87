"""The built-in verifier families, one module each.

Every public module here defines ``FAMILY``, an object implementing
:class:`llmseal.audit.family.Family`; :func:`llmseal.audit.family.registry`
registers them all by their ``name``. Adding a family is adding a module.
"""

from __future__ import annotations

__all__: list[str] = []
