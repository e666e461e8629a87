"""X.509 as a key source: a receipt, the chain beside it, and the name the verifier pins.

The chain is evidence that exists only after signing, so it travels *beside*
the receipt (design.md): in a gateway response as
``receipt_evidence = {"x5c": [leaf PEM, intermediate PEM, ...]}``, for files as
a PEM file. The receipt ties itself to the leaf through its signed ``key_id``,
which must be the leaf's ``spki-sha256:`` key id; a relay that swaps in another
trusted chain therefore fails (``key_mismatch``, or ``wrong_name`` if its
certificate names another host).

Two ways to use it:

* :class:`X509KeySource` is a :class:`~llmseal.core.keyset.KeyResolver` for one
  receipt (``resolve(key_id)``), for any code that calls
  :func:`llmseal.core.verify.verify_receipt`; a chain failure resolves to
  ``None`` (status ``unknown_key``) and is kept in :attr:`X509KeySource.failure`;
* :func:`verify_receipt_x509` does the same and returns the chain failure as a
  readable reason plus a code, in :class:`X509Verification`.

Example::

    validator = ChainValidator(TrustAnchors(load_anchor_file("root.pem"), source="root.pem"))
    result = verify_receipt_x509(receipt, x5c, validator,
                                 name="smollm2.models.lab.example", output=response)
    result.status  # Status.VALID
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llmseal.core.keyset import KeyEntry
from llmseal.core.receipt import Receipt
from llmseal.core.verify import Content, Status, Verification, verify_receipt
from llmseal.errors import ChainValidationError, InputError
from llmseal.trust.x509.chain import ChainFailure, ChainValidator, ValidatedChain
from llmseal.trust.x509.profile import check_dns_name, model_dns_name

__all__ = ["X509KeySource", "X509Verification", "expected_name", "verify_receipt_x509"]


def _model_mismatch(model_id: str, name: str) -> str | None:
    """Why ``model_id`` is not exactly the model a ``<model>.models.<domain>`` name certifies.

    Names are case-insensitive and :func:`model_dns_name` folds case, spaces and a
    final dot; model ids are compared exactly (policy patterns are case-sensitive).
    So ``" m"`` and ``"M"`` are not the model of ``m.models.lab.example``: the
    model a receipt claims must be spelt as the certificate names it.
    """
    try:
        certified, sep, _ = check_dns_name(name).partition(".models.")
    except InputError:
        return None  # not a host name: path validation reports it (malformed)
    if not sep or model_id == certified:
        return None  # a pinned name that names no model (an API host), or the same model
    return (
        f"certificate chain rejected (wrong_name): the receipt's model_id {model_id!r} is not "
        f"the model {certified!r} that {name} certifies (compared exactly)"
    )


def expected_name(receipt: Receipt, *, name: str | None, domain: str | None) -> str:
    """The DNS name the leaf must carry: pinned ``name``, or ``<model_id>.models.<domain>``.

    Both inputs come from the verifier; only the (signed) ``model_id`` comes from
    the receipt, so the SAN check proves the key may speak for that model.
    """
    if name:
        return name
    if domain:
        return model_dns_name(receipt.model_id, domain)
    raise ValueError("expected_name needs name or domain")  # programming error, not input


class X509KeySource:
    """A key resolver for one receipt whose chain travels beside it."""

    def __init__(self, validator: ChainValidator, chain: Any, *, name: str, at: datetime) -> None:
        self._validator = validator
        self._chain = chain
        self._name = name
        self._at = at
        self.failure: ChainValidationError | None = None

    @classmethod
    def for_receipt(
        cls, validator: ChainValidator, chain: Any, receipt: Receipt, *, name: str
    ) -> X509KeySource:
        """Validate at the receipt's ``issued_at``: the time it claims it was signed."""
        return cls(validator, chain, name=name, at=receipt.issued_at_datetime)

    def resolve(self, key_id: str) -> KeyEntry | None:
        try:
            entry = self._validator.key_entry(
                self._chain, name=self._name, at=self._at, key_id=key_id
            )
        except ChainValidationError as exc:
            self.failure = exc
            return None
        self.failure = None
        return entry

    def validated(self) -> ValidatedChain:
        """The validated chain (raises ChainValidationError if it does not validate)."""
        return self._validator.validate(self._chain, name=self._name, at=self._at)


@dataclass(frozen=True, slots=True)
class X509Verification:
    """A receipt verification plus what the chain said. Truthy iff valid."""

    verification: Verification
    name: str
    failure: ChainFailure | None = None
    chain: ValidatedChain | None = None

    @property
    def status(self) -> Status:
        return self.verification.status

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.verification.reasons

    def __bool__(self) -> bool:
        return bool(self.verification)

    def to_dict(self) -> dict[str, Any]:
        out = self.verification.to_dict()
        x509: dict[str, Any] = {"name": self.name, "chain": (self.failure or "ok")}
        if self.chain is not None:
            x509.update(self.chain.describe())
        out["x509"] = x509
        return out


def verify_receipt_x509(
    receipt: Receipt | Mapping[str, Any],
    chain: Any,
    validator: ChainValidator,
    *,
    name: str | None = None,
    domain: str | None = None,
    prompt: Content | None = None,
    output: Content | None = None,
    raw: bool = False,
    proven_at: datetime | None = None,
) -> X509Verification:
    """Verify a receipt whose key is vouched for by ``chain`` (x5c list or PEM text).

    Status precedence stays v0.3's: a chain that does not validate, or whose leaf
    is not the receipt's key, is ``unknown_key`` (the key is not trusted); a leaf
    revoked by CRL as of ``issued_at`` is ``revoked``; then ``tampered``.
    With ``proven_at`` (a witnessed log proof's proven time) the chain is
    validated, and revocation judged, at that time instead: a leaf that expired
    since does not matter for a receipt proven while it was valid, and a receipt
    backdated into a leaf's validity but first proven after it fails.

    Raises:
        MalformedReceiptError: ``receipt`` is not a receipt.
        ContentError: supplied content is not JSON (unless ``raw``).
    """
    if not isinstance(receipt, Receipt):
        receipt = Receipt.from_dict(receipt)
    pinned = expected_name(receipt, name=name, domain=domain)
    mismatch = _model_mismatch(receipt.model_id, pinned)
    if mismatch is not None:
        result = Verification(Status.UNKNOWN_KEY, receipt, (mismatch,))
        return X509Verification(result, pinned, ChainFailure.WRONG_NAME)
    at = receipt.issued_at_datetime if proven_at is None else proven_at
    source = X509KeySource(validator, chain, name=pinned, at=at)
    result = verify_receipt(
        receipt, source, prompt=prompt, output=output, raw=raw, proven_at=proven_at
    )
    failure = source.failure
    if failure is not None:
        reason = f"certificate chain rejected ({failure.failure}): {failure}"
        result = Verification(Status.UNKNOWN_KEY, receipt, (reason,))
        return X509Verification(result, pinned, ChainFailure(failure.failure))
    validated = source.validated()
    code = ChainFailure.REVOKED if result.status is Status.REVOKED else None
    return X509Verification(result, pinned, code, validated)
