"""The verify page in real Chromium: every status, streams, files, no network, hostile input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route

from llmseal.cli._web import save
from tests.integration.web.conftest import VECTORS, run_verify, set_value

pytestmark = pytest.mark.slow


def test_the_official_vectors_get_their_status(
    page: Page, web_url: str, attest: dict[str, Any]
) -> None:
    page.goto(f"{web_url}/verify")
    seen = []
    for case in attest["cases"]:
        status = run_verify(page, json.dumps(case["receipt"]), keys=attest["keyset"])
        assert status == case["expected"]
        seen.append(status)
        assert page.inner_text("#verdict").startswith(
            {"valid": "VALID", "tampered": "TAMPERED", "unknown_key": "UNKNOWN KEY",
             "revoked": "REVOKED"}[status]
        )  # fmt: skip
    assert sorted(seen) == ["revoked", "tampered", "unknown_key", "valid"]
    # A receipt with no content: valid, and the page says only the receipt was checked.
    run_verify(page, json.dumps(attest["cases"][0]["receipt"]), keys=attest["keyset"])
    assert "says nothing about the answer" in page.inner_text("#result")


@pytest.mark.parametrize(
    "name",
    [
        "sealed response, Ed25519, non-ASCII and HTML in content",
        "sealed response, one character changed",
        "sealed response, ECDSA P-256",
        "OpenAI stream (SSE), Ed25519",
        "OpenAI stream, a chunk dropped",
        "Anthropic stream (SSE), ECDSA P-256",
        "receipt issued at its key's revocation",
        "ECDSA P-256, the high-s twin of the signature",
        "not a receipt: nonce of 15 bytes",
    ],
)
def test_python_signed_answers(
    page: Page, web_url: str, python_signed: dict[str, Any], name: str
) -> None:
    case = next(c for c in python_signed["cases"] if c["name"] == name)
    text = case["input"] if isinstance(case["input"], str) else json.dumps(case["input"])
    page.goto(f"{web_url}/")
    assert run_verify(page, text, keys=python_signed["keyset"]) == case["expected"]
    if case["expected"] == "valid":
        assert _cells(page, "matches") == 1  # the output


def test_a_receipt_with_its_content_in_the_optional_boxes(
    page: Page, web_url: str, python_signed: dict[str, Any]
) -> None:
    case = next(
        c for c in python_signed["cases"] if c["name"].startswith("bare receipt, extension")
    )
    page.goto(web_url)
    options = case["options"]
    status = run_verify(page, json.dumps(case["input"]), keys=python_signed["keyset"],
                        prompt=options["prompt"], output=options["output"])  # fmt: skip
    assert status == "valid"
    assert _cells(page, "matches") == 2
    changed = options["output"].replace("echo:", "ECHO:")
    assert changed != options["output"]
    status = run_verify(page, json.dumps(case["input"]), keys=python_signed["keyset"],
                        prompt=options["prompt"], output=changed)  # fmt: skip
    assert status == "tampered"
    assert "does not match" in page.inner_text("#result")


def test_the_key_set_from_an_address(
    page: Page, web_url: str, python_signed: dict[str, Any], tmp_path: Path
) -> None:
    # llmseal web serves only the page, so the key set comes from a second local server.
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route as StarRoute

    from tests.helpers import ThreadedUvicorn

    def keys(_: object) -> JSONResponse:
        return JSONResponse(python_signed["keyset"], headers={"access-control-allow-origin": "*"})

    app = Starlette(routes=[StarRoute("/keys", keys)])
    case = python_signed["cases"][0]
    with ThreadedUvicorn(app) as server:
        page.goto(web_url)
        assert run_verify(page, case["input"], keys_url=f"{server.url}/keys") == "valid"
        assert run_verify(page, case["input"], keys_url=f"{server.url}/missing") == "error"
        assert "cannot fetch the key set" in page.inner_text("#result")
    assert run_verify(page, case["input"], keys_url="ftp://example.invalid/keys") == "error"


def test_a_saved_copy_opened_as_a_file(page: Page, tmp_path: Path, attest: dict[str, Any]) -> None:
    path = tmp_path / "verify.html"
    save(path)
    page.goto(path.as_uri())
    assert (
        run_verify(page, json.dumps(attest["cases"][0]["receipt"]), keys=attest["keyset"])
        == "valid"
    )
    assert (
        run_verify(page, json.dumps(attest["cases"][3]["receipt"]), keys=attest["keyset"])
        == "revoked"
    )


def test_with_every_other_request_blocked(
    page: Page, web_url: str, python_signed: dict[str, Any]
) -> None:
    own = f"{web_url}/verify"
    attempted: list[str] = []

    def gate(route: Route) -> None:
        if route.request.url == own:
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort("blockedbyclient")

    page.context.route("**/*", gate)
    page.goto(own)
    for case in python_signed["cases"][:2] + python_signed["cases"][6:7]:
        assert (
            run_verify(page, case["input"], keys=python_signed["keyset"], **_fields(case))
            == case["expected"]
        )
    assert attempted == []  # it did not even try: pasted input needs no request
    # A key-set address is the one request it makes, and a blocked one is a clear error.
    assert (
        run_verify(page, python_signed["cases"][0]["input"], keys_url="http://127.0.0.1:9/keys")
        == "error"
    )
    assert attempted == ["http://127.0.0.1:9/keys"]
    assert "cannot fetch the key set" in page.inner_text("#result")


def _cells(page: Page, text: str) -> int:
    """How many cells of the verdict read exactly ``text``."""
    count: int = page.evaluate(
        "t => [...document.querySelectorAll('#result td')].filter(c => c.textContent === t).length",
        text,
    )
    return count


def _fields(case: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in case["options"].items() if k in ("prompt", "output")}


def test_markup_in_a_receipt_is_shown_as_text_never_run(
    page: Page, web_url: str, python_signed: dict[str, Any]
) -> None:
    case = next(
        c for c in python_signed["cases"] if c["name"].startswith("bare receipt, extension")
    )
    page.goto(web_url)
    title = page.title()
    run_verify(page, json.dumps(case["input"]), keys=python_signed["keyset"])
    result = page.locator("#result")
    assert '<img src=x onerror="document.title=' in result.inner_text()
    assert result.locator("img, script, b").count() == 0
    assert page.title() == title
    # The same for a response whose content is HTML, and for a hostile key id.
    hostile = {**case["input"], "key_id": "<img src=x onerror=alert(1)>"}
    assert run_verify(page, json.dumps(hostile), keys=python_signed["keyset"]) == "unknown_key"
    assert result.locator("img").count() == 0
    assert "<img src=x onerror=alert(1)>" in result.inner_text()


def paste(page: Page, selector: str, expression: str) -> None:
    """A real clipboard paste (Ctrl+V) of text built in the page by ``expression``."""
    page.evaluate(f"() => navigator.clipboard.writeText({expression})")
    page.focus(selector)
    page.keyboard.press("Control+V")


def test_hostile_input_leaves_the_page_responsive(
    browser: Browser, web_url: str, attest: dict[str, Any]
) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(web_url)
    receipt = json.dumps(attest["cases"][0]["receipt"])
    # 50 MB pasted: refused on the spot, never put in the box (its layout alone would
    # freeze the tab for half a minute), and the page answers at once.
    paste(page, "#input", "'A'.repeat(50 << 20)")
    page.wait_for_selector("#result[data-status=error]", timeout=10_000)
    assert "this page verifies up to 16 MiB" in page.inner_text("#result")
    assert page.input_value("#input") == ""
    assert page.evaluate("1 + 1") == 2
    # 2 MB of nesting: kept in memory with a note in the box, refused fast when verified.
    paste(page, "#input", "'['.repeat(1 << 20) + ']'.repeat(1 << 20)")
    assert page.input_value("#input").startswith("[pasted text: 2,097,152 characters")
    set_value(page, "#keys", json.dumps(attest["keyset"]))
    page.click("#verify")
    page.wait_for_selector("#result[data-status=error]")
    assert "nested deeper than 1000" in page.inner_text("#result")
    # 8 MB: a receipt buried in a big response is verified from memory.
    big = "JSON.stringify({receipt: " + receipt + ", junk: 'x'.repeat(8 << 20)})"
    paste(page, "#input", big)
    page.click("#verify")
    page.wait_for_selector("#result[data-status=tampered]", timeout=20_000)
    # Typing over the note makes the box the input again; the page is still usable.
    set_value(page, "#input", receipt)
    page.click("#verify")
    page.wait_for_selector("#result[data-status=valid]")
    context.close()


def test_unusable_input_gets_one_clear_line(
    page: Page, web_url: str, attest: dict[str, Any]
) -> None:
    page.goto(web_url)
    assert run_verify(page, "not json", keys=attest["keyset"]) == "error"
    assert "not valid JSON" in page.inner_text("#result")
    assert run_verify(page, json.dumps(attest["cases"][0]["receipt"])) == "error"
    assert "key set" in page.inner_text("#result")
    set_value(page, "#input", "")
    page.click("#verify")
    page.wait_for_selector("#result[data-status=error]")


def test_keyboard_and_screen_reader(page: Page, web_url: str, attest: dict[str, Any]) -> None:
    page.goto(web_url)
    for field in (
        "#input",
        "#keys",
        "#keys-url",
        "#prompt",
        "#output",
        "#log-vkeys",
        "#witness-policy",
        "#proof-url",
    ):
        label = page.evaluate(f"document.querySelector('{field}').labels[0]?.textContent ?? ''")
        assert label.strip(), field  # every field has a visible label
    result = page.locator("#result")
    assert (
        result.get_attribute("role") == "status" and result.get_attribute("aria-live") == "polite"
    )
    # Keyboard only: type into the first box, Tab to the key set, Ctrl+Enter verifies.
    page.focus("#input")
    page.keyboard.insert_text(json.dumps(attest["cases"][0]["receipt"]))
    page.focus("#keys")
    page.keyboard.insert_text(json.dumps(attest["keyset"]))
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#result[data-status=valid]")
    # The button is reachable with Tab from the last field before it.
    page.focus("#proof-url")
    page.evaluate("document.querySelector('#log').open = true")
    page.focus("#proof-url")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "verify"


def test_a_logged_receipts_proof(page: Page, web_url: str) -> None:
    logged = json.loads((VECTORS / "llmseal" / "logged.json").read_text(encoding="utf-8"))
    response = {**logged["response"], "receipt": logged["receipts"]["ok"],
                "receipt_evidence": {"log": logged["proofs"]["ok"]}}  # fmt: skip
    page.goto(web_url)
    status = run_verify(page, json.dumps(response), keys=logged["keyset"],
                        log_vkeys=logged["log_vkey"])  # fmt: skip
    assert status == "valid"
    text = page.inner_text("#result")
    assert "proven" in text and "log.example.com/receipts" in text and "16" in text
    # With the witness policy: the checkpoint's cosigners and the proven time.
    status = run_verify(page, json.dumps(response), keys=logged["keyset"],
                        witness_policy=logged["policy"])  # fmt: skip
    assert status == "valid"
    assert "2026-07-01T00:00:00Z" in page.inner_text("#result")
    assert "cosigned by witness2.example.org" in page.inner_text("#result")
    # The stolen-key receipt, dated before its key's revocation but first proven after it.
    backdated = {**logged["response"], "receipt": logged["receipts"]["backdated"],
                 "receipt_evidence": {"log": logged["proofs"]["backdated"]}}  # fmt: skip
    assert run_verify(page, json.dumps(backdated), keys=logged["keyset"]) == "valid"
    status = run_verify(page, json.dumps(backdated), keys=logged["keyset"],
                        witness_policy=logged["policy"])  # fmt: skip
    assert status == "revoked"
    # Another receipt's proof: the receipt is still valid, the log part says not proven.
    swapped = {**response, "receipt_evidence": {"log": logged["proofs"]["early"]}}
    assert run_verify(page, json.dumps(swapped), keys=logged["keyset"],
                      log_vkeys=logged["log_vkey"]) == "valid"  # fmt: skip
    assert "not proven" in page.inner_text("#result")


def test_an_evidence_bundle(page: Page, web_url: str) -> None:
    data = json.loads((VECTORS / "llmseal" / "bundles.json").read_text(encoding="utf-8"))
    cases = {c["name"]: c for c in data["cases"]}
    page.goto(web_url)

    def check(name: str, **fields: str) -> str:
        fields = fields or {"log_vkeys": data["log_vkey"]}
        return run_verify(page, cases[name]["bundle"], keys=data["keys"], **fields)

    assert check("three hops: upstream, re-serializing relay, redactor, each logged") == "valid"
    text = page.inner_text("#result")
    assert "bundle of 3 receipts" in text and "(subject)" in text
    assert "upstream (identity, redact): holds" in text and "logged" in text
    assert check("three hops, the redactor also changed another member") == "tampered"
    assert "other members differ too" in page.inner_text("#result")
    assert check("a bundle that brings its own key") == "unknown_key"
    assert check("one message of three disclosed") == "valid"
    assert "disclosed message(s) 1 of 3" in page.inner_text("#result")
    late = "witnessed: dated before the revocation, first proven after it"
    assert check(late, witness_policy=data["witness_policy"]) == "revoked"
    assert check("an unknown member") == "error"
    assert "unknown member(s)" in page.inner_text("#result")
