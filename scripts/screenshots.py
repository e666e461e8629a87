"""Regenerate docs/img/verify-page.png and docs/img/dashboard.png on real parts.

The real SmolLM2 model behind ``llmseal serve`` (dashboard on, loopback), a few
sealed answers, then Debian's Chromium (Playwright) verifies one on the gateway's
``/verify`` page and shows ``/dashboard``. Run: ``.venv/bin/python scripts/screenshots.py``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from llmseal.bench._beds.browser import chromium
from llmseal.devserver import ModelServer

DOCS = Path(__file__).resolve().parents[1] / "docs" / "img"
QUESTIONS = ["Why is the sky blue? One sentence.", "Name three primes.", "Say hello in French."]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ModelServer() as model:
        port = _port()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "llmseal", "serve", "--upstream", model.url, "--port", str(port),
             "--data-dir", f"{tmp}/gw", "--issuer", "api.example.com"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            _wait(f"{url}/healthz", gateway)
            answers = []
            for i, question in enumerate(QUESTIONS * 3):
                message = {"role": "user", "content": question}
                body = {"model": "smollm2", "max_tokens": 48, "temperature": 0,
                        "stream": i % 2 == 1, "messages": [message]}  # fmt: skip
                answers.append(
                    httpx.post(f"{url}/v1/chat/completions", json=body, timeout=120).text
                )
            _shoot(url, answers[0])
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)


def _shoot(url: str, answer: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(f"{url}/verify")
        page.eval_on_selector("#input", "(el, text) => { el.value = text; }", answer)
        page.fill("#keys-url", f"{url}/v1/receipts/keys")
        page.click("#verify")
        page.wait_for_selector("#result[data-status=valid]")
        page.screenshot(path=str(DOCS / "verify-page.png"), full_page=True)
        page.goto(f"{url}/dashboard")
        page.wait_for_selector("body[data-state=loaded]")
        page.wait_for_selector("body[data-samples]:not([data-samples='1'])")
        page.screenshot(path=str(DOCS / "dashboard.png"), full_page=True)
    print(f"wrote {DOCS / 'verify-page.png'} and {DOCS / 'dashboard.png'}")


if __name__ == "__main__":
    main()
