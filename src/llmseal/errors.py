"""The one exception tree of llmseal.

Every failure a public function can report is an :class:`Error`. Lower-level
exceptions (``ValueError`` from base64, ``orjson.JSONDecodeError``, driver errors)
are caught where they happen and re-raised as one of these, chained with ``from``.

* Error
  * InputError                 unusable input: the CLI exits 2, HTTP answers 4xx
    * ContentError             content that is not the JSON it should be
      * CanonicalizationError  JSON that RFC 8785 cannot canonicalize
    * MalformedReceiptError    not a v0.3 receipt (missing or ill-typed member)
    * KeySetError              not a key set
    * CertificateError         a certificate, chain, CRL or trust-anchor file that cannot be read
    * WeightsError             a weights file or weights manifest that cannot be read
      * WeightsMismatchError   weights (file, chunk, upstream) that are not the committed ones
    * BundleError              an evidence bundle that cannot be read (not JSON, unknown
                               version, a member of the wrong shape)
    * UnmappedModelError       a model the gateway has no signing key for (refused: HTTP 400
                               before forwarding, 502 when the upstream served it)
  * KeyManagementError         keys on disk or in a token: missing, revoked, exists
    * TokenError               a PKCS#11 module, token, PIN or mechanism problem
  * KeyLookupError             a key source has no key it can trust for a key_id
                               (DNS: no record, DNSSEC bogus/expired/unsigned);
                               verification reports ``unknown_key`` with its reason
  * ConfigError                a setting that cannot work
  * MissingExtraError          a feature whose optional extra is not installed (also an
                               ImportError; the message names the `pip install` to run)
  * NetworkError               fetching a key set or talking to an upstream
  * StoreError                 the receipt or evidence store failed
  * VerificationError          fail-closed verification refused a response
    * ReceiptRequiredError     a receipt was required and absent
    * BindingError             the receipt does not bind what was sent or received
    * ReplayError              a nonce or receipt seen before
    * PolicyError              a relying-party rule failed
    * ChainValidationError     an X.509 chain failed path validation (code in ``failure``)
  * LogError                   the transparency log cannot do what was asked
    * LogFormatError           bytes that are not the C2SP object they should be (signed note,
                               checkpoint, tile, entry bundle, tlog-proof)
    * ProofError               an inclusion or consistency proof does not verify
      * NoteSignatureError     a signed note carries no valid signature by a trusted key
    * LogAdmissionError        the log refuses an entry (``status`` 400, 403 or 413)
    * LogUnavailableError      the log cannot take or serve entries now (HTTP 503)
      * LogCorruptError        the log's files contradict each other: it stops
  * AuditError                 a model-identity audit cannot be run as asked
    * AuditIntegrityError      a reference, fingerprint pack or audit report fails its
                               content hash, signature, trust policy or recomputation

Messages are one readable line: they are shown to users as they are.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "AuditIntegrityError",
    "BindingError",
    "BundleError",
    "CanonicalizationError",
    "CertificateError",
    "ChainValidationError",
    "ConfigError",
    "ContentError",
    "Error",
    "InputError",
    "KeyLookupError",
    "KeyManagementError",
    "KeySetError",
    "LogAdmissionError",
    "LogCorruptError",
    "LogError",
    "LogFormatError",
    "LogUnavailableError",
    "MalformedReceiptError",
    "MissingExtraError",
    "NetworkError",
    "NoteSignatureError",
    "PolicyError",
    "ProofError",
    "ReceiptRequiredError",
    "ReplayError",
    "StoreError",
    "TokenError",
    "UnmappedModelError",
    "VerificationError",
    "WeightsError",
    "WeightsMismatchError",
]


class Error(Exception):
    """Base of every llmseal exception."""

    def diagnostics(self) -> str:
        """The one-line, human-readable explanation shown by the CLI."""
        return str(self) or type(self).__name__


class InputError(Error):
    """The input cannot be used at all (as opposed to: it was checked and failed)."""


class ContentError(InputError):
    """Content (a request or response body) is not valid JSON of the expected shape."""


class CanonicalizationError(ContentError):
    """A JSON value that RFC 8785 does not allow (NaN, unsafe integer, lone surrogate...)."""


class MalformedReceiptError(InputError):
    """The object is not an Attested-Work v0.3 receipt."""


class KeySetError(InputError):
    """A key set that cannot be parsed."""


class CertificateError(InputError):
    """A certificate, certificate chain, CRL or trust-anchor file that cannot be parsed."""


class WeightsError(InputError):
    """A weights file (GGUF) or a weights manifest that cannot be read or used."""


class WeightsMismatchError(WeightsError):
    """Weights that are not the committed ones: a file, a served chunk, an upstream's model."""


class BundleError(InputError):
    """An evidence bundle that cannot be read: not JSON, an unknown version, a bad member."""


class UnmappedModelError(InputError):
    """A model with no signing key at a gateway that refuses unmapped models.

    ``model`` is the name (as asked for or as served; None when there was none).
    """

    def __init__(self, message: str, model: object = None) -> None:
        super().__init__(message)
        self.model = model


class KeyManagementError(Error):
    """A key cannot be created, found, loaded or used."""


class TokenError(KeyManagementError):
    """A PKCS#11 module cannot be loaded, or its token, PIN, key or mechanism cannot be used."""


class KeyLookupError(Error):
    """A key source could not produce a key it can trust for a ``key_id``.

    ``code`` is a stable token for programs (``not_in_zone``, ``dnssec_bogus``,
    ``dnssec_expired``, ``dnssec_unsigned``...); the message says the rest.
    Verification turns it into the status ``unknown_key``: a key that cannot be
    authenticated is as good as unknown (fail closed).
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code

    def diagnostics(self) -> str:
        return f"{self.code}: {self}"


class ConfigError(Error):
    """A configuration value that cannot work."""


class MissingExtraError(Error, ImportError):
    """A feature needs an optional extra that is not installed (``pip install 'llmseal[x]'``).

    An :class:`ImportError` too, so code that guards an optional import with
    ``except ImportError`` treats it as the missing import it is.
    """

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class NetworkError(Error):
    """A network operation failed (timeout, refused, bad status)."""


class StoreError(Error):
    """The receipt or evidence store failed."""


class VerificationError(Error):
    """A response was refused by fail-closed verification.

    ``status`` is never None: the cryptographic status when there is one
    (``tampered``, ``unknown_key``, ``revoked``), else the subclass's own
    (``missing``, ``replayed``, ``policy``) or ``malformed`` (docs/client.md,
    "What is checked"). ``reasons`` is never empty: the detailed reasons, or the
    message itself.
    """

    default_status = "malformed"

    def __init__(
        self, message: str, *, status: str | None = None, reasons: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.status: str = status if status is not None else self.default_status
        self.reasons: tuple[str, ...] = reasons or (message,)


class ReceiptRequiredError(VerificationError):
    """A receipt was required but the response carried none (status ``missing``)."""

    default_status = "missing"


class BindingError(VerificationError):
    """The receipt does not bind the request that was sent or the response received."""

    default_status = "tampered"


class ReplayError(VerificationError):
    """The receipt (its nonce) has been seen before (status ``replayed``)."""

    default_status = "replayed"


class PolicyError(VerificationError):
    """The receipt is cryptographically fine but a relying-party rule failed (``policy``)."""

    default_status = "policy"


class ChainValidationError(VerificationError):
    """An X.509 certificate chain failed path validation.

    ``failure`` is a short machine-readable code (``expired``, ``wrong_name``,
    ``untrusted_root``, ``not_ca``, ``key_mismatch``, ``revoked``...): see
    :class:`llmseal.trust.x509.chain.ChainFailure`.
    """

    def __init__(self, message: str, *, failure: str) -> None:
        super().__init__(message, status="unknown_key", reasons=(message,))
        self.failure = failure


class LogError(Error):
    """The transparency log (or a reader of one) cannot do what was asked."""


class ProofError(LogError):
    """A Merkle inclusion or consistency proof, or a checkpoint, does not verify."""


class LogFormatError(LogError):
    """Bytes that are not a well-formed signed note, checkpoint, tile, bundle or tlog-proof."""


class NoteSignatureError(ProofError):
    """No trusted key verified a signed note, or a trusted key's signature failed.

    C2SP signed-note: signatures by unknown keys are ignored, a failing signature
    by a known key rejects the whole note.
    """


class AuditError(Error):
    """A model-identity audit cannot be run as asked (no usable probes, unknown family...)."""


class AuditIntegrityError(AuditError):
    """A reference, fingerprint pack or audit report does not check out.

    Its content hash does not match its id, its signature does not verify, its
    publisher is not trusted, it has expired, or a verdict recomputed from its
    stored exchanges differs from the one it states. ``code`` is a stable token
    (``hash_mismatch``, ``bad_signature``, ``untrusted_publisher``, ``expired``,
    ``verdict_mismatch``, ``receipt_invalid``...).
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code

    def diagnostics(self) -> str:
        return f"{self.code}: {self}"


class LogAdmissionError(LogError):
    """The log refuses an entry: ``status`` is the HTTP status (400, 403, 413), ``code`` a token.

    400 ``malformed`` (not JSON, not a receipt), 403 ``unverified`` (no configured key
    set verifies it), 413 ``too_large`` (over 65,535 bytes as an entry).
    """

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class LogUnavailableError(LogError):
    """The log cannot sequence or serve right now (storage failed, full disk, stopped)."""


class LogCorruptError(LogUnavailableError):
    """A tile, bundle, checkpoint or index on disk contradicts the rest: the log stops
    instead of serving or signing over it."""
