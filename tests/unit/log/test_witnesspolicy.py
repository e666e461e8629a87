"""C2SP tlog-policy parsing, quorum checking and proven time."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from llmseal.errors import ConfigError, NoteSignatureError, ProofError
from llmseal.log.note.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    open_checkpoint,
    sign_checkpoint,
)
from llmseal.log.note.cosignature import CosignatureSigner
from llmseal.log.note.note import Note, NoteSignature, parse_note
from llmseal.log.note.notekeys import Ed25519NoteSigner
from llmseal.log.witness.quorum import check_quorum, open_witnessed, quorum_time, witness_times
from llmseal.log.witness.witnesspolicy import WitnessPolicy

VECTORS = Path(__file__).parents[2] / "vectors" / "tlog"
ORIGIN = "example.com/log"
LOG = Ed25519NoteSigner.generate(ORIGIN)
W = {n: CosignatureSigner.generate(f"{n.lower()}.witness.example") for n in
     ("X1", "X2", "X3", "Y1", "Y2", "Y3")}  # fmt: skip
T0 = 1_770_000_000


def _spec_policy(log: bool = True) -> WitnessPolicy:
    # The example of c2sp.org/tlog-policy, "Example policy", with real keys.
    lines = [f"log {LOG.vkey()} https://log.example.com/"] if log else []
    lines += [f"witness {n} {s.vkey()}" for n, s in W.items() if n.startswith("X")]
    lines += ["group X-witnesses 2 X1 X2 X3", "", "# second operator"]
    lines += [f"\twitness  {n}\t{s.vkey()}  " for n, s in W.items() if n.startswith("Y")]
    lines += ["group Y-witnesses any Y1 Y2 Y3", "group X-and-Y all X-witnesses Y-witnesses"]
    lines += ["quorum X-and-Y"]
    return WitnessPolicy.parse("\n".join(lines) + "\n")


def _cosigned(times: dict[str, int], size: int = 9) -> Note:
    signed = sign_checkpoint(Checkpoint(ORIGIN, size, hashlib.sha256(b"r").digest()), LOG)
    lines = [W[name].cosign(signed.note.text, t) for name, t in times.items()]
    return signed.note.with_signatures(*lines)


def test_spec_example_parses() -> None:
    policy = _spec_policy()
    assert [log.origin for log in policy.logs] == [ORIGIN]
    assert policy.logs[0].url == "https://log.example.com/"
    assert list(policy.witnesses) == list(W)
    assert policy.groups["X-witnesses"].threshold == 2
    assert policy.groups["Y-witnesses"].threshold == 1
    assert policy.groups["X-and-Y"].threshold == 2
    assert policy.quorum == "X-and-Y"
    assert policy.log_verifiers(ORIGIN) == [LOG.verifier()] and not policy.log_verifiers("x")
    assert "6 witness(es)" in policy.describe()


def test_quorum_and_proven_time() -> None:
    policy = _spec_policy()
    cases = [
        ({"X1": T0, "X2": T0 + 5, "Y3": T0 + 2}, T0 + 5),
        ({"X1": T0 + 9, "X2": T0 + 5, "X3": T0 + 1, "Y1": T0 + 7, "Y2": T0}, T0 + 5),
        ({"X1": T0, "X2": T0 + 1, "X3": T0 + 2}, None),  # no Y witness
        ({"X1": T0, "Y1": T0, "Y2": T0}, None),  # one X witness
    ]
    for times, expected in cases:
        note = _cosigned(times)
        result = open_witnessed(note.encode(), origin=ORIGIN, policy=policy)
        assert dict(result.cosigned) == times
        assert bool(result) is (expected is not None)
        if expected is None:
            with pytest.raises(ProofError, match="not cosigned by the witness quorum"):
                result.require()
            assert result.proven_at is None
        else:
            assert result.require().proven_at == datetime.fromtimestamp(expected, UTC)


def test_backdating_needs_the_whole_quorum() -> None:
    # Two lying witnesses stamp an early time; the quorum's time is still the honest one.
    policy = _spec_policy()
    liars = {"X1": T0 - 10**6, "Y1": T0 - 10**6}
    honest = {"X2": T0}
    result = check_quorum(_signed(_cosigned(liars | honest)), policy)
    assert result.proven_at == datetime.fromtimestamp(T0, UTC)


def _signed(note: Note) -> SignedCheckpoint:
    return open_checkpoint(note.encode(), origin=ORIGIN, verifiers=[LOG.verifier()])


def test_a_bad_cosignature_by_a_policy_witness_rejects_the_checkpoint() -> None:
    note = _cosigned({"X1": T0, "X2": T0})
    bad = note.signatures[1]
    forged = NoteSignature(
        bad.name, bad.key_id, bad.signature[:-1] + bytes([bad.signature[-1] ^ 1])
    )
    with pytest.raises(NoteSignatureError, match="witness X1"):
        witness_times(Note(note.text, (note.signatures[0], forged)), _spec_policy())


def test_unknown_cosigners_and_future_times_are_not_counted() -> None:
    policy = _spec_policy()
    stranger = CosignatureSigner.generate("x1.witness.example")  # a known name, another key
    note = _cosigned({"X1": T0, "X2": T0 + 1, "Y1": T0 + 10**6})
    note = note.with_signatures(stranger.cosign(note.text, T0))
    at = datetime.fromtimestamp(T0 + 60, UTC)
    times, notes = witness_times(note, policy, at=at)
    assert times == {"X1": T0, "X2": T0 + 1}
    assert notes == ["witness Y1's cosignature is dated in the future"]
    result = check_quorum(_signed(note), policy, at=at)
    assert not result
    with pytest.raises(ProofError, match="future"):
        result.require()


def test_quorum_none_needs_no_witness_and_proves_no_time() -> None:
    policy = WitnessPolicy.parse(f"log {LOG.vkey()}\nquorum none\n")
    result = open_witnessed(_cosigned({}).encode(), origin=ORIGIN, policy=policy)
    assert result.satisfied and result.proven_at is None


def test_the_log_key_comes_from_the_policy_or_the_caller() -> None:
    policy = _spec_policy(log=False)
    note = _cosigned({"X1": T0, "X2": T0, "Y1": T0})
    with pytest.raises(ProofError, match="lists no key"):
        open_witnessed(note.encode(), origin=ORIGIN, policy=policy)
    result = open_witnessed(
        note.encode(), origin=ORIGIN, policy=policy, log_verifiers=[LOG.verifier()]
    )
    assert result.satisfied
    other = Ed25519NoteSigner.generate(ORIGIN)
    with pytest.raises(NoteSignatureError):
        open_witnessed(
            note.encode(), origin=ORIGIN, policy=policy, log_verifiers=[other.verifier()]
        )


def test_sunlight_vector_under_a_policy() -> None:
    vkey = "witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN"
    policy = WitnessPolicy.parse(f"witness sunlight-w {vkey}\nquorum sunlight-w\n")
    note = parse_note((VECTORS / "sunlight-cosigned" / "checkpoint").read_bytes())
    times, _ = witness_times(note, policy)
    assert times == {"sunlight-w": 1767139200}
    assert quorum_time(policy, times) == 1767139200


X1, X2 = W["X1"].vkey(), W["X2"].vkey()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no quorum line"),
        ("quorum none\nquorum none\n", "exactly one quorum"),
        ("quorum w\n", "not defined above"),
        (f"quorum w\nwitness w {X1}\n", "not defined above"),
        (f"witness none {X1}\nquorum none\n", "reserved"),
        (f"witness w {X1}\nwitness w {X2}\nquorum w\n", "defined twice"),
        (f"witness w {X1}\nwitness v {X1}\nquorum w\n", "already listed"),
        (f"witness w {X1}\ngroup w any w\nquorum w\n", "defined twice"),
        (f"witness w {X1}\ngroup g 2 w\nquorum g\n", "threshold"),
        (f"witness w {X1}\ngroup g 0 w\nquorum g\n", "threshold"),
        (f"witness w {X1}\ngroup g 01 w\nquorum g\n", "threshold"),
        (f"witness w {X1}\ngroup g some w\nquorum g\n", "threshold"),
        (f"witness w {X1}\ngroup g any w w\nquorum g\n", "listed twice"),
        (f"witness w {X1}\ngroup g any none\nquorum g\n", "cannot be a group member"),
        (f"witness w {X1}\ngroup g any\nquorum g\n", "group line"),
        (f"witness w {X1}\ngroup g any v\nquorum g\n", "not defined above"),
        (f"witness w {LOG.vkey()}\nquorum w\n", "type 0x04"),
        (f"log {X1}\nquorum none\n", "cannot be a cosigner key"),
        (f"log {LOG.vkey()}\nlog {LOG.vkey()}\nquorum none\n", "listed twice"),
        (f"log {LOG.vkey()} url extra\nquorum none\n", "log line"),
        ("log not-a-key\nquorum none\n", "verifier key"),
        ("log example.com+12345678+BQA=\nquorum none\n", "unsupported verifier key type 0x05"),
        ("witness w\nquorum none\n", "witness line"),
        ("quorum\n", "quorum line"),
        ("wintess w x\nquorum none\n", "unknown line type"),
        ("quorum none\x0b\n", "control character"),
        ("# fine\nquorum none\r\n", "control character"),
    ],
)
def test_hostile_policies_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WitnessPolicy.parse(text, source="p.policy")


def test_line_numbers_and_opaque_octets() -> None:
    with pytest.raises(ConfigError, match=r"p\.policy:3: "):
        WitnessPolicy.parse(f"# c\nwitness w {X1}\nquorum v\n", source="p.policy")
    kelvin = "\u212a".encode()
    policy = WitnessPolicy.parse(
        b"witness K " + X1.encode() + b"\nwitness " + kelvin + b" " + X2.encode()
        + b"\ngroup g all K " + kelvin + b"\nquorum g\n"
    )  # fmt: skip
    assert len(policy.witnesses) == 2 and policy.groups["g"].threshold == 2
    raw = WitnessPolicy.parse(b"witness \xff " + X1.encode() + b"\nquorum \xff\n")
    assert raw.quorum is not None and raw.quorum.encode("utf-8", "surrogateescape") == b"\xff"


def test_load_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read witness policy"):
        WitnessPolicy.load(tmp_path / "missing")
    path = tmp_path / "p"
    path.write_text("quorum none\n")
    assert WitnessPolicy.load(path).quorum is None


# Property: the proven time is the earliest T at which the cosignatures dated <= T
# satisfy the quorum, computed here by brute force over every candidate T.

_NAMES = [f"w{i}" for i in range(5)]
_KEYS = {n: CosignatureSigner.generate(f"{n}.example").vkey() for n in _NAMES}


@st.composite
def _policies(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, list[str]]]]:
    defined = list(_NAMES)
    groups: list[tuple[str, int, list[str]]] = []
    for g in range(draw(st.integers(0, 3))):
        members = draw(st.lists(st.sampled_from(defined), min_size=1, max_size=4, unique=True))
        k = draw(st.integers(1, len(members)))
        groups.append((f"g{g}", k, members))
        defined.append(f"g{g}")
    return draw(st.sampled_from(defined)), groups


def _satisfied(name: str, have: set[str], groups: dict[str, tuple[int, list[str]]]) -> bool:
    if name not in groups:
        return name in have
    k, members = groups[name]
    return sum(_satisfied(m, have, groups) for m in members) >= k


@given(shape=_policies(), times=st.dictionaries(st.sampled_from(_NAMES), st.integers(1, 50)))
def test_proven_time_is_the_earliest_satisfying_time(
    shape: tuple[str, list[tuple[str, int, list[str]]]], times: dict[str, int]
) -> None:
    quorum, groups = shape
    lines = [f"witness {n} {_KEYS[n]}" for n in _NAMES]
    lines += [f"group {g} {k} {' '.join(m)}" for g, k, m in groups]
    policy = WitnessPolicy.parse("\n".join([*lines, f"quorum {quorum}"]))
    table = {g: (k, m) for g, k, m in groups}
    expected = next(
        (t for t in sorted(set(times.values()))
         if _satisfied(quorum, {n for n, v in times.items() if v <= t}, table)),
        None,
    )  # fmt: skip
    event("satisfied" if expected is not None else "not satisfied")
    assert quorum_time(policy, times) == expected
