"""Where a log keeps its tree: the interface and its two implementations.

:mod:`.base` (the :class:`LogStorage` interface the sequencer calls, and the values it
passes), :mod:`.dirstore` (a directory: static files and an SQLite index),
:mod:`.pgstore` (PostgreSQL, shared by replicas) and :mod:`.pgschema` (its tables).
The package names the interface; the implementations are imported from their modules
(psycopg is the optional ``[postgres]`` extra).
"""

from __future__ import annotations

from llmseal.log.storage.base import EntryRef, LogStorage, PendingEntry, Sequenced

__all__ = ["EntryRef", "LogStorage", "PendingEntry", "Sequenced"]
