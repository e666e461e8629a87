"""C2SP signed notes (c2sp.org/signed-note): text signed by one or more keys.

A note is UTF-8 text ending in a newline, one blank line, then signature lines
``— <key name> <base64(key ID[4] || signature)>``. The text ends at the *last*
blank line, so the text itself may contain blank lines.

* :func:`parse_note` reads the wire form (hostile input: size, signature count,
  control characters, names and base64 are all checked) into a :class:`Note`.
* :func:`verify_note` checks it against the verifiers a caller trusts: lines
  whose (name, key ID) pair matches no verifier are ignored, a line that matches
  one MUST verify, and at least one must (spec, "Signatures").
* :func:`sign_note` signs a text with any :class:`NoteSigner`.

Verifiers and signers are protocols over the raw signature bytes (what follows
the key ID), so signature types other than Ed25519 (0x01, :mod:`.notekeys`) —
witness cosignatures (0x04, c2sp.org/tlog-cosignature) — plug in without
touching this module.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from llmseal.errors import LogFormatError, NoteSignatureError

__all__ = [
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "check_key_name",
    "check_text",
    "decode_b64",
    "parse_note",
    "sign_note",
    "verify_note",
]

MAX_SIGNATURES = 100  # the spec asks for at least 16; Go's note package allows 100
MAX_NOTE_BYTES = 1 << 20  # 100 ML-DSA-44 cosignatures are ~330 KB of base64
_DASH = "\u2014 "
# Below U+0020 other than LF (signed-note, "Format").
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
# For str patterns, \s is exactly str.isspace() (sre's UNI_SPACE category), in one C pass.
_SPACE = re.compile(r"\s")


class NoteVerifier(Protocol):
    """A key a caller trusts: identified by its name *and* key ID together."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int:
        """The uint32 key ID (big-endian first four bytes of the signature blob)."""
        ...

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True iff ``signature`` (the bytes after the key ID) is valid for note ``text``."""
        ...


class NoteSigner(Protocol):
    """Anything that can add a signature line to a note."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, text: bytes) -> bytes:
        """The signature bytes (without the key ID) over note ``text``."""
        ...


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """The wire form, with its final newline."""
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_DASH}{self.name} {base64.b64encode(blob).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed note: ``text`` ends with a newline; at least one signature."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> bytes:
        """The wire form: text, blank line, signature lines."""
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode("utf-8")

    def with_signatures(self, *extra: NoteSignature) -> Note:
        """The same note with ``extra`` signature lines appended (e.g. cosignatures)."""
        return Note(self.text, self.signatures + extra)


def check_key_name(name: str) -> str:
    """A key name: non-empty, no Unicode whitespace, no ``+`` (spec, "Format")."""
    if not name or "+" in name or _SPACE.search(name) or _CONTROL.search(name):
        raise LogFormatError(f"invalid key name {name[:80]!r}")
    return name


def decode_b64(text: str, what: str) -> bytes:
    """Standard padded base64 in its one canonical spelling (RFC 4648 §4)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise LogFormatError(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise LogFormatError(f"{what} is not canonical base64")
    return raw


def check_text(text: str) -> None:
    """A note text: ends in LF, no control characters other than LF."""
    if not text.endswith("\n"):
        raise LogFormatError("note text must end with a newline")
    if _CONTROL.search(text):
        raise LogFormatError("note contains a control character")


def parse_note(data: bytes | str) -> Note:
    """Parse a signed note; :class:`LogFormatError` on anything malformed.

    Parsing proves nothing: call :func:`verify_note` before using the text.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_NOTE_BYTES:
        raise LogFormatError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LogFormatError("note is not valid UTF-8") from None
    check_text(whole)
    split = whole.rfind("\n\n")
    if split < 0:
        raise LogFormatError("note has no blank line before its signatures")
    text, block = whole[: split + 1], whole[split + 2 :]
    lines = block.split("\n")[:-1]  # block ends with LF (checked above)
    if not lines:
        raise LogFormatError("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise LogFormatError(f"note has more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_parse_signature(line) for line in lines))


def _parse_signature(line: str) -> NoteSignature:
    if not line.startswith(_DASH):
        raise LogFormatError("note signature line does not start with an em dash and a space")
    parts = line[len(_DASH) :].split(" ")
    if len(parts) != 2:
        raise LogFormatError("note signature line is not '— <name> <base64>'")
    name, blob = check_key_name(parts[0]), decode_b64(parts[1], "note signature")
    if len(blob) < 5:
        raise LogFormatError("note signature is shorter than a key ID and one byte")
    return NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def verify_note(note: Note, verifiers: Iterable[NoteVerifier]) -> tuple[NoteSignature, ...]:
    """The signatures of ``note`` that trusted keys verified (at least one).

    Raises:
        NoteSignatureError: a signature by a trusted key fails (the whole note is
            rejected, as the spec recommends), or no trusted key signed the note.
    """
    known = {(v.name, v.key_id): v for v in verifiers}
    text = note.text.encode("utf-8")
    good: list[NoteSignature] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue  # unknown key, even if it shares a name or an ID with a known one
        if not verifier.verify(text, sig.signature):
            raise NoteSignatureError(
                f"the signature by {sig.name}+{sig.key_id:08x} does not verify"
            )
        if sig not in good:
            good.append(sig)
    if not good:
        names = ", ".join(sorted({f"{n}+{i:08x}" for n, i in known})) or "none"
        raise NoteSignatureError(f"the note is not signed by a trusted key (trusted: {names})")
    return tuple(good)


def sign_note(text: str, *signers: NoteSigner) -> Note:
    """Sign ``text`` (ending in LF) with every signer, in order."""
    check_text(text)
    if not signers:
        raise LogFormatError("a signed note needs at least one signer")
    raw = text.encode("utf-8")
    return Note(
        text,
        tuple(NoteSignature(check_key_name(s.name), s.key_id, s.sign(raw)) for s in signers),
    )
