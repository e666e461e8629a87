"""What the benchmark groups share, and the parts a group delegates to.

Shared: :mod:`.payload` (the ~2 KB request/response pair), :mod:`.procs` (starting and
stopping measured processes), :mod:`.timing` (best-of-rounds rates), :mod:`.report`
(the table ``llmseal bench`` prints). A group's parts: :mod:`.auditpool` (``audit``),
:mod:`.loghttp` (``log``), :mod:`.otel` (``gateway``), :mod:`.monitor` (``witness``).
"""

__all__: list[str] = []
