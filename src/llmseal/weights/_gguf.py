"""The parts of a GGUF header a weight commitment needs, read without touching tensor data.

The value types, quantization types and block sizes come from the ``gguf`` package
(llama.cpp's own Python reader), so a new quantization is known as soon as ``gguf``
knows it. The walk itself is ours: ``gguf.GGUFReader`` builds a numpy view for every
element of every array (SmolLM2's 49,152 tokens and 48,900 merges take it 4-7 s on
this machine), while skipping them by their length prefixes takes milliseconds. The
tests check that both readers see the same tensors in the real files.

Layout (GGUF v2/v3, little-endian): magic ``GGUF``, u32 version, u64 tensor count,
u64 KV count, the KV pairs, the tensor infos (name, u32 n_dims, u64 dims, u32 type,
u64 offset relative to the data section), padding to ``general.alignment``, data.
Everything is bounds-checked: a manifest is built from files users download.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from llmseal.errors import WeightsError

__all__ = ["GgufHeader", "GgufTensor", "read_header"]

_MAGIC = b"GGUF"
_MAX_COUNT = 1 << 24  # tensors, KV pairs, array elements, dims: far above any real model
_MAX_DIMS = 8


@dataclass(frozen=True, slots=True)
class GgufTensor:
    name: str
    type: str  # the quantization, as gguf names it: Q4_1, F32, Q2_K...
    shape: tuple[int, ...]  # GGUF order (fastest-varying dimension first)
    offset: int  # absolute file offset of the tensor's data
    size: int  # bytes of data


@dataclass(frozen=True, slots=True)
class GgufHeader:
    version: int
    alignment: int
    data_offset: int
    kv_count: int
    fields: dict[str, tuple[int, int]]  # key -> (offset, length) of the raw KV bytes
    strings: dict[str, str]  # the string-valued keys
    tensors: tuple[GgufTensor, ...]  # in header order


class _Cursor:
    def __init__(self, data: bytes | memoryview, limit: int) -> None:
        self.data = data
        self.limit = limit
        self.pos = 0

    def take(self, n: int) -> int:
        start = self.pos
        if n < 0 or start + n > self.limit:
            raise WeightsError(f"GGUF header is truncated at byte {start}")
        self.pos = start + n
        return start

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        return struct.unpack_from(fmt, self.data, self.take(size))[0]

    def string(self) -> bytes:
        length = self.unpack("<Q")
        start = self.take(length)
        return bytes(self.data[start : start + length])


def _value_sizes() -> dict[int, int]:
    from gguf import GGUFValueType as T

    return {
        T.UINT8: 1, T.INT8: 1, T.BOOL: 1, T.UINT16: 2, T.INT16: 2, T.UINT32: 4,
        T.INT32: 4, T.FLOAT32: 4, T.UINT64: 8, T.INT64: 8, T.FLOAT64: 8,
    }  # fmt: skip


def read_header(data: bytes | memoryview, file_size: int) -> GgufHeader:
    """Parse the header at the start of ``data`` (the mapped file)."""
    from gguf import GGUFValueType

    cur = _Cursor(data, min(len(data), file_size))
    if bytes(data[:4]) != _MAGIC:
        raise WeightsError("not a GGUF file (bad magic)")
    cur.take(4)
    version = cur.unpack("<I")
    if version not in (2, 3):
        raise WeightsError(f"unsupported GGUF version {version} (big-endian or too new)")
    tensor_count, kv_count = cur.unpack("<Q"), cur.unpack("<Q")
    if tensor_count > _MAX_COUNT or kv_count > _MAX_COUNT:
        raise WeightsError("GGUF header announces an absurd number of tensors or keys")
    sizes = _value_sizes()
    fields: dict[str, tuple[int, int]] = {}
    strings: dict[str, str] = {}
    alignment = 32
    for _ in range(kv_count):
        start = cur.pos
        key = _text(cur.string(), "key")
        kind = cur.unpack("<I")
        if kind == GGUFValueType.STRING:
            strings[key] = _text(cur.string(), key)
        elif kind == GGUFValueType.ARRAY:
            _skip_array(cur, sizes)
        elif kind in sizes:
            value_at = cur.take(sizes[kind])
            if key == "general.alignment" and kind == GGUFValueType.UINT32:
                alignment = struct.unpack_from("<I", data, value_at)[0]
        else:
            raise WeightsError(f"GGUF key {key!r} has unknown value type {kind}")
        if key in fields:
            raise WeightsError(f"GGUF key {key!r} appears twice")
        fields[key] = (start, cur.pos - start)
    if alignment <= 0 or alignment & (alignment - 1):
        raise WeightsError(f"GGUF alignment {alignment} is not a power of two")
    infos = [_tensor_info(cur) for _ in range(tensor_count)]
    data_offset = -(-cur.pos // alignment) * alignment
    tensors = tuple(_tensor(name, dims, kind, data_offset + rel) for name, dims, kind, rel in infos)
    return GgufHeader(version, alignment, data_offset, kv_count, fields, strings, tensors)


def _skip_array(cur: _Cursor, sizes: dict[int, int]) -> None:
    from gguf import GGUFValueType

    kind, count = cur.unpack("<I"), cur.unpack("<Q")
    if count > _MAX_COUNT:
        raise WeightsError("GGUF array is absurdly long")
    if kind == GGUFValueType.STRING:
        cur.pos = _skip_strings(cur.data, cur.pos, count, cur.limit)
    elif kind in sizes:
        cur.take(sizes[kind] * count)
    else:  # nested arrays exist in the format but in no model we know
        raise WeightsError(f"GGUF array of value type {kind} is not supported")


def _skip_strings(data: bytes | memoryview, pos: int, count: int, limit: int) -> int:
    """Step over ``count`` length-prefixed strings (the hot loop: ~100k tokens and merges)."""
    unpack = struct.Struct("<Q").unpack_from
    for _ in range(count):
        if pos + 8 > limit:
            raise WeightsError("GGUF header is truncated inside a string array")
        pos += 8 + unpack(data, pos)[0]
    if pos > limit:
        raise WeightsError("GGUF header is truncated inside a string array")
    return pos


def _tensor_info(cur: _Cursor) -> tuple[str, tuple[int, ...], int, int]:
    name = _text(cur.string(), "tensor name")
    n_dims = cur.unpack("<I")
    if not 0 < n_dims <= _MAX_DIMS:
        raise WeightsError(f"tensor {name!r} has {n_dims} dimensions")
    dims = tuple(cur.unpack("<Q") for _ in range(n_dims))
    return name, dims, cur.unpack("<I"), cur.unpack("<Q")


def _tensor(name: str, dims: tuple[int, ...], kind: int, offset: int) -> GgufTensor:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        qtype = GGMLQuantizationType(kind)
        block, block_bytes = GGML_QUANT_SIZES[qtype]
    except (ValueError, KeyError):
        raise WeightsError(f"tensor {name!r} has unknown type {kind}") from None
    elements = 1
    for d in dims:
        elements *= d
    if elements == 0 or dims[0] % block:
        raise WeightsError(f"tensor {name!r}: shape {list(dims)} does not fit {qtype.name} blocks")
    return GgufTensor(name, qtype.name, dims, offset, elements // block * block_bytes)


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WeightsError(f"GGUF {what} is not UTF-8") from None
