"""The real components benchmarks and tests run against, never mocks of them.

:mod:`.browser` (Debian's Chromium, off the network), :mod:`.named` (BIND serving
DNSSEC-signed zones), :mod:`.softhsm` (a SoftHSM2 token store), :mod:`.mock_upstream`
(an instant OpenAI-style upstream) and :mod:`.static_files` (a bare static file server);
the last two run as ``python -m llmseal.bench._beds.<name>``.
"""

__all__: list[str] = []
