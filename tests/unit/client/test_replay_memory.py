"""Issue 9, defect 5: without a data_dir the client still refuses a replayed answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from llmseal.client.build import build_verifier
from llmseal.client.replay import ReplayWindow
from llmseal.client.transport import VerifyingTransport
from llmseal.client.verifier import ResponseVerifier
from llmseal.errors import ReplayError
from tests.unit.client.conftest import ENDPOINT, NOW, Issuer


def test_the_same_answer_twice_is_refused(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier]
) -> None:
    verifier = make_verifier()
    request, body = issuer.seal()
    assert verifier.check_body(ENDPOINT, request, body, 200)
    with pytest.raises(ReplayError, match="already accepted"):
        verifier.check_body(ENDPOINT, request, body, 200)
    other_request, other_body = issuer.seal()  # a fresh answer (new nonce) is fine
    assert verifier.check_body(ENDPOINT, other_request, other_body, 200)


def test_through_the_default_client_without_data_dir(issuer: Issuer) -> None:
    request, body = issuer.seal(at=datetime.now(UTC))  # the transport's clock is the real one
    saved = httpx.MockTransport(
        lambda r: httpx.Response(200, content=body, headers={"content-type": "application/json"})
    )
    transport = VerifyingTransport(build_verifier(keys=issuer.keyset), saved)
    with httpx.Client(transport=transport) as client:
        client.post("http://gateway.test/v1/chat/completions", content=request)
        with pytest.raises(ReplayError):
            client.post("http://gateway.test/v1/chat/completions", content=request)


def test_a_nonce_is_kept_exactly_as_long_as_its_answer_could_be_fresh() -> None:
    window = ReplayWindow(timedelta(minutes=5))
    window.accept("k", "n1", issued_at=NOW, now=NOW)
    window.accept("k", "n2", issued_at=NOW + timedelta(minutes=2), now=NOW)
    at_edge = NOW + timedelta(minutes=5)
    with pytest.raises(ReplayError):  # still fresh at the edge: still remembered
        window.accept("k", "n1", issued_at=NOW, now=at_edge)
    window.accept("k", "n3", issued_at=at_edge, now=at_edge + timedelta(seconds=1))
    assert len(window) == 2  # n1 expired, n2 and n3 kept


def test_without_expiry_the_window_is_bounded_and_fails_closed() -> None:
    window = ReplayWindow(None, max_entries=3)
    for n in range(3):
        window.accept("k", f"n{n}", issued_at=NOW, now=NOW + timedelta(days=n))
    with pytest.raises(ReplayError, match="full"):
        window.accept("k", "n9", issued_at=NOW, now=NOW + timedelta(days=400))


@pytest.mark.parametrize("offset", [timedelta(minutes=-4), timedelta(minutes=4)])
def test_an_answer_accepted_near_the_edge_cannot_come_back_later(
    issuer: Issuer, offset: timedelta
) -> None:
    """Replaying just before its freshness runs out is refused; after that, it is stale."""
    clock = [NOW]
    verifier = ResponseVerifier(issuer.keyset, clock=lambda: clock[0])
    request, body = issuer.seal(at=NOW + offset)
    assert verifier.check_body(ENDPOINT, request, body, 200)
    for later in (timedelta(0), timedelta(seconds=59), timedelta(minutes=20)):
        clock[0] = NOW + later
        with pytest.raises(ReplayError):
            verifier.check_body(ENDPOINT, request, body, 200)
