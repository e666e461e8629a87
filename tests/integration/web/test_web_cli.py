"""``llmseal web``: the page and its modules as static files, ``--save``, the bench group."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from llmseal.gateway.web.webpage import STATIC, verify_page
from tests.helpers import wait_http


def test_the_page_and_the_modules(web_url: str) -> None:
    for path in ("/", "/verify", "/index.html?receipt=x"):
        answer = httpx.get(f"{web_url}{path}")
        assert answer.status_code == 200 and answer.content == verify_page().html
        assert "default-src 'none'" in answer.headers["content-security-policy"]
    module = httpx.get(f"{web_url}/js/verify.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    assert module.headers["access-control-allow-origin"] == "*"
    assert module.content == (STATIC / "js" / "verify.js").read_bytes()
    for missing in ("/js/../verify.html", "/js/nope.js", "/etc/passwd", "/js/a/b.js"):
        assert httpx.get(f"{web_url}{missing}").status_code == 404


def test_save_writes_the_page_atomically(tmp_path: Path, cli: object) -> None:
    target = tmp_path / "verify.html"
    result = cli("web", "--save", target)  # type: ignore[operator]
    assert result.status == 0 and target.read_bytes() == verify_page().html
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind
    bad = cli("web", "--save", tmp_path / "missing" / "x.html")  # type: ignore[operator]
    assert bad.status == 2 and "cannot write" in bad.stderr


@pytest.mark.slow
def test_the_command_serves_until_stopped() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "llmseal", "web", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()  # it says where it listens, then serves
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found is not None, line
        url = found.group(0)
        wait_http(url, process=process)
        assert httpx.get(f"{url}verify").content == verify_page().html
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_bench_web_measures_in_chromium() -> None:
    from llmseal.bench import web

    out = web.run(quick=True)["web"]
    row = out["verify_sealed_response"]
    assert 1500 < row["response_bytes"] < 2500  # the ~2 KB sealed response
    assert row["median_ms"] > 0 and row["raw_ed25519_median_ms"] > 0 and row["vs_raw"] > 0
    assert out["page_bytes"] == len(verify_page().html) < 100_000
    assert out["page_gzip_bytes"] < out["page_bytes"]
