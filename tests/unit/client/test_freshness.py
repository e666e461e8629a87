"""Issue 9, defect 2: a live answer must be fresh by the client's clock, from a key good now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from llmseal.client.verifier import ResponseVerifier
from llmseal.core.keyset import KeySet
from llmseal.errors import ReplayError, VerificationError
from tests.unit.client.conftest import ENDPOINT, NOW, Issuer


@pytest.mark.parametrize(
    "offset",
    [timedelta(hours=-1), timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=3650)],
    ids=["an-hour-old", "six-minutes-old", "six-minutes-ahead", "ten-years-ahead"],
)
def test_an_answer_outside_the_window_is_refused(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier], offset: timedelta
) -> None:
    request, body = issuer.seal(at=NOW + offset)
    with pytest.raises(ReplayError, match="issued at") as caught:
        make_verifier().check_body(ENDPOINT, request, body, 200)
    assert caught.value.status == "stale"


@pytest.mark.parametrize("offset", [timedelta(minutes=-5), timedelta(0), timedelta(minutes=5)])
def test_an_answer_inside_the_window_is_accepted(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier], offset: timedelta
) -> None:
    request, body = issuer.seal(at=NOW + offset)
    assert make_verifier().check_body(ENDPOINT, request, body, 200)


def test_the_window_is_configurable_and_can_be_turned_off(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier]
) -> None:
    request, body = issuer.seal(at=NOW - timedelta(minutes=20))
    assert make_verifier(freshness=timedelta(hours=1)).check_body(ENDPOINT, request, body, 200)
    assert make_verifier(freshness=None).check_body(ENDPOINT, request, body, 200)
    with pytest.raises(ReplayError):
        make_verifier(freshness=timedelta(seconds=30)).check_body(ENDPOINT, request, body, 200)


def test_a_leaked_revoked_key_cannot_backdate_a_live_answer(
    issuer: Issuer, make_verifier: Callable[..., ResponseVerifier]
) -> None:
    """Revoked an hour ago; the forger dates the answer two hours back, before the revocation.

    By v0.3 rules that receipt is ``valid`` (revocation is judged at ``issued_at``);
    live, it must not be.
    """
    entry = next(iter(issuer.keyset)).revoked(NOW - timedelta(hours=1))
    keys = KeySet([entry])
    request, body = issuer.seal(at=NOW - timedelta(hours=2))
    for verifier in (make_verifier(keys=keys), make_verifier(keys=keys, freshness=None)):
        with pytest.raises(VerificationError, match="revoked"):
            verifier.check_body(ENDPOINT, request, body, 200)
