"""Verify-with-chain vs llm_sign 0.2.0's full-chain verify, in one process.

Both sides validate an X.509 chain (leaf + intermediate under a private root,
ECDSA P-256 as Web PKI issues it) and check signatures over the same ~2 KB chat
exchange:

* ``verify_chain``: ours = :func:`~llmseal.trust.x509.source.verify_receipt_x509`
  (chain path validation at ``issued_at``, key binding, signature, prompt and
  output hashes); llm_sign = ``client.verify_openai_response(resp,
  trust_anchors=[root], expected_host=HOST)`` (and with ``request=``);
* ``verify_llm_sign``: our verifier on llm_sign's own artifact, same work as theirs;
* ``system_store``: the same with the platform trust store. Both sides read it
  through ``SSL_CERT_FILE``, pointed for the run at the system bundle plus our
  root (so the chain validates): llm_sign re-reads it on every call, we once;
* ``verify_chain_uncached``: ours with the chain cache cleared before each call
  (the cost of a chain seen for the first time).
"""

from __future__ import annotations

import contextlib
import copy
import os
import ssl
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.bench._support.timing import ops_per_second
from llmseal.compat.llm_sign import LlmSignIssuer, verify_llm_sign
from llmseal.core.keys import EcdsaP256Signer
from llmseal.core.sign import sign_exchange
from llmseal.trust.x509 import profile
from llmseal.trust.x509.chain import ChainValidator, TrustAnchors
from llmseal.trust.x509.pem import chain_to_pem
from llmseal.trust.x509.source import verify_receipt_x509

__all__ = ["run"]

HOST = "smollm2.models.bench.example"


def run(*, quick: bool) -> dict[str, Any]:
    seconds = 0.25 if quick else 2.0
    lab = _Lab()
    validator = ChainValidator(TrustAnchors([lab.root], source="bench root"))
    receipt = sign_exchange(
        lab.signer, model_id="smollm2", request=REQUEST, response=RESPONSE, at=lab.now
    ).to_dict()

    def ours() -> object:
        return verify_receipt_x509(
            receipt, lab.x5c, validator, name=HOST, prompt=REQUEST, output=RESPONSE
        )

    def ours_cold() -> object:
        validator.clear_cache()
        return ours()

    assert ours(), "bench receipt must verify"
    out: dict[str, Any] = {"leaf": "ecdsa-p256", "chain_length": 2}
    mine = ops_per_second(ours, seconds=seconds)
    peer = _llm_sign(lab, seconds)
    out["verify_chain"] = _row(mine, peer.get("verify"))
    out["verify_chain"]["llm_sign_with_request_ops_per_s"] = peer.get("verify_request")
    out["verify_chain_uncached"] = {"ops_per_s": round(ops_per_second(ours_cold, seconds=seconds))}
    if peer:
        out["verify_llm_sign"] = _row(
            ops_per_second(
                lambda: verify_llm_sign(lab.response, validator, at=lab.now, issuer=HOST),
                seconds=seconds,
            ),
            peer.get("verify"),
        )
    out["system_store"] = _system_store(lab, receipt, seconds)
    return {"x509": out}


class _Lab:
    """A root, an intermediate and a P-256 model leaf valid now; an llm_sign response."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)
        start = self.now - timedelta(days=1)
        root_key = ec.generate_private_key(ec.SECP256R1())
        inter_key = ec.generate_private_key(ec.SECP256R1())
        self.root = profile.build_root(root_key, org="Bench Lab", at=start)
        inter = profile.build_intermediate(inter_key, self.root, root_key, org="Bench", at=start)
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = profile.build_leaf(
            leaf_key.public_key(),
            inter,
            inter_key,
            model="smollm2",
            org="Bench Lab",
            dns_names=[HOST],
            at=start,
        )
        self.signer = EcdsaP256Signer(profile.spki_key_id(leaf_key.public_key()), leaf_key)
        self.x5c = chain_to_pem([leaf, inter])
        self.issuer = LlmSignIssuer([leaf, inter], leaf_key)
        self.response = copy.deepcopy(RESPONSE)
        self.response["llm_sign"] = self.issuer.envelope(REQUEST, RESPONSE)


def _llm_sign(lab: _Lab, seconds: float) -> dict[str, int]:
    try:
        from llm_sign import client
    except ImportError:  # pragma: no cover - llm-sign is a dev dependency
        return {}
    anchors = [lab.root]

    def theirs(**extra: Any) -> Any:
        return client.verify_openai_response(
            lab.response, trust_anchors=anchors, expected_host=HOST, **extra
        )

    if not theirs(request=REQUEST).valid:  # pragma: no cover - would mean the peer changed
        return {}
    return {
        "verify": round(ops_per_second(theirs, seconds=seconds)),
        "verify_request": round(ops_per_second(lambda: theirs(request=REQUEST), seconds=seconds)),
    }


def _system_store(lab: _Lab, receipt: dict[str, Any], seconds: float) -> dict[str, Any]:
    with _system_bundle_with(lab) as count:
        validator = ChainValidator(TrustAnchors.system())
        mine = ops_per_second(
            lambda: verify_receipt_x509(
                receipt, lab.x5c, validator, name=HOST, prompt=REQUEST, output=RESPONSE
            ),
            seconds=seconds,
        )
        theirs: float | None = None
        with contextlib.suppress(ImportError):
            from llm_sign import client

            def default_path() -> Any:
                return client.verify_openai_response(lab.response, expected_host=HOST)

            if default_path().valid:
                theirs = ops_per_second(default_path, seconds=seconds, rounds=2)
    row = _row(mine, round(theirs) if theirs else None)
    row["anchors"] = count
    return row


@contextlib.contextmanager
def _system_bundle_with(lab: _Lab) -> Iterator[int]:
    """The platform store as configured, plus the bench root appended to its CA file.

    ``SSL_CERT_FILE`` points at a copy of the system bundle with our root added;
    the certificate directory (``/etc/ssl/certs``) stays as it is, so llm_sign's
    default path does exactly the work it does on this machine, plus one root.
    """
    paths = ssl.get_default_verify_paths()
    bundle = Path(paths.cafile).read_bytes() if paths.cafile else b""
    root_pem = lab.root.public_bytes(serialization.Encoding.PEM)
    saved = os.environ.get("SSL_CERT_FILE")
    with tempfile.TemporaryDirectory(prefix="llmseal-bench-") as tmp:
        cafile = Path(tmp) / "ca-bundle.pem"
        cafile.write_bytes(bundle + b"\n" + root_pem)
        os.environ["SSL_CERT_FILE"] = str(cafile)
        try:
            with warnings.catch_warnings():
                # A legacy system root has a non-positive serial; cryptography warns.
                warnings.simplefilter("ignore")
                yield len(TrustAnchors.system().certificates)
        finally:
            if saved is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = saved


def _row(ours: float, theirs: int | None) -> dict[str, Any]:
    return {
        "ops_per_s": round(ours),
        "llm_sign_ops_per_s": theirs,
        "vs_llm_sign": round(ours / theirs, 2) if theirs else None,
    }
