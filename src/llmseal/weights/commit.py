"""Committing to a GGUF file, and checking a file against a commitment.

The file is mapped once and hashed on every core: chunk leaves in batches on a
thread pool (``hashlib`` drops the GIL for large updates), the whole-file SHA-256
on one more thread at the same time. The whole-file hash is inherently serial, so
it is the floor of a commit's wall time; the tree itself scales with the cores
(``llmseal bench --only weights`` measures both against single-core SHA-256).
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from llmseal.errors import WeightsError, WeightsMismatchError
from llmseal.log.tree.merkle import root_of
from llmseal.weights._gguf import GgufHeader, read_header
from llmseal.weights.manifest import (
    DEFAULT_CHUNK_SIZE,
    HEADER,
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    Region,
    TensorEntry,
    WeightManifest,
    chunk_spans,
)

__all__ = ["check_file", "commit_file", "differences", "file_leaves", "mapped"]

_BATCH_BYTES = 8 << 20  # work unit of the pool: small enough to balance, big enough to amortize
_LEAF_PREFIX = hashlib.sha256(b"\x00")  # RFC 9162 leaf domain separation, copied per chunk
Progress = Callable[[int], None]


@contextmanager
def mapped(path: str | Path) -> Iterator[memoryview]:
    """The file, mapped read-only; WeightsError when it cannot be opened."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise WeightsError(f"{path} is empty")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                view = memoryview(mm)
                try:
                    yield view
                finally:
                    view.release()
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc.strerror or exc}") from exc


def commit_file(
    path: str | Path,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    workers: int | None = None,
    progress: Progress | None = None,
) -> WeightManifest:
    """Read the GGUF header, hash the whole file, and build its manifest."""
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise WeightsError(f"chunk size must be 4 KiB..64 MiB, not {chunk_size}")
    with mapped(path) as view:
        header = read_header(view, len(view))
        spans = _region_spans(header, len(view))
        leaves, file_sha = _hash_all(view, spans, chunk_size, workers, progress)
        return _manifest(Path(path).name, view, header, spans, chunk_size, leaves, file_sha)


def file_leaves(
    view: memoryview, manifest: WeightManifest, workers: int | None = None
) -> list[bytes]:
    """The chunk leaf hashes of ``view`` cut the way ``manifest`` says."""
    spans = [r.span for _, r in manifest.regions()]
    leaves, _ = _hash_all(view, spans, manifest.chunk_size, workers, None, file_hash=False)
    return leaves


def check_file(path: str | Path, manifest: WeightManifest, *, workers: int | None = None) -> None:
    """Raise WeightsMismatchError (naming the tensors) unless ``path`` is the committed file."""
    other = commit_file(path, chunk_size=manifest.chunk_size, workers=workers)
    if other.weight_hash != manifest.weight_hash:
        where = differences(manifest, other)
        raise WeightsMismatchError(
            f"{path} is not the committed weights {manifest.weight_hash[:16]}…: "
            + "; ".join(where[:5])
            + (f" (+{len(where) - 5} more)" if len(where) > 5 else "")
        )


def differences(a: WeightManifest, b: WeightManifest) -> list[str]:
    """What differs between two manifests, tensor by tensor (empty when the roots agree)."""
    if a.weight_hash == b.weight_hash:
        return []
    out: list[str] = []
    if a.file_size != b.file_size:
        out.append(f"file size {a.file_size} vs {b.file_size}")
    if a.header.root != b.header.root:
        out.append("header (metadata or tensor table)")
    if a.tokenizer_sha256 != b.tokenizer_sha256:
        out.append("tokenizer metadata")
    theirs = {t.name: t for t in b.tensors}
    for t in a.tensors:
        o = theirs.pop(t.name, None)
        if o is None:
            out.append(f"tensor {t.name} missing")
        elif (t.type, t.shape) != (o.type, o.shape):
            out.append(f"tensor {t.name} is {o.type}{list(o.shape)}, not {t.type}{list(t.shape)}")
        elif t.region.root != o.region.root:
            out.append(f"tensor {t.name} content")
    out.extend(f"tensor {name} added" for name in theirs)
    return out or ["chunking"]


def _region_spans(header: GgufHeader, file_size: int) -> list[int]:
    """Header span, then each tensor's span to the next start (file order)."""
    tensors = sorted(header.tensors, key=lambda t: t.offset)
    starts = [t.offset for t in tensors] + [file_size]
    if not tensors or starts[0] < header.data_offset:
        raise WeightsError("GGUF tensor data overlaps the header (or there are no tensors)")
    spans = [starts[0]]
    for t, end in zip(tensors, starts[1:], strict=True):
        if t.offset + t.size > end:
            raise WeightsError(f"tensor {t.name!r} overlaps the next one or the end of the file")
        spans.append(end - t.offset)
    return spans


def _batches(spans: list[int], chunk_size: int) -> list[list[tuple[int, int]]]:
    batches: list[list[tuple[int, int]]] = [[]]
    offset = load = 0
    for span in spans:
        for size in chunk_spans(span, chunk_size):
            if load >= _BATCH_BYTES:
                batches.append([])
                load = 0
            batches[-1].append((offset, size))
            offset, load = offset + size, load + size
    return batches


def _leaf_batch(view: memoryview, batch: list[tuple[int, int]]) -> list[bytes]:
    out = []
    for offset, size in batch:
        h = _LEAF_PREFIX.copy()
        h.update(view[offset : offset + size])
        out.append(h.digest())
    return out


def _file_sha256(view: memoryview) -> str:
    h = hashlib.sha256()
    for offset in range(0, len(view), _BATCH_BYTES):
        h.update(view[offset : offset + _BATCH_BYTES])
    return h.hexdigest()


def _hash_all(
    view: memoryview,
    spans: list[int],
    chunk_size: int,
    workers: int | None,
    progress: Progress | None,
    *,
    file_hash: bool = True,
) -> tuple[list[bytes], str]:
    if sum(spans) != len(view):
        raise WeightsError("the file size does not match the manifest")
    batches = _batches(spans, chunk_size)
    threads = max(1, workers or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=threads + int(file_hash)) as pool:
        whole: Future[str] | None = pool.submit(_file_sha256, view) if file_hash else None
        leaves: list[bytes] = []
        hashed_batches = pool.map(lambda b: _leaf_batch(view, b), batches)
        for batch, hashed in zip(batches, hashed_batches, strict=True):
            leaves.extend(hashed)
            if progress is not None:
                progress(sum(size for _, size in batch))
        return leaves, whole.result() if whole is not None else ""


def _manifest(
    name: str,
    view: memoryview,
    header: GgufHeader,
    spans: list[int],
    chunk_size: int,
    leaves: list[bytes],
    file_sha: str,
) -> WeightManifest:
    regions: list[Region] = []
    offset = first = 0
    for span in spans:
        n = len(chunk_spans(span, chunk_size))
        root = root_of(leaves[first : first + n]).hex()
        regions.append(Region(offset, span, first, n, root))
        offset, first = offset + span, first + n
    tensors = sorted(header.tensors, key=lambda t: t.offset)
    template = header.strings.get("tokenizer.chat_template")
    manifest = WeightManifest(
        weight_hash=root_of(leaves).hex(),
        file_name=name,
        file_size=len(view),
        file_sha256=file_sha,
        chunk_size=chunk_size,
        chunk_count=len(leaves),
        gguf={
            "version": header.version,
            "alignment": header.alignment,
            "data_offset": header.data_offset,
            "kv_count": header.kv_count,
            "tensor_count": len(tensors),
            "architecture": header.strings.get("general.architecture"),
            "name": header.strings.get("general.name"),
        },
        header=regions[0],
        tokenizer_sha256=_tokenizer_hash(view, header),
        chat_template_sha256=hashlib.sha256(template.encode()).hexdigest() if template else None,
        tensors=tuple(
            TensorEntry(t.name, t.type, t.shape, t.size, r)
            for t, r in zip(tensors, regions[1:], strict=True)
        ),
    )
    manifest.check_layout()
    if HEADER in {t.name for t in tensors}:
        raise WeightsError(f"a tensor may not be named {HEADER}")
    return manifest


def _tokenizer_hash(view: memoryview, header: GgufHeader) -> str:
    """SHA-256 over the raw KV bytes of every ``tokenizer.*`` key, in file order."""
    h = hashlib.sha256()
    for key, (offset, length) in sorted(header.fields.items(), key=lambda kv: kv[1][0]):
        if key.startswith("tokenizer."):
            h.update(view[offset : offset + length])
    return h.hexdigest()
