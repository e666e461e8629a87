"""Issue 10, must-show: a log on a full disk (a small tmpfs, mounted by the test).

The standalone log answers 503 with the reason, keeps serving what it published,
leaves nothing corrupt (``llmseal log check``), and once there is room again every
acknowledged entry is in the tree. A gateway with the log on that disk answers 503
only when the log is required (``--log-inline``); by default it delivers, and the
outbox logs the receipt once the disk has room.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.log.entry import receipt_entry
from llmseal.log.service.service import init_log
from tests.helpers import ServeProcess, ThreadedUvicorn, eventually
from tests.integration.gateway.fake_upstream import FakeUpstream
from tests.integration.log.load import open_log
from tests.witnessproc import start_log

pytestmark = pytest.mark.slow

FULL = re.compile(r"disk is full|No space left on device")
REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """``mount(size)`` → a fresh tmpfs of that size (needs root, as CI has)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                       check=True, capture_output=True)  # fmt: skip
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def _fill(disk: Path) -> Path:
    """Take every free byte of ``disk``."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def _remount(disk: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)


def test_a_full_disk_stops_the_log_cleanly_and_loses_nothing(
    tmp_path: Path, small_disk: Callable[[str], Path]
) -> None:
    issuer = Ed25519Signer.generate("issuer.test/k")
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(KeySet([KeyEntry(issuer.key_id, issuer.public_key())]).to_dict()))
    disk = small_disk("1m")
    log_dir = disk / "log"
    init_log(log_dir, "full.test/log")
    log = start_log(log_dir, [str(keys)], "--batch-age", "2")
    at = datetime(2026, 6, 1, tzinfo=UTC)
    acknowledged: list[tuple[int, bytes]] = []
    refused = None
    try:
        for n in range(0, 100_000, 32):  # a bound, not a count: the disk fills long before
            batch = [sign_exchange(issuer, model_id="m", request={"n": n + i}, response={},
                                   at=at).to_dict() for i in range(32)]  # fmt: skip
            answer = httpx.post(f"{log.url}/add", json=batch, timeout=60)
            if answer.status_code != 200:
                refused = answer
                break
            results = zip(answer.json(), batch, strict=True)
            acknowledged += [(r["index"], receipt_entry(w)) for r, w in results]
        assert refused is not None and refused.status_code == 503, "the disk never filled"
        assert FULL.search(refused.json()["error"]["message"]), refused.text  # the reason
        assert acknowledged
        # What was published is still served and still verifies.
        served = open_log(log_dir, lambda p: httpx.get(f"{log.url}/{p}").raise_for_status().content)
        published = served.checkpoint()
        assert served.verify_entries(published) == published.size
    finally:
        log.stop()
    assert any(FULL.search(line) for line in log.lines)
    check = subprocess.run([sys.executable, "-m", "llmseal", "log", "check", "--dir",
                            str(log_dir)], capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr  # nothing on disk is corrupt
    _remount(disk, "16m")
    log = start_log(log_dir, [str(keys)])
    log.stop()  # recovery integrated whatever was sequenced before the disk filled
    tree = open_log(log_dir)
    latest = tree.checkpoint()
    assert tree.verify_entries(latest) == latest.size
    entries = list(tree.entries(latest.size))
    for index, entry in acknowledged:
        assert entries[index] == entry


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "outbox"])
def test_the_gateway_answers_503_only_when_the_log_is_required(
    tmp_path: Path, small_disk: Callable[[str], Path], inline: bool
) -> None:
    disk = small_disk("1m")
    log_dir = disk / "log"
    with ThreadedUvicorn(FakeUpstream().app) as upstream:
        args = ["--upstream", upstream.url, "--data-dir", str(tmp_path / "data"), "--log",
                str(log_dir), "--log-batch-age", "2", "--log-timeout", "5"]  # fmt: skip
        gateway = ServeProcess([*args, *(["--log-inline"] if inline else [])])
        try:
            filler = _fill(disk)
            answer = httpx.post(f"{gateway.url}/v1/chat/completions", json=REQUEST, timeout=60)
            if inline:
                assert answer.status_code == 503, answer.text
                error = answer.json()["error"]
                assert "receipt" not in answer.json() and error["code"] == "log_unavailable"
                assert FULL.search(error["message"]), error
                return
            assert answer.status_code == 200 and "receipt" in answer.json()
            rid = answer.json()["receipt"]["receipt_id"]
            filler.unlink()  # room again: the sequencer retries, the outbox resubmits
            assert eventually(
                lambda: httpx.get(f"{gateway.url}/log/proof/{rid}").status_code == 200,
                timeout=60,
            ), gateway.stderr()[-2000:]
        finally:
            gateway.stop()
