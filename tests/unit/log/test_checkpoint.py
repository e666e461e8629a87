"""C2SP checkpoints: the text form, hostile texts, origin and key binding."""

from __future__ import annotations

import hashlib

import pytest

from llmseal.errors import LogFormatError, NoteSignatureError, ProofError
from llmseal.log.note.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from llmseal.log.note.note import sign_note
from llmseal.log.note.notekeys import Ed25519NoteSigner

ROOT = hashlib.sha256(b"root").digest()
LOG = Ed25519NoteSigner.generate("example.com/log")


def test_text_form_and_round_trip() -> None:
    cp = Checkpoint("example.com/log", 20852163, ROOT)
    text = cp.text()
    lines = text.split("\n")
    assert lines[:2] == ["example.com/log", "20852163"] and text.endswith("=\n")
    assert Checkpoint.parse(text) == cp
    ext = Checkpoint("example.com/log", 0, ROOT, ("extension one",))
    assert Checkpoint.parse(ext.text()) == ext


def test_open_verifies_signature_origin_and_key() -> None:
    signed = sign_checkpoint(Checkpoint("example.com/log", 5, ROOT), LOG)
    opened = open_checkpoint(signed.encode(), origin="example.com/log", verifiers=[LOG.verifier()])
    assert opened.checkpoint == signed.checkpoint and opened.size == 5
    assert [s.name for s in opened.verified_by] == ["example.com/log"]
    with pytest.raises(ProofError, match=r"not 'example\.com/other'"):
        open_checkpoint(signed.encode(), origin="example.com/other", verifiers=[LOG.verifier()])
    other = Ed25519NoteSigner.generate("example.com/log")
    with pytest.raises(NoteSignatureError):
        open_checkpoint(signed.encode(), origin="example.com/log", verifiers=[other.verifier()])


def test_a_trusted_key_signing_another_origin_does_not_verify() -> None:
    # The same key signs checkpoints for two logs: each checkpoint verifies only under its own
    # origin (the origin is inside the signed text).
    signed = sign_checkpoint(Checkpoint("example.com/other", 5, ROOT), LOG)
    with pytest.raises(ProofError):
        open_checkpoint(signed.encode(), origin="example.com/log", verifiers=[LOG.verifier()])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("example.com/log\n5\n", "origin, a size and a root"),
        ("example.com/log\n05\nROOT\n", "leading zeros"),
        ("example.com/log\n-1\nROOT\n", "decimal"),
        ("example.com/log\n+1\nROOT\n", "decimal"),
        ("example.com/log\n 1\nROOT\n", "decimal"),
        ("example.com/log\n1e3\nROOT\n", "decimal"),
        ("example.com/log\n9223372036854775808\nROOT\n", "out of range"),
        ("example.com/log\n99999999999999999999\nROOT\n", "decimal"),
        ("example.com/log\n1\nAAAA\n", "32"),
        ("example.com/log\n1\nROOT\n\n", "extension"),
        ("\n1\nROOT\n", "origin"),
        ("example.com/log\n1\nROOT", "newline"),
        ("example.com/log\n1\n" + "A" * 42 + "B=\n", "canonical"),
    ],
)
def test_hostile_checkpoint_texts(text: str, message: str) -> None:
    import base64

    text = text.replace("ROOT", base64.b64encode(ROOT).decode())
    with pytest.raises(LogFormatError, match=message):
        Checkpoint.parse(text)
    if text.endswith("\n"):  # also when correctly signed
        note = sign_note(text, LOG)
        with pytest.raises(LogFormatError):
            open_checkpoint(note.encode(), origin="example.com/log", verifiers=[LOG.verifier()])


def test_constructor_refuses_bad_values() -> None:
    for args in (
        ("", 1, ROOT),
        ("a\nb", 1, ROOT),
        ("o", -1, ROOT),
        ("o", 1, b"x"),
        ("o", 1 << 63, ROOT),
    ):
        with pytest.raises(LogFormatError):
            Checkpoint(*args)
