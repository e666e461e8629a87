"""``llmseal evidence``: the gateway's evidence store.

Modules: :mod:`._evidence` (the group), :mod:`._prove` (``evidence prove``).
"""

__all__: list[str] = []
