"""A monitor: follow a tile log and check everything it publishes (issue 11).

One :meth:`Monitor.round`:

1. fetch and verify the log's checkpoint (a bad signature is an alarm);
2. compare it with the last one verified (persisted): a smaller tree is a
   ``rollback``, the same size with another root a ``fork``; a larger one must
   come with a consistency proof from the log's own tiles (``inconsistent``);
3. download the new entry bundles, recompute from them every new tile and the
   root on the persisted right edge of the tree, and compare byte for byte with
   the served tiles and the signed root (``entries`` — a log whose entries do not
   hash to its tiles or root); an entry bundle that rewrites entries already
   seen is the same alarm;
4. with key sets, verify every entry as a receipt (``bad-entry`` when one is
   not valid); list the entries signed by watched key IDs — an issuer pointing
   this at its own log finds receipts it never issued;
5. compare the checkpoint with each witness's latest cosigned one (tlog-witness
   monitoring GET): a tree the log's tiles do not extend, or the same size with
   another root, is a ``split-view``.

Alarms never move the state forward (docs/spec/witness.md §6).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from llmseal.core.canonical import loads
from llmseal.core.keyset import KeyResolver
from llmseal.errors import Error, LogError, LogFormatError, NetworkError, ProofError
from llmseal.log.monitor.monitorstate import Alarm, MonitorState
from llmseal.log.monitor.receiptcheck import EntryFinding, ReceiptChecker
from llmseal.log.note.checkpoint import SignedCheckpoint, open_checkpoint
from llmseal.log.note.note import NoteVerifier
from llmseal.log.tree.edge import TreeEdge
from llmseal.log.tree.merkle import consistency_proof, verify_consistency
from llmseal.log.tree.prefetch import Prefetch
from llmseal.log.tree.tilereader import Fetch, TileHashReader, tile_width
from llmseal.log.tree.tiles import ENTRIES, TILE_WIDTH, TileRef, decode_bundle, parse_tile_path
from llmseal.log.witness.witnessstore import origin_hash

__all__ = ["EntryFinding", "Monitor", "Round"]

Progress = Callable[[int, int], None]
"""``progress(done, total)`` entries of this round."""


@dataclass
class Round:
    """What one round saw."""

    origin: str
    old_size: int
    size: int = 0
    entries: int = 0
    receipts_verified: int = 0
    watched: list[EntryFinding] = field(default_factory=list)
    invalid: list[EntryFinding] = field(default_factory=list)
    witnesses: dict[str, str] = field(default_factory=dict)
    alarms: list[Alarm] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin, "old_size": self.old_size, "size": self.size,
            "entries_checked": self.entries, "receipts_verified": self.receipts_verified,
            "watched": [w.to_dict() for w in self.watched],
            "invalid": [i.to_dict() for i in self.invalid],
            "witnesses": self.witnesses, "alarms": [a.to_dict() for a in self.alarms],
        }  # fmt: skip


class Monitor:
    """Follows the log at ``fetch`` whose checkpoints ``verifiers`` sign."""

    def __init__(
        self,
        fetch: Fetch,
        verifiers: Sequence[NoteVerifier],
        state: MonitorState,
        *,
        keys: KeyResolver | None = None,
        watch: Collection[str] = (),
        witnesses: Sequence[tuple[str, Fetch]] = (),
        workers: int = 1,
    ) -> None:
        self.fetch = fetch
        self.verifiers = tuple(verifiers)
        self.state = state
        self.keys = keys
        self.watch = frozenset(watch)
        self.witnesses = tuple(witnesses)
        self.workers = workers
        self._ahead: Prefetch | None = None

    @property
    def origin(self) -> str:
        return self.state.origin

    def round(self, progress: Progress | None = None) -> Round:
        """Check what the log publishes now; :attr:`state` moves on only without alarms."""
        result = Round(self.origin, self.state.size, self.state.size)
        raw = self.fetch("checkpoint")
        try:
            new = self._open(raw)
        except (LogFormatError, ProofError) as exc:
            result.alarms.append(self._alarm("bad-checkpoint", str(exc), raw))
            return result
        result.size = new.size
        edge = self.state.edge
        alarm = self._compare(new)
        if alarm is None and new.size > self.state.size:
            alarm, edge = self._extend(new, result, progress)
        if alarm is None:
            alarm = self._witnesses(new, result)
        if alarm is None and result.invalid:
            message = f"{len(result.invalid)} entries are not valid receipts"
            alarm = self._alarm("bad-entry", message, new.encode(), new_size=new.size)
        if alarm is not None:
            result.alarms.append(alarm)
            return result
        checked = self.state.entries_checked + result.entries
        self.state = replace(self.state, checkpoint=raw, root=new.root, edge=edge,
                             entries_checked=checked)  # fmt: skip
        return result

    def _open(self, data: bytes) -> SignedCheckpoint:
        return open_checkpoint(data, origin=self.origin, verifiers=self.verifiers)

    def _alarm(self, kind: str, message: str, new: bytes, **details: Any) -> Alarm:
        notes = (self.state.checkpoint, new) if self.state.checkpoint else (new,)
        return Alarm(kind, message, notes, details.pop("files", {}),
                     {"old_size": self.state.size, **details})  # fmt: skip

    def _compare(self, new: SignedCheckpoint) -> Alarm | None:
        old = self.state
        if new.size < old.size:
            return self._alarm("rollback", f"the log went back from {old.size} to {new.size}",
                               new.encode(), new_size=new.size)  # fmt: skip
        if new.size == old.size and new.root != old.root:
            return self._alarm("fork", f"two roots for tree size {new.size}", new.encode(),
                               new_size=new.size)  # fmt: skip
        if 0 < old.size < new.size:
            try:
                proof = consistency_proof(old.size, new.size, self._reader(new.size))
                verify_consistency(old.size, new.size, old.root, new.root, proof)
            except ProofError as exc:
                message = f"size {new.size} does not extend size {old.size}: {exc}"
                return self._alarm("inconsistent", message, new.encode(), new_size=new.size)
        return None

    def _reader(self, size: int) -> TileHashReader:
        return TileHashReader(self.fetch, size)

    def _extend(
        self, new: SignedCheckpoint, result: Round, progress: Progress | None
    ) -> tuple[Alarm | None, TreeEdge]:
        """Recompute the tree from the new entries on our edge; (alarm or None, new edge)."""
        checker = ReceiptChecker(self.keys, self.watch, workers=self.workers,
                                 expected=new.size - self.state.size)  # fmt: skip
        with Prefetch(self.fetch, _read_order(self.state.size, new.size)) as ahead:
            self._ahead = ahead
            try:
                outcome = self._rebuild(new, result, progress, checker)
                checker.finish()
            finally:
                self._ahead = None
                checker.close()
        result.receipts_verified = checker.valid
        result.invalid = [f for f in checker.findings if f.status not in ("valid", "unchecked")]
        result.watched = [f for f in checker.findings if f.key_id in self.watch]
        return outcome

    def _rebuild(
        self,
        new: SignedCheckpoint,
        result: Round,
        progress: Progress | None,
        checker: ReceiptChecker,
    ) -> tuple[Alarm | None, TreeEdge]:
        start, edge = self.state.size, self.state.edge
        partial: dict[tuple[int, int], tuple[str, bytes]] = {}
        for n in range(start // TILE_WIDTH, -(-new.size // TILE_WIDTH)):
            ref = TileRef(ENTRIES, n, tile_width(0, n, new.size))
            try:
                bundle = decode_bundle(self._get(ref.path()), ref.width)
            except LogFormatError as exc:
                return self._entries_alarm(new, f"{ref.path()}: {exc}"), edge
            skip = max(0, start - n * TILE_WIDTH)
            if bundle[:skip] != list(edge.bundle[:skip]):
                return self._entries_alarm(new, f"{ref.path()} rewrites entries seen before"), edge
            fresh = bundle[skip:]
            checker.submit(n * TILE_WIDTH + skip, fresh)
            edge, files = edge.append(fresh)
            alarm = self._check_tiles(new, files, partial)
            if alarm is not None:
                return alarm, edge
            result.entries += len(fresh)
            if progress is not None:
                progress(result.entries, new.size - start)
        for path, computed in partial.values():
            alarm = self._same_tile(new, path, computed)
            if alarm is not None:
                return alarm, edge
        if edge.root() != new.root:
            return self._entries_alarm(new, "the entries do not hash to the signed root"), edge
        return None, edge

    def _entries_alarm(self, new: SignedCheckpoint, message: str) -> Alarm:
        return self._alarm("entries", message, new.encode(), new_size=new.size)

    def _check_tiles(
        self,
        new: SignedCheckpoint,
        files: dict[str, bytes],
        partial: dict[tuple[int, int], tuple[str, bytes]],
    ) -> Alarm | None:
        """Full tiles are final: compare now. Partial ones: only the last width counts."""
        for path, computed in files.items():
            ref = parse_tile_path(path)
            if ref.is_entries:
                continue  # made from the served bundles themselves
            if ref.partial:
                if ref.width == tile_width(ref.level, ref.index, new.size):
                    partial[(ref.level, ref.index)] = (path, computed)
                continue
            partial.pop((ref.level, ref.index), None)
            alarm = self._same_tile(new, path, computed)
            if alarm is not None:
                return alarm
        return None

    def _get(self, path: str) -> bytes:
        return self.fetch(path) if self._ahead is None else self._ahead.get(path)

    def _same_tile(self, new: SignedCheckpoint, path: str, computed: bytes) -> Alarm | None:
        try:
            served = self._get(path)
        except LogError as exc:
            return self._entries_alarm(new, f"the log does not serve {path}: {exc}")
        if served != computed:
            files = {"served.tile": served, "computed.tile": computed}
            message = f"{path} is not the tile its entries make"
            return self._alarm("entries", message, new.encode(), new_size=new.size, tile=path,
                               files=files)  # fmt: skip
        return None

    def _witnesses(self, new: SignedCheckpoint, result: Round) -> Alarm | None:
        digest = origin_hash(self.origin)
        for url, fetch in self.witnesses:
            try:
                theirs = self._open(fetch(f"{digest}/checkpoint"))
            except (LogError, NetworkError) as exc:
                result.witnesses[url] = f"no checkpoint: {exc}"
            else:
                message = self._contradiction(new, theirs)
                if message is not None:
                    details = {"witness": url, "size": new.size, "witness_size": theirs.size}
                    return Alarm("split-view", f"witness {url} holds another tree: {message}",
                                 (new.encode(), theirs.encode()), details=details)  # fmt: skip
                result.witnesses[url] = f"consistent (witness at size {theirs.size})"
            alarm = self._witness_evidence(url, fetch)
            if alarm is not None:
                return alarm
        return None

    def _witness_evidence(self, url: str, fetch: Fetch) -> Alarm | None:
        """An llmseal witness serves the checkpoints it refused: check them ourselves."""
        try:
            items = loads(fetch(f"{origin_hash(self.origin)}/evidence"))["evidence"]
        except (Error, KeyError, TypeError):
            return None  # not an llmseal witness
        for item in items if isinstance(items, list) else ():
            try:
                cosigned, refused = self._open(item["cosigned"]), self._open(item["refused"])
            except (Error, KeyError, TypeError):
                continue  # not two checkpoints this log signed
            message = self._contradiction(cosigned, refused)
            if message is not None:
                details = {"witness": url, "size": cosigned.size, "refused_size": refused.size}
                return Alarm("witness-evidence", f"witness {url} kept two checkpoints the log "
                             f"signed that contradict each other: {message}",
                             (cosigned.encode(), refused.encode()), details=details)  # fmt: skip
        return None

    def _contradiction(self, a: SignedCheckpoint, b: SignedCheckpoint) -> str | None:
        """Why two checkpoints of this log cannot both be true; None if they can (or if
        the tiles that would tell are not served)."""
        small, big = (a, b) if a.size <= b.size else (b, a)
        if small.size == big.size:
            return None if small.root == big.root else f"two roots for tree size {big.size}"
        if small.size == 0:
            return None
        try:
            proof = consistency_proof(small.size, big.size, self._reader(big.size))
            verify_consistency(small.size, big.size, small.root, big.root, proof)
        except ProofError as exc:
            return f"size {big.size} does not extend size {small.size}: {exc}"
        except LogError:
            return None  # ahead of the tiles the log serves: decided in a later round
        return None


def _read_order(start: int, size: int) -> Iterator[str]:
    """The bundles and level-0 tiles a round reads, in the order it reads them."""
    for n in range(start // TILE_WIDTH, -(-size // TILE_WIDTH)):
        width = tile_width(0, n, size)
        yield TileRef(ENTRIES, n, width).path()
        yield TileRef(0, n, width).path()
