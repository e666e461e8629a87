"""Debian's Chromium driven by Playwright, kept off the network (tests and ``bench web``).

``playwright install`` is never run: Playwright drives the system browser
(``/usr/bin/chromium``, from ``scripts/install-system.sh``). The flags stop
Chromium's own background traffic (updates, sync, safe browsing) and make every
host name but localhost unresolvable, so a page can only reach loopback servers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from llmseal.errors import ConfigError

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "chromium"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",  # tests run as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium; ConfigError (never a skip) if it or Playwright is missing."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        raise ConfigError("playwright is not installed (pip install playwright)") from exc
    with sync_playwright() as driver:
        try:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
            )
        except Error as exc:
            raise ConfigError(f"cannot start {CHROMIUM} (apt-get install chromium): {exc}") from exc
        try:
            yield browser
        finally:
            browser.close()
