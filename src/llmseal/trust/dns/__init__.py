"""Keys in DNS: the ``v=llmsig1`` TXT record (``record``), DNSSEC validation
(``dnssec``) and the key source that reads records over DNS (``source``).

Import from the submodules: each needs only its own dependencies (dnspython for
``dns.source``, python-pkcs11 for ``pkcs11``), so the package itself imports nothing.
"""

__all__: list[str] = []
