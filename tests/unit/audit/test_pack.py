"""Fingerprint packs: content hash, then publisher signature, then local trust policy."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from llmseal.audit.enrollment.reference import Reference, content_id
from llmseal.audit.packs.pack import DOMAIN, Pack, signing_message
from llmseal.audit.packs.packfile import (
    build_pack,
    load_pack,
    load_references,
    parse_pack,
    verify_pack,
)
from llmseal.core.canonical import canonicalize
from llmseal.core.keys import EcdsaP256Signer, Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.errors import AuditError, AuditIntegrityError, InputError, KeyLookupError


def _ref(t0: datetime, model: str = "smollm2-135m-instruct", **extra: Any) -> Reference:
    return Reference.build(
        model_id=model, at=t0, source="endpoint", covers=["endpoint:repeat"],
        families={"kbf": {"probes": [{"id": "kbf:1", "answer": 8.0}],
                          "envelope": {"exceed": 1, "total": 80}}},
        **extra,
    )  # fmt: skip


@pytest.fixture
def publisher() -> Ed25519Signer:
    return Ed25519Signer.generate("packs.example/2026")


@pytest.fixture
def trusted(publisher: Ed25519Signer) -> KeySet:
    return KeySet([KeyEntry(publisher.key_id, publisher.public_key())])


def _pack(t0: datetime, signer: Any, *refs: Reference) -> Pack:
    return build_pack(refs or (_ref(t0),), signer=signer, at=t0,
                      expires_at=t0 + timedelta(days=30), license="CC-BY-4.0")  # fmt: skip


def test_a_built_pack_verifies_and_round_trips(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet, tmp_path: Any
) -> None:
    refs = (_ref(t0), _ref(t0, "gemma-3-270m"))
    built = _pack(t0, publisher, *refs)
    assert built.pack_id == content_id(built.to_dict(), exclude=("pack_id", "signature"))
    assert [r.reference_id for r in built.references] == [r.reference_id for r in refs]
    path = tmp_path / "pack.json"
    path.write_bytes(built.to_json())
    loaded = load_pack(path, trusted=trusted, at=t0 + timedelta(days=1))
    assert loaded == built and loaded.references[1].model_id == "gemma-3-270m"
    assert loaded.reference("gemma-3-270m") is not None and loaded.reference("x") is None
    # the signed message is domain-separated: the bare pack id is not what was signed
    assert publisher.public_key().verify(built.signature, DOMAIN + built.pack_id.encode())
    assert not publisher.public_key().verify(built.signature, built.pack_id.encode())


def test_formatting_does_not_change_the_pack_id(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    built = _pack(t0, publisher)
    pretty = json.dumps(dict(reversed(list(built.to_dict().items()))), indent=3)
    assert verify_pack(pretty, trusted=trusted, at=t0).pack_id == built.pack_id


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(license="proprietary"),
        lambda d: d.update(expires_at="2099-01-01T00:00:00Z"),
        lambda d: d["publisher"].update(name="someone else"),
        lambda d: d.update(public_results=[{"separation": 1.0}]),
        lambda d: d["references"].pop(),
    ],
)
def test_any_edit_of_the_content_fails_the_hash(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet, edit: Any
) -> None:
    data = _pack(t0, publisher, _ref(t0), _ref(t0, "gemma")).to_dict()
    edit(data)
    with pytest.raises(AuditIntegrityError) as info:
        verify_pack(canonicalize(data), trusted=trusted, at=t0)
    assert info.value.code == "hash_mismatch"


def test_an_edited_reference_fails_even_with_a_recomputed_pack_id(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    data = _pack(t0, publisher).to_dict()
    data["references"][0]["families"]["kbf"]["probes"][0]["answer"] = 9.0
    data["pack_id"] = content_id(data, exclude=("pack_id", "signature"))
    with pytest.raises(AuditIntegrityError) as info:
        parse_pack(canonicalize(data))
    assert info.value.code == "hash_mismatch" and "reference" in str(info.value)


def test_a_re_hashed_pack_fails_the_signature(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    """A mirror that edits the content and fixes up pack_id cannot fix the signature."""
    data = _pack(t0, publisher).to_dict()
    data["license"] = "proprietary"
    data["pack_id"] = content_id(data, exclude=("pack_id", "signature"))
    with pytest.raises(AuditIntegrityError) as info:
        verify_pack(canonicalize(data), trusted=trusted, at=t0)
    assert info.value.code == "bad_signature"


def test_a_signature_over_the_undomained_id_is_refused(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    data = _pack(t0, publisher).to_dict()
    data["signature"] = base64.b64encode(publisher.sign(data["pack_id"].encode())).decode()
    with pytest.raises(AuditIntegrityError) as info:
        verify_pack(canonicalize(data), trusted=trusted, at=t0)
    assert info.value.code == "bad_signature"


def test_a_stranger_who_re_signs_is_untrusted(t0: datetime, trusted: KeySet) -> None:
    """Anyone can sign a pack; the trust policy decides, and a key id alone is not enough."""
    stranger = Ed25519Signer.generate("packs.example/2026")  # the trusted key id, another key
    built = _pack(t0, stranger)
    assert verify_pack(built.to_json(), trusted=None, at=t0).pack_id == built.pack_id
    with pytest.raises(AuditIntegrityError) as info:
        verify_pack(built.to_json(), trusted=trusted, at=t0)
    assert info.value.code == "untrusted_publisher" and "another key" in str(info.value)
    other = _pack(t0, Ed25519Signer.generate("unknown"))
    with pytest.raises(AuditIntegrityError, match="not a trusted publisher"):
        verify_pack(other.to_json(), trusted=trusted, at=t0)


def test_a_revoked_publisher_key_is_refused(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    built = _pack(t0, publisher)
    entry = trusted.resolve(publisher.key_id)
    assert entry is not None
    revoked = KeySet([entry.revoked(t0 + timedelta(days=1))])
    with pytest.raises(AuditIntegrityError) as info:
        verify_pack(built.to_json(), trusted=revoked, at=t0)
    assert info.value.code == "revoked_publisher"


def test_lifetime_is_judged_at_the_given_time(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    data = _pack(t0, publisher).to_json()
    verify_pack(data, trusted=trusted, at=t0 + timedelta(days=29, hours=23))  # accepted
    for at, code in (
        (t0 + timedelta(days=30), "expired"),
        (t0 - timedelta(hours=1), "not_yet_valid"),
    ):
        with pytest.raises(AuditIntegrityError) as info:
            verify_pack(data, trusted=trusted, at=at)
        assert info.value.code == code
    with pytest.raises(AuditIntegrityError, match="expired"):
        verify_pack(data, trusted=None, at=t0 + timedelta(days=31))


def test_p256_publishers_work_too(t0: datetime) -> None:
    signer = EcdsaP256Signer.generate("p256-publisher")
    built = _pack(t0, signer)
    keys = KeySet([KeyEntry(signer.key_id, signer.public_key())])
    assert verify_pack(built.to_json(), trusted=keys, at=t0).publisher.public_key.algorithm == (
        "ecdsa-p256"
    )


def test_private_references_never_enter_a_pack(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    private = _ref(t0, private=True)
    with pytest.raises(AuditError, match="private probe bank"):
        _pack(t0, publisher, _ref(t0, "gemma"), private)
    # nor can one be smuggled in by a publisher who signs it anyway
    data = _pack(t0, publisher).to_dict()
    data["references"] = [private.to_dict()]
    data["pack_id"] = content_id(data, exclude=("pack_id", "signature"))
    data["signature"] = base64.b64encode(publisher.sign(signing_message(data["pack_id"]))).decode()
    with pytest.raises(AuditIntegrityError) as info:
        verify_pack(canonicalize(data), trusted=trusted, at=t0)
    assert info.value.code == "private_reference"


def test_build_refuses_nonsense(t0: datetime, publisher: Ed25519Signer) -> None:
    with pytest.raises(AuditError, match="at least one"):
        build_pack([], signer=publisher, at=t0, expires_at=t0 + timedelta(days=1), license="x")
    with pytest.raises(AuditError, match="twice"):
        _pack(t0, publisher, _ref(t0), _ref(t0))
    with pytest.raises(AuditError, match="expire after"):
        build_pack([_ref(t0)], signer=publisher, at=t0, expires_at=t0, license="x")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"version": 1, "pack_id": "sha256:', "must be JSON"),
        (b"[]", "JSON object"),
        (b'{"version": 1}', "missing"),
    ],
)
def test_malformed_packs_are_input_errors(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_pack(data)


def test_a_truncated_pack_file_is_refused(
    t0: datetime, publisher: Ed25519Signer, tmp_path: Any
) -> None:
    path = tmp_path / "pack.json"
    path.write_bytes(_pack(t0, publisher).to_json()[:-40])
    with pytest.raises(InputError, match="must be JSON"):
        load_pack(path, trusted=None, at=t0)
    with pytest.raises(InputError, match="cannot read"):
        load_pack(tmp_path / "absent.json", trusted=None, at=t0)


def test_load_references_takes_a_pack_or_a_bare_reference(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet, tmp_path: Any
) -> None:
    ref = _ref(t0, private=True)  # the buyer's own: a bare file needs no publisher
    bare = tmp_path / "ref.json"
    bare.write_bytes(ref.to_json())
    assert [r.reference_id for r in load_references(bare, trusted=trusted, at=t0)] == [
        ref.reference_id
    ]
    pack = tmp_path / "pack.json"
    pack.write_bytes(_pack(t0, Ed25519Signer.generate("stranger")).to_json())
    with pytest.raises(AuditIntegrityError, match="not a trusted publisher"):
        load_references(pack, trusted=trusted, at=t0)
    pack.write_bytes(_pack(t0, publisher).to_json())
    assert len(load_references(pack, trusted=trusted, at=t0)) == 1
    data = json.loads(bare.read_bytes())
    data["covers"] = ["edited"]
    bare.write_text(json.dumps(data))
    with pytest.raises(AuditIntegrityError, match="does not match"):
        load_references(bare, trusted=trusted, at=t0)


def test_the_publisher_name_and_url_travel_with_the_pack(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    built = build_pack([_ref(t0)], signer=publisher, at=t0, expires_at=t0 + timedelta(days=1),
                       license="CC0-1.0", name="Packs Inc.",
                       url="https://packs.example")  # fmt: skip
    wire = json.loads(built.to_json())["publisher"]
    assert wire == {"key_id": publisher.key_id, "algorithm": "ed25519",
                    "public_key": publisher.public_key().b64(), "name": "Packs Inc.",
                    "url": "https://packs.example"}  # fmt: skip
    loaded = verify_pack(built.to_json(), trusted=trusted, at=t0).publisher
    assert (loaded.name, loaded.url, loaded.public_key.raw) == (
        "Packs Inc.", "https://packs.example", publisher.public_key().raw,
    )  # fmt: skip
    assert signing_message("sha256:00") == b"llmseal-fingerprint-pack/v1\nsha256:00"


@pytest.mark.parametrize(
    ("publisher_value", "message"),
    [
        ("someone", "publisher must be an object"),
        ({"public_key": "AAAA"}, "has no key_id"),
        ({"key_id": "", "public_key": "AAAA"}, "has no key_id"),
        ({"key_id": "k", "name": 7}, "name and url must be strings"),
        ({"key_id": "k", "url": ["x"]}, "name and url must be strings"),
        ({"key_id": "k"}, "needs a base64 public_key"),
        ({"key_id": "k", "algorithm": 1, "public_key": "AAAA"}, "needs a base64 public_key"),
        ({"key_id": "k", "public_key": "AAAA"}, "32 bytes"),
    ],
)
def test_a_malformed_publisher_is_an_input_error(
    t0: datetime, publisher: Ed25519Signer, publisher_value: Any, message: str
) -> None:
    data = _pack(t0, publisher).to_dict()
    data["publisher"] = publisher_value
    data["pack_id"] = content_id(data, exclude=("pack_id", "signature"))
    with pytest.raises(InputError, match=message):
        parse_pack(canonicalize(data))


class _Unreachable:
    """A key source that cannot answer (a DNS lookup that failed, say)."""

    def resolve(self, key_id: str) -> KeyEntry | None:
        raise KeyLookupError(f"no record for {key_id}", code="not_in_zone")


def test_trust_is_checked_by_load_pack_and_exactly_worded(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet, tmp_path: Any
) -> None:
    path = tmp_path / "pack.json"
    path.write_bytes(_pack(t0, Ed25519Signer.generate(publisher.key_id)).to_json())
    with pytest.raises(AuditIntegrityError) as info:
        load_pack(path, trusted=trusted, at=t0)
    assert info.value.code == "untrusted_publisher"
    assert str(info.value) == f"publisher {publisher.key_id!r} has another key"
    path.write_bytes(_pack(t0, Ed25519Signer.generate("nobody")).to_json())
    with pytest.raises(
        AuditIntegrityError, match=r"^publisher 'nobody' is not a trusted publisher$"
    ):
        load_pack(path, trusted=trusted, at=t0)
    with pytest.raises(AuditIntegrityError) as info:
        load_pack(path, trusted=_Unreachable(), at=t0)
    assert info.value.code == "untrusted_publisher"
    assert str(info.value) == "publisher 'nobody' cannot be looked up: no record for nobody"


def test_the_clock_skew_allowance_is_five_minutes(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    data = _pack(t0, publisher).to_json()
    verify_pack(data, trusted=trusted, at=t0 - timedelta(minutes=5))  # accepted
    with pytest.raises(AuditIntegrityError, match="is not valid before 2026-04-12T14:32:00Z"):
        verify_pack(data, trusted=trusted, at=t0 - timedelta(minutes=5, seconds=1))


def test_load_references_refuses_what_is_neither(
    t0: datetime, publisher: Ed25519Signer, tmp_path: Any
) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b"{not json")
    with pytest.raises(InputError, match=r"x\.json is not JSON"):
        load_references(path, trusted=None, at=t0)
    # a pack that also carries a reference_id is still a pack, checked as one
    data = _pack(t0, publisher).to_dict()
    data["reference_id"] = data["references"][0]["reference_id"]
    path.write_bytes(canonicalize(data))
    with pytest.raises(AuditIntegrityError, match="does not match its content"):
        load_references(path, trusted=None, at=t0)


@pytest.mark.parametrize(
    ("value", "message"),
    [(20261201, "created_at must be an RFC 3339 string"),
     ("2026-12-01 00:00", "created_at is not an RFC 3339 time: '2026-12-01 00:00'")],
)  # fmt: skip
def test_times_must_be_rfc3339(
    t0: datetime, publisher: Ed25519Signer, value: Any, message: str
) -> None:
    data = _pack(t0, publisher).to_dict()
    data["created_at"] = value
    data["pack_id"] = content_id(data, exclude=("pack_id", "signature"))
    with pytest.raises(InputError, match=f"^fingerprint pack {message}$"):
        parse_pack(canonicalize(data))


def test_pack_files_have_a_size_limit(
    t0: datetime, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("llmseal.audit.packs.packfile.MAX_PACK_BYTES", 3 << 20)
    path = tmp_path / "big.json"
    path.write_bytes(b" " * (3 << 20))  # at the limit: read, then refused as not JSON
    with pytest.raises(InputError, match="must be JSON"):
        load_pack(path, trusted=None, at=t0)
    path.write_bytes(b" " * ((3 << 20) + 1))
    with pytest.raises(InputError, match=r"big\.json is larger than 3 MiB$"):
        load_pack(path, trusted=None, at=t0)
    with pytest.raises(InputError, match=r"^cannot read fingerprint pack .*: Is a directory$"):
        load_pack(tmp_path, trusted=None, at=t0)


def test_refusals_say_what_failed(t0: datetime, publisher: Ed25519Signer, trusted: KeySet) -> None:
    data = _pack(t0, publisher).to_dict()
    data["signature"] = base64.b64encode(bytes(64)).decode()
    with pytest.raises(AuditIntegrityError) as info:
        verify_pack(canonicalize(data), trusted=trusted, at=t0)
    assert str(info.value) == (
        f"pack {data['pack_id']} is not signed by its publisher key {publisher.key_id!r}"
    )
    entry = trusted.resolve(publisher.key_id)
    assert entry is not None
    with pytest.raises(AuditIntegrityError) as info:
        verify_pack(_pack(t0, publisher).to_json(), trusted=KeySet([entry.revoked(t0)]), at=t0)
    assert str(info.value) == f"publisher key {publisher.key_id!r} is revoked"
    with pytest.raises(InputError, match=r"^pack publisher must be an object$"):
        parse_pack(canonicalize(_with_publisher(_pack(t0, publisher).to_dict(), "x")))


def _with_publisher(data: dict[str, Any], publisher: Any) -> dict[str, Any]:
    data["publisher"] = publisher
    data["pack_id"] = content_id(data, exclude=("pack_id", "signature"))
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(version=2), "unsupported fingerprint pack version 2"),
        (lambda d: d.update(references={}), "must hold a non-empty list of references"),
        (lambda d: d.update(references=[]), "must hold a non-empty list of references"),
        (lambda d: d.update(license=""), "a fingerprint pack must name its license"),
        (lambda d: d.update(license=["MIT"]), "a fingerprint pack must name its license"),
        (lambda d: d.update(expires_at=d["created_at"]), "expires before it is created"),
        (lambda d: d.update(signature=7), "pack signature must be a base64 string"),
        (lambda d: d.update(signature="not base64!"), "pack signature is not standard base64"),
        (lambda d: d.update(signature="AAAA\nAAAA"), "pack signature is not standard base64"),
    ],
)
def test_malformed_members_are_named(
    t0: datetime, publisher: Ed25519Signer, edit: Any, message: str
) -> None:
    data = _pack(t0, publisher).to_dict()
    edit(data)
    data["pack_id"] = content_id(data, exclude=("pack_id", "signature"))
    with pytest.raises(InputError) as info:
        parse_pack(canonicalize(data))
    assert str(info.value).endswith(message), info.value


def test_missing_members_are_listed_and_results_kept(
    t0: datetime, publisher: Ed25519Signer, trusted: KeySet
) -> None:
    with pytest.raises(InputError, match=r"^not a fingerprint pack: missing license, references$"):
        parse_pack(canonicalize({k: v for k, v in _pack(t0, publisher).to_dict().items()
                                 if k not in ("license", "references")}))  # fmt: skip
    with pytest.raises(InputError, match=r"^a fingerprint pack must be a JSON object$"):
        parse_pack(b"[1]")
    results = [{"reference_id": "sha256:x", "separation": 0.9}]
    built = build_pack([_ref(t0)], signer=publisher, at=t0, expires_at=t0 + timedelta(days=1),
                       license="CC0-1.0", public_results=results)  # fmt: skip
    assert json.loads(built.to_json())["public_results"] == results
    assert "public_results" not in _pack(t0, publisher).to_dict()
    with pytest.raises(AuditError, match=r"^a pack needs at least one reference$"):
        build_pack([], signer=publisher, at=t0, expires_at=t0 + timedelta(days=1), license="x")
    with pytest.raises(AuditError, match=r"^a pack must expire after it is created$"):
        build_pack([_ref(t0)], signer=publisher, at=t0, expires_at=t0, license="x")
