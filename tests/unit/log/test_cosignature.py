"""C2SP tlog-cosignature (type 0x04): the Sunlight vector, the signed message, hostile input."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import event, given
from hypothesis import strategies as st

from llmseal.errors import LogFormatError, NoteSignatureError
from llmseal.log.note.checkpoint import Checkpoint, sign_checkpoint
from llmseal.log.note.cosignature import (
    MAX_TIMESTAMP,
    CosignatureSigner,
    CosignatureVerifier,
    cosignature_time,
)
from llmseal.log.note.note import Note, NoteSignature, parse_note, verify_note
from llmseal.log.note.notekeys import Ed25519NoteSigner, load_verifier

VECTORS = Path(__file__).parents[2] / "vectors" / "tlog"
SUNLIGHT_WITNESS = "witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN"
ROOT = hashlib.sha256(b"root").digest()


def _sunlight() -> Note:
    return parse_note((VECTORS / "sunlight-cosigned" / "checkpoint").read_bytes())


def test_sunlight_witness_cosignature_verifies_and_its_log_signature_is_ignored() -> None:
    assert SUNLIGHT_WITNESS in (VECTORS / "SOURCE.txt").read_text()
    verifier = load_verifier(SUNLIGHT_WITNESS)
    assert isinstance(verifier, CosignatureVerifier)
    note = _sunlight()
    log_line, witness_line = note.signatures
    assert log_line.signature[8:10] == b"\x04\x03"  # RFC 6962 TreeHeadSignature (0x05): unknown
    (good,) = verify_note(note, [verifier])
    assert good == witness_line
    assert cosignature_time(good) == 1767139200


def test_sunlight_cosignature_covers_every_byte_of_the_text() -> None:
    verifier = load_verifier(SUNLIGHT_WITNESS)
    note = _sunlight()
    for edited in (
        note.text.replace("300", "301"),
        note.text.replace("rome2026h1", "rome2026h2"),
        note.text + "extension\n",
    ):
        with pytest.raises(NoteSignatureError):
            verify_note(Note(edited, note.signatures), [verifier])
    # Moving the timestamp breaks the signature: the time is signed.
    sig = note.signatures[1]
    later = (cosignature_time(sig) + 1).to_bytes(8, "big") + sig.signature[8:]
    moved = Note(note.text, (NoteSignature(sig.name, sig.key_id, later),))
    with pytest.raises(NoteSignatureError):
        verify_note(moved, [verifier])


def test_signed_message_is_the_spec_layout() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    signer = CosignatureSigner("witness.example/w1", private)
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    sig = signer.sign_at(text.encode(), 1679315147)
    assert len(sig) == 72 and sig[:8] == (1679315147).to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1679315147\n" + text.encode()
    private.public_key().verify(sig[8:], message)  # independent check: raises if wrong


def test_key_id_uses_type_byte_four_and_vkey_round_trips() -> None:
    signer = CosignatureSigner.generate("witness.example/w1")
    public = signer.verifier().public
    expected = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert signer.key_id == int.from_bytes(expected, "big")
    vkey = signer.vkey()
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert load_verifier(vkey) == signer.verifier()


def test_a_log_signature_does_not_pass_as_a_cosignature() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    log = Ed25519NoteSigner("example.com/log", private)
    cosigner = CosignatureSigner("example.com/log", private)
    signed = sign_checkpoint(Checkpoint("example.com/log", 3, ROOT), log)
    # Same key, same name: the key IDs differ by the type byte, so the lines do not match.
    assert log.key_id != cosigner.key_id
    with pytest.raises(NoteSignatureError, match="not signed by a trusted key"):
        verify_note(signed.note, [cosigner.verifier()])
    forged = NoteSignature(cosigner.name, cosigner.key_id, signed.note.signatures[0].signature)
    with pytest.raises(NoteSignatureError, match="does not verify"):
        verify_note(Note(signed.note.text, (forged,)), [cosigner.verifier()])


def test_skey_round_trip_and_hostile_skeys() -> None:
    signer = CosignatureSigner.generate("w.example")
    again = CosignatureSigner.from_skey(signer.skey())
    assert again.vkey() == signer.vkey()
    log_skey = Ed25519NoteSigner.generate("w.example").skey()
    secret = signer.skey().split("+")[4]
    for text in (log_skey, "w.example+00000000+BA==", signer.skey()[:-4]):
        with pytest.raises(LogFormatError) as info:
            CosignatureSigner.from_skey(text)
        assert secret[:20] not in str(info.value)
    assert secret not in repr(signer)


def test_timestamps_out_of_range_are_refused() -> None:
    signer = CosignatureSigner.generate("w.example")
    for bad in (0, -1, MAX_TIMESTAMP + 1):
        with pytest.raises(LogFormatError):
            signer.sign_at(b"text\n", bad)
    with pytest.raises(LogFormatError, match="no clock"):
        signer.sign(b"text\n")
    assert cosignature_time(signer.with_clock(lambda: 7).sign(b"t\n")) == 7
    # A cosignature claiming a time past 2^63-1 does not verify even if signed.
    private = ed25519.Ed25519PrivateKey.generate()
    verifier = CosignatureVerifier(
        "w.example", CosignatureSigner("w.example", private).verifier().public
    )
    stamp = MAX_TIMESTAMP + 1
    raw = stamp.to_bytes(8, "big") + private.sign(b"cosignature/v1\ntime %d\nt\n" % stamp)
    assert not verifier.verify(b"t\n", raw)
    for length in (0, 64, 71, 73):
        assert not verifier.verify(b"t\n", bytes(length))
    with pytest.raises(LogFormatError):
        cosignature_time(b"\x00" * 64)


@given(stamp=st.integers(1, MAX_TIMESTAMP), size=st.integers(0, (1 << 63) - 1))
def test_any_time_and_size_round_trip(stamp: int, size: int) -> None:
    cp = Checkpoint("example.com/log", size, ROOT)
    line = _PROP.cosign(cp.text(), stamp)
    event("timestamp past 2^32" if stamp >= 1 << 32 else "timestamp below 2^32")
    (good,) = verify_note(parse_note(Note(cp.text(), (line,)).encode()), [_PROP.verifier()])
    assert cosignature_time(good) == stamp


_PROP = CosignatureSigner.generate("prop.example/w")
