"""C2SP signed notes and keys: the spec's example, round trips and hostile notes."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import event, given
from hypothesis import strategies as st

from llmseal.errors import LogFormatError, NoteSignatureError
from llmseal.log.note import notekeys
from llmseal.log.note.note import (
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    parse_note,
    sign_note,
    verify_note,
)
from llmseal.log.note.notekeys import (
    SIG_COSIGNATURE,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    VerifierKey,
    key_id,
    load_verifier,
    register_signature_type,
)

VECTORS = Path(__file__).parents[2] / "vectors" / "tlog"
EXAMPLE = VECTORS / "c2sp-signed-note"


def test_spec_example_verifies() -> None:
    verifier = load_verifier((EXAMPLE / "vkey").read_text())
    note = parse_note((EXAMPLE / "note").read_bytes())
    assert note.text == "This is an example message.\n"
    assert [s.name for s in verify_note(note, [verifier])] == ["example.com/foo"]
    assert verifier.key_id == 0x530D903A
    assert note.encode() == (EXAMPLE / "note").read_bytes()  # parse/encode is exact


def test_spec_example_one_character_edit_fails() -> None:
    verifier = load_verifier((EXAMPLE / "vkey").read_text())
    data = (EXAMPLE / "note").read_bytes().replace(b"example message", b"example massage")
    with pytest.raises(NoteSignatureError, match="does not verify"):
        verify_note(parse_note(data), [verifier])


def test_key_id_is_the_c2sp_formula() -> None:
    signer = Ed25519NoteSigner.generate("example.com/log")
    pub = signer.verifier().public
    digest = hashlib.sha256(b"example.com/log\n\x01" + pub).digest()
    assert signer.key_id == int.from_bytes(digest[:4], "big") == key_id("example.com/log", 1, pub)
    vkey = VerifierKey.parse(signer.vkey())
    assert (vkey.name, vkey.key_id, vkey.sig_type, vkey.public) == (
        "example.com/log",
        signer.key_id,
        1,
        pub,
    )
    assert str(vkey) == signer.vkey()


def test_sign_parse_verify_round_trip_with_several_signers() -> None:
    a, b = Ed25519NoteSigner.generate("a.example"), Ed25519NoteSigner.generate("b.example")
    note = sign_note("hello\n\nworld\n", a, b)
    parsed = parse_note(note.encode())
    assert parsed == note
    assert parsed.text == "hello\n\nworld\n"  # blank lines inside the text survive
    assert len(verify_note(parsed, [b.verifier()])) == 1
    assert len(verify_note(parsed, [a.verifier(), b.verifier()])) == 2


def test_skey_round_trip_and_never_in_repr() -> None:
    signer = Ed25519NoteSigner.generate("example.com/log")
    again = Ed25519NoteSigner.from_skey(signer.skey())
    assert again.vkey() == signer.vkey()
    assert signer.skey().split("+")[4] not in repr(signer)
    note = sign_note("x\n", again)
    verify_note(note, [signer.verifier()])


def test_unknown_keys_are_ignored_but_one_known_key_must_verify() -> None:
    log = Ed25519NoteSigner.generate("log.example")
    other = Ed25519NoteSigner.generate("other.example")
    note = sign_note("body\n", other, log)
    assert [s.name for s in verify_note(note, [log.verifier()])] == ["log.example"]
    with pytest.raises(NoteSignatureError, match="not signed by a trusted key"):
        verify_note(sign_note("body\n", other), [log.verifier()])
    with pytest.raises(NoteSignatureError):
        verify_note(note, [])


def test_same_name_other_key_id_is_ignored_not_trusted() -> None:
    log = Ed25519NoteSigner.generate("log.example")
    impostor = Ed25519NoteSigner.generate("log.example")  # same name, other key → other ID
    with pytest.raises(NoteSignatureError, match="not signed by a trusted key"):
        verify_note(sign_note("body\n", impostor), [log.verifier()])


def test_a_failing_known_signature_rejects_the_whole_note() -> None:
    log = Ed25519NoteSigner.generate("log.example")
    witness = Ed25519NoteSigner.generate("w.example")
    good = sign_note("body\n", log, witness)
    forged = NoteSignature(witness.name, witness.key_id, bytes(64))
    note = Note(good.text, (good.signatures[0], forged))
    with pytest.raises(NoteSignatureError, match=r"w\.example"):
        verify_note(note, [log.verifier(), witness.verifier()])
    # a wrong-length signature by a known key is a failure too, not an ignored line
    short = Note(good.text, (good.signatures[0], NoteSignature(log.name, log.key_id, b"x")))
    with pytest.raises(NoteSignatureError):
        verify_note(short, [log.verifier()])


_SIG = "\u2014 k.example " + base64.b64encode(b"\x00\x00\x00\x01" + bytes(64)).decode() + "\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"text\n" + _SIG.encode(), "no blank line"),
        (b"text\n\n", "no signature lines"),
        (b"text\n\n" + _SIG.encode().rstrip(b"\n"), "end with a newline"),
        (b"te\rxt\n\n" + _SIG.encode(), "control character"),
        (b"te\x00xt\n\n" + _SIG.encode(), "control character"),
        (b"text\t\n\n" + _SIG.encode(), "control character"),
        (b"\xff\n\n" + _SIG.encode(), "UTF-8"),
        (b"text\n\n- k.example AAAAAQA=\n", "em dash"),
        (b"text\n\n\xe2\x80\x94 k.example\n", "not '"),
        (b"text\n\n\xe2\x80\x94 k.example AAAAAQA= extra\n", "not '"),
        (b"text\n\n\xe2\x80\x94  AAAAAQA=\n", "key name"),
        (b"text\n\n\xe2\x80\x94 k+x AAAAAQA=\n", "key name"),
        (b"text\n\n\xe2\x80\x94 k\xc2\xa0x AAAAAQA=\n", "key name"),  # NBSP is a space
        (b"text\n\n\xe2\x80\x94 k.example AAAAAQ==\n", "shorter than a key ID"),
        (b"text\n\n\xe2\x80\x94 k.example AAAAAQB=\n", "canonical base64"),
        (b"text\n\n\xe2\x80\x94 k.example AAAA AQA=\n", "not '"),
        (b"text\n\n\xe2\x80\x94 k.example AAAAAQA\n", "standard base64"),
        (b"text\n\n\xe2\x80\x94 k.example AAAA_QA=\n", "standard base64"),
    ],
)
def test_hostile_notes_do_not_parse(data: bytes, message: str) -> None:
    with pytest.raises(LogFormatError, match=message):
        parse_note(data)


def test_signature_count_is_capped_but_at_least_16_accepted() -> None:
    assert MAX_SIGNATURES >= 16
    parse_note(b"t\n\n" + _SIG.encode() * 16)
    parse_note(b"t\n\n" + _SIG.encode() * MAX_SIGNATURES)
    with pytest.raises(LogFormatError, match="more than"):
        parse_note(b"t\n\n" + _SIG.encode() * (MAX_SIGNATURES + 1))
    with pytest.raises(LogFormatError, match="larger than"):
        parse_note(b"t" * (1 << 20) + b"\n\n" + _SIG.encode())


def test_text_ends_at_the_last_blank_line() -> None:
    signer = Ed25519NoteSigner.generate("k.example")
    note = sign_note("a\n", signer)
    # Appending "\n\n<line>" moves the separator: the old signature becomes text.
    tampered = note.encode() + b"\n" + _SIG.encode()
    parsed = parse_note(tampered)
    assert parsed.text.startswith("a\n\n\u2014 k.example")
    with pytest.raises(NoteSignatureError):
        verify_note(parsed, [signer.verifier()])


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("example.com/foo", "<name>+"),
        ("example.com/foo+530d903a", "<name>+"),
        ("+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "key name"),
        ("example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "hex"),
        ("example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "hex"),
        ("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "does not match"),
        ("example.com/fo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "does not match"),
        ("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2", "base64"),
        ("example.com/foo+530d903a+AQA=", "32 bytes"),
        ("example.com/foo+530d903a+AA==", "type byte"),
        ("example.com/foo+530d903a+A+kyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "type 0x03"),
    ],
)
def test_hostile_vkeys_are_refused(vkey: str, message: str) -> None:
    with pytest.raises(LogFormatError, match=message):
        load_verifier(vkey)


def test_hostile_skeys_are_refused_without_echoing_them() -> None:
    signer = Ed25519NoteSigner.generate("k.example")
    skey = signer.skey()
    bad_id = skey.replace(f"+{signer.key_id:08x}+", "+00000000+")
    for text in ("k.example+00000000+AQ==", skey[:-4], bad_id):
        with pytest.raises(LogFormatError) as info:
            Ed25519NoteSigner.from_skey(text)
        assert skey.split("+")[4][:20] not in str(info.value)


class _TestCosigner:
    """A c2sp.org/tlog-cosignature (type 0x04) verifier written from the spec, here only
    to show that another signature type plugs into the note verifier unchanged."""

    def __init__(self, vkey: VerifierKey) -> None:
        self.name, self.key_id = vkey.name, vkey.key_id
        self._key = ed25519.Ed25519PublicKey.from_public_bytes(vkey.public)

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 72:
            return False
        stamp = int.from_bytes(signature[:8], "big")
        try:
            self._key.verify(signature[8:], b"cosignature/v1\ntime %d\n" % stamp + text)
        except Exception:
            return False
        return True


def test_a_cosignature_type_plugs_in_sunlight_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    source = (VECTORS / "SOURCE.txt").read_text()
    witness_vkey = next(w for w in source.split() if w.startswith("witness.example.org+"))
    # register_signature_type, undone after the test (the real 0x04 module owns the slot)
    monkeypatch.setattr(notekeys, "_FACTORIES", dict(notekeys._FACTORIES))
    register_signature_type(SIG_COSIGNATURE, _TestCosigner)
    verifier = load_verifier(witness_vkey)
    note = parse_note((VECTORS / "sunlight-cosigned" / "checkpoint").read_bytes())
    assert len(note.signatures) == 2  # the log's 0x05 signature is an unknown key: ignored
    (good,) = verify_note(note, [verifier])
    assert int.from_bytes(good.signature[:8], "big") == 1767139200
    edited = Note(note.text.replace("300", "301"), note.signatures)
    with pytest.raises(NoteSignatureError):
        verify_note(edited, [verifier])


@given(
    text=st.text(
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\t\x0b\x0c"),
        max_size=200,
    ).filter(lambda t: not any(ord(c) < 0x20 and c != "\n" for c in t)),
)
def test_any_valid_text_round_trips(text: str) -> None:
    text += "\n"
    signer = _SIGNER
    note = sign_note(text, signer)
    parsed = parse_note(note.encode())
    event("text has a blank line" if "\n\n" in text else "single paragraph")
    assert parsed.text == text
    verify_note(parsed, [signer.verifier()])


_SIGNER = Ed25519NoteSigner.generate("prop.example")


def test_verifier_rejects_bad_public_keys() -> None:
    with pytest.raises(LogFormatError, match="32 bytes"):
        Ed25519NoteVerifier("k.example", b"\x00" * 31)
    with pytest.raises(LogFormatError, match="key name"):
        Ed25519NoteVerifier("k example", b"\x00" * 32)
