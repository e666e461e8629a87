"""The audit report page in real Chromium: nothing is fetched, every chart point leads to
its signed exchange, and a hostile report cannot run script."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page

from llmseal.audit.enrollment.reference import Reference
from llmseal.audit.reports.reportview import render_html
from tests.unit.audit.conftest import Exchange, issuer_key, issuer_keys, signed_exchange
from tests.unit.audit.test_report_check import _edited, _report, reference

__all__ = ["issuer_key", "issuer_keys", "reference", "signed_exchange"]


@pytest.mark.slow
def test_the_report_page_is_offline_and_linked(
    page: Page, reference: Reference, signed_exchange: Exchange, t0: datetime, tmp_path: Path
) -> None:
    report = _report(reference, signed_exchange, t0, salt="gemma")
    hostile = _edited(report, lambda d: d.update(
        endpoint='http://x/"><img src=http://127.0.0.1:9/leak onerror=alert(1)>'))  # fmt: skip
    path = tmp_path / "report.html"
    path.write_text(render_html(hostile))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto(path.as_uri())
    assert requested == [path.as_uri()]  # no image, font, style sheet or script fetched
    assert dialogs == [] and page.locator("img").count() == 0
    assert "DIFF" in page.inner_text("h1")
    assert page.locator("svg").count() == 2 * len(report.verdicts)
    # a chart point is a link to its exchange, which holds the signed answer
    point = page.locator("svg a").first
    target = point.get_attribute("href")
    assert target is not None and target.startswith("#")
    details = page.locator(f"details[id='{target[1:]}']")
    assert details.count() == 1
    details.locator("summary").click()
    assert '"receipt"' in details.inner_text()
    assert requested == [path.as_uri()]
