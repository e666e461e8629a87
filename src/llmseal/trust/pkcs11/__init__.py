"""Signing keys held in a PKCS#11 token: the signer (``token``) and token-held keys
referenced from a key directory (``ref``); ``_p11`` is the shared plumbing.

Import from the submodules: each needs only its own dependencies (dnspython for
``dns.source``, python-pkcs11 for ``pkcs11``), so the package itself imports nothing.
"""

__all__: list[str] = []
