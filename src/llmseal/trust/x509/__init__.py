"""X.509 model certificates: the CA (``ca``), the certificate profile (``profile``),
strict PEM reading (``pem``), path validation (``chain``), CRLs (``crl``) and X.509 as
a key source for receipts (``source``).

Import from the submodules: each needs only its own dependencies (dnspython for
``dns.source``, python-pkcs11 for ``pkcs11``), so the package itself imports nothing.
"""

__all__: list[str] = []
