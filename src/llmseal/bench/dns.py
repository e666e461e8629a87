"""Key discovery over DNS and signing in an HSM, against their plain counterparts.

* ``dns``: full receipt verification with the key from a warm DNSSEC-validated
  DNS cache vs from a key-set object, measured turn about in the same run (the
  design goal is a ratio of about 1: a warm hit is a dict lookup, also timed on
  its own); plus the cost of one cold lookup (TXT + DNSKEY queries to a real
  ``named`` on loopback, two RRSIG checks).
* ``hsm``: signing throughput of a token-held Ed25519 and P-256 key vs the same
  algorithms in software, and a full receipt issue with each. The token is the one
  configured by ``LLMSEAL_PKCS11_MODULE``/``_TOKEN``/``_KEY_LABEL``/``_PIN`` (an
  existing Ed25519 key), else a throw-away SoftHSM2 token; null when neither exists.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.bench._support.timing import ops_per_second
from llmseal.core.keys import EcdsaP256Signer, Ed25519Signer, Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.core.verify import verify_receipt

__all__ = ["run"]

_MESSAGE = os.urandom(200)


def run(*, quick: bool) -> dict[str, Any]:
    seconds = 0.25 if quick else 2.0
    return {"dns": _dns(seconds, lookups=10 if quick else 50), "hsm": _hsm(seconds)}


def _dns(seconds: float, *, lookups: int) -> dict[str, Any]:
    from llmseal.bench._beds.named import bind_available, make_zone, running_named

    empty = {"verify_warm_dns_ops_per_s": None, "verify_keyset_ops_per_s": None,
             "warm_dns_vs_keyset": None, "resolve_warm_dns_ns": None,
             "resolve_keyset_ns": None, "cold_lookup_ms": None}  # fmt: skip
    if not bind_available():
        return empty
    from llmseal.trust.dns.dnssec import load_trust_anchors
    from llmseal.trust.dns.record import zone_line
    from llmseal.trust.dns.source import DnsKeySource

    signer = Ed25519Signer.generate("bench.test/m1/2026q1")
    entry = KeyEntry(signer.key_id, signer.public_key())
    keyset = KeySet([entry])
    wire = sign_exchange(
        signer, model_id="m", request=REQUEST, response=RESPONSE, at=datetime.now(UTC)
    ).to_dict()
    with tempfile.TemporaryDirectory(prefix="llmseal-bench-dns-") as tmp:
        zone = make_zone(Path(tmp), "bench.test", [zone_line("m1.2026q1.models.bench.test", entry)])
        assert zone.dsset is not None
        anchors = load_trust_anchors(zone.dsset)
        with running_named(Path(tmp), [zone]) as server:
            source = DnsKeySource(server.address, trust_anchors=anchors)
            assert verify_receipt(wire, source, prompt=REQUEST, output=RESPONSE)  # warms it
            warm, plain = _interleaved(
                lambda: verify_receipt(wire, source, prompt=REQUEST, output=RESPONSE),
                lambda: verify_receipt(wire, keyset, prompt=REQUEST, output=RESPONSE),
                seconds=seconds,
            )
            hit, plain_hit = _interleaved(
                lambda: source.resolve(signer.key_id),
                lambda: keyset.resolve(signer.key_id),
                seconds=seconds / 4,
            )
            start = time.perf_counter()
            for _ in range(lookups):
                DnsKeySource(server.address, trust_anchors=anchors).resolve(signer.key_id)
            cold_ms = (time.perf_counter() - start) * 1000 / lookups
    return {
        "verify_warm_dns_ops_per_s": round(warm),
        "verify_keyset_ops_per_s": round(plain),
        "warm_dns_vs_keyset": round(warm / plain, 2),
        "resolve_warm_dns_ns": round(1e9 / hit),
        "resolve_keyset_ns": round(1e9 / plain_hit),
        "cold_lookup_ms": round(cold_ms, 2),
    }


def _interleaved(
    first: Callable[[], object], second: Callable[[], object], *, seconds: float
) -> tuple[float, float]:
    """Best-of-rounds for two loops measured turn about, so drift hits both alike."""
    a = b = 0.0
    for _ in range(5):
        a = max(a, ops_per_second(first, seconds=seconds, rounds=1))
        b = max(b, ops_per_second(second, seconds=seconds, rounds=1))
    return a, b


def _hsm(seconds: float) -> dict[str, Any]:
    result: dict[str, Any] = {
        "module": None, "token": None,
        "ed25519_sign_ops_per_s": None, "software_ed25519_sign_ops_per_s": None,
        "ed25519_vs_software": None,
        "p256_sign_ops_per_s": None, "software_p256_sign_ops_per_s": None,
        "p256_vs_software": None,
        "issue_receipt_ops_per_s": None, "software_issue_receipt_ops_per_s": None,
    }  # fmt: skip
    try:
        import pkcs11  # noqa: F401 - the optional [hsm] extra
    except ImportError:
        return result
    signers = _token_signers()
    if signers is None:
        return result
    module, token, tokens, cleanup = signers
    result.update(module=module, token=token)
    try:
        software: dict[str, Signer] = {
            "ed25519": Ed25519Signer.generate("soft"),
            "p256": EcdsaP256Signer.generate("soft"),
        }
        for name, hsm in tokens.items():
            ours = ops_per_second(lambda s=hsm: s.sign(_MESSAGE), seconds=seconds)  # type: ignore[misc]
            soft = ops_per_second(lambda s=software[name]: s.sign(_MESSAGE), seconds=seconds)  # type: ignore[misc]
            result[f"{name}_sign_ops_per_s"] = round(ours)
            result[f"software_{name}_sign_ops_per_s"] = round(soft)
            result[f"{name}_vs_software"] = round(ours / soft, 3)
        at = datetime.now(UTC)
        for key, signer in (
            ("issue_receipt", tokens["ed25519"]),
            ("software_issue_receipt", software["ed25519"]),
        ):
            rate = ops_per_second(
                lambda s=signer: sign_exchange(
                    s, model_id="m", request=REQUEST, response=RESPONSE, at=at
                ),  # type: ignore[misc]
                seconds=seconds,
            )
            result[f"{key}_ops_per_s"] = round(rate)
    finally:
        cleanup()
    return result


def _token_signers() -> tuple[str, str, dict[str, Any], Any] | None:
    """``(module, token, {"ed25519": signer[, "p256": signer]}, cleanup)`` or None."""
    from llmseal.trust.pkcs11.token import generate_pkcs11_key, open_pkcs11_signer

    configured = [
        os.environ.get(f"LLMSEAL_PKCS11_{n}") for n in ("MODULE", "TOKEN", "KEY_LABEL", "PIN")
    ]
    if all(configured):
        module, token, label, pin = (str(v) for v in configured)
        signer = open_pkcs11_signer(module, token, label, pin, "bench")
        return module, token, {"ed25519": signer}, signer.close
    from llmseal.bench._beds.softhsm import init_softhsm, softhsm_module

    if softhsm_module() is None:
        return None
    tmp = tempfile.TemporaryDirectory(prefix="llmseal-bench-hsm-")
    hsm = init_softhsm(Path(tmp.name), ["llmseal-bench"])
    opened = {}
    for name, algorithm in (("ed25519", "ed25519"), ("p256", "ecdsa-p256")):
        generate_pkcs11_key(hsm.module, "llmseal-bench", name, hsm.pin, algorithm)  # type: ignore[arg-type]
        opened[name] = open_pkcs11_signer(hsm.module, "llmseal-bench", name, hsm.pin, name)

    def cleanup() -> None:
        for signer in opened.values():
            signer.close()
        tmp.cleanup()

    return hsm.module, "llmseal-bench (SoftHSM2, temporary)", opened, cleanup
