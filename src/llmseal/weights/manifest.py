"""The weights manifest: what ``weight_hash`` commits to, and how to find any chunk of it.

A GGUF file is cut into *regions*: the header (magic, metadata, tensor infos, padding)
and then one region per tensor, in file order, each running to the next one's start
(so alignment padding belongs to the tensor before it and every byte is covered).
Each region is cut into ``chunk_size`` chunks, the last one shorter. Cutting at tensor
boundaries means a tensor's hash is the RFC 9162 root of its own chunks, known for
free while the file is hashed once, and a failed chunk names its tensor.

``weight_hash`` is the RFC 9162 Merkle root (``llmseal.log.tree.merkle``) over all chunks
in file order, leaf ``i`` = ``SHA-256(0x00 || chunk_i)``. The wire format is in
``docs/spec/weights.md``; :meth:`WeightManifest.from_dict` checks that a manifest
from the network is self-consistent (regions tile the file, chunk counts add up)
before anything trusts its offsets.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmseal.core.canonical import canonicalize, loads
from llmseal.errors import ContentError, WeightsError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FORMAT",
    "ChunkRef",
    "Region",
    "TensorEntry",
    "WeightManifest",
    "chunk_spans",
]

FORMAT = "llmseal-weights/1"
DEFAULT_CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 1 << 12
MAX_CHUNK_SIZE = 1 << 26
HEADER = "(header)"


@dataclass(frozen=True, slots=True)
class Region:
    """A run of the file hashed as consecutive chunks: the header or one tensor."""

    offset: int
    span: int  # bytes, padding included
    first_chunk: int
    chunks: int
    root: str  # RFC 9162 root over this region's chunk leaves, hex


@dataclass(frozen=True, slots=True)
class TensorEntry:
    name: str
    type: str  # quantization (gguf's name: Q4_1, F32...)
    shape: tuple[int, ...]
    size: int  # the tensor's own bytes; region.span - size is padding
    region: Region


@dataclass(frozen=True, slots=True)
class ChunkRef:
    """Where chunk ``index`` lies, and which region (tensor name or ``(header)``) holds it."""

    index: int
    offset: int
    size: int
    region: str


def chunk_spans(span: int, chunk_size: int) -> list[int]:
    """Sizes of the chunks a region of ``span`` bytes is cut into."""
    full, rest = divmod(span, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


@dataclass(frozen=True, slots=True)
class WeightManifest:
    weight_hash: str
    file_name: str
    file_size: int
    file_sha256: str
    chunk_size: int
    chunk_count: int
    gguf: Mapping[str, Any]  # version, alignment, data_offset, kv_count, architecture, name
    header: Region
    tokenizer_sha256: str  # over the raw bytes of every tokenizer.* key, in file order
    chat_template_sha256: str | None
    tensors: tuple[TensorEntry, ...]  # in file order

    def regions(self) -> list[tuple[str, Region]]:
        return [(HEADER, self.header), *((t.name, t.region) for t in self.tensors)]

    def chunk(self, index: int) -> ChunkRef:
        """The location of chunk ``index``; WeightsError when there is no such chunk."""
        if not 0 <= index < self.chunk_count:
            raise WeightsError(f"no chunk {index}: the commitment has {self.chunk_count}")
        regions = self.regions()
        starts = [r.first_chunk for _, r in regions]
        name, region = regions[bisect.bisect_right(starts, index) - 1]
        within = index - region.first_chunk
        offset = region.offset + within * self.chunk_size
        size = min(self.chunk_size, region.offset + region.span - offset)
        return ChunkRef(index, offset, size, name)

    def tensor(self, name: str) -> TensorEntry | None:
        return next((t for t in self.tensors if t.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "weight_hash": self.weight_hash,
            "file": {"name": self.file_name, "size": self.file_size, "sha256": self.file_sha256},
            "chunking": {
                "chunk_size": self.chunk_size,
                "chunks": self.chunk_count,
                "tree": "rfc9162-sha256",
            },
            "gguf": dict(self.gguf),
            "metadata": {
                "tokenizer_sha256": self.tokenizer_sha256,
                "chat_template_sha256": self.chat_template_sha256,
            },
            "header": _region_dict(self.header),
            "tensors": [
                {"name": t.name, "type": t.type, "shape": list(t.shape), "size": t.size}
                | _region_dict(t.region)
                for t in self.tensors
            ],
        }

    def to_json(self) -> bytes:
        """RFC 8785 bytes: the same manifest is the same bytes on every machine."""
        return canonicalize(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str) -> WeightManifest:
        try:
            return cls.from_dict(loads(data))
        except ContentError as exc:
            raise WeightsError(f"weights manifest is {exc}") from exc

    @classmethod
    def from_dict(cls, data: Any) -> WeightManifest:
        """Parse and check a manifest; WeightsError names the first problem."""
        obj = _obj(data, "manifest")
        if obj.get("format") != FORMAT:
            raise WeightsError(f"weights manifest format must be {FORMAT!r}")
        file, chunking = _obj(obj.get("file"), "file"), _obj(obj.get("chunking"), "chunking")
        meta = _obj(obj.get("metadata"), "metadata")
        template = meta.get("chat_template_sha256")
        manifest = cls(
            weight_hash=_hex(obj.get("weight_hash"), "weight_hash"),
            file_name=_str(file.get("name"), "file.name"),
            file_size=_int(file.get("size"), "file.size"),
            file_sha256=_hex(file.get("sha256"), "file.sha256"),
            chunk_size=_int(chunking.get("chunk_size"), "chunking.chunk_size"),
            chunk_count=_int(chunking.get("chunks"), "chunking.chunks"),
            gguf=_obj(obj.get("gguf"), "gguf"),
            header=_region(obj.get("header"), "header"),
            tokenizer_sha256=_hex(meta.get("tokenizer_sha256"), "tokenizer_sha256"),
            chat_template_sha256=None if template is None else _hex(template, "chat_template"),
            tensors=tuple(_tensor(t) for t in _list(obj.get("tensors"), "tensors")),
        )
        manifest.check_layout()
        return manifest

    def check_layout(self) -> None:
        """Regions tile ``[0, file_size)`` and chunk numbers run 0..chunk_count-1."""
        if not MIN_CHUNK_SIZE <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise WeightsError(f"chunk size {self.chunk_size} is outside 4 KiB..64 MiB")
        offset = chunk = 0
        for name, region in self.regions():
            if region.offset != offset or region.first_chunk != chunk or region.span <= 0:
                raise WeightsError(f"manifest region {name!r} does not follow the one before")
            if region.chunks != len(chunk_spans(region.span, self.chunk_size)):
                raise WeightsError(f"manifest region {name!r} has the wrong chunk count")
            offset, chunk = offset + region.span, chunk + region.chunks
        for t in self.tensors:
            if not 0 < t.size <= t.region.span:
                raise WeightsError(f"tensor {t.name!r} is larger than its region")
        if offset != self.file_size or chunk != self.chunk_count:
            raise WeightsError("manifest regions do not cover the file exactly")


def _region_dict(r: Region) -> dict[str, Any]:
    return {
        "offset": r.offset,
        "span": r.span,
        "first_chunk": r.first_chunk,
        "chunks": r.chunks,
        "root": r.root,
    }


def _region(value: Any, what: str) -> Region:
    obj = _obj(value, what)
    return Region(
        offset=_int(obj.get("offset"), f"{what}.offset"),
        span=_int(obj.get("span"), f"{what}.span"),
        first_chunk=_int(obj.get("first_chunk"), f"{what}.first_chunk"),
        chunks=_int(obj.get("chunks"), f"{what}.chunks"),
        root=_hex(obj.get("root"), f"{what}.root"),
    )


def _tensor(value: Any) -> TensorEntry:
    obj = _obj(value, "tensor")
    name = _str(obj.get("name"), "tensor name")
    shape = tuple(_int(d, f"{name} shape") for d in _list(obj.get("shape"), f"{name} shape"))
    return TensorEntry(
        name=name,
        type=_str(obj.get("type"), f"{name} type"),
        shape=shape,
        size=_int(obj.get("size"), f"{name} size"),
        region=_region(obj, f"tensor {name}"),
    )


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WeightsError(f"weights manifest: {what} must be an object")
    return value


def _list(value: Any, what: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise WeightsError(f"weights manifest: {what} must be an array")
    return value


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise WeightsError(f"weights manifest: {what} must be a non-empty string")
    return value


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise WeightsError(f"weights manifest: {what} must be a non-negative integer")
    return value


def _hex(value: Any, what: str) -> str:
    if not (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    ):
        raise WeightsError(f"weights manifest: {what} must be 64 lowercase hex digits")
    return value
