"""``llmseal log monitor`` against logs served over real HTTP, with a real witness.

Must-shows of issue 11: a forking log (two trees for two callers) is refused by
the witness and caught by the monitor with the evidence written out; a log that
rolls back is refused; a log whose entries do not hash to its tiles is caught;
the monitor follows the log Trillian Tessera wrote.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.bench._beds.static_files import StaticFiles
from llmseal.log.note.checkpoint import open_checkpoint
from llmseal.log.tree.tiles import encode_bundle
from llmseal.log.witness.witnessstore import origin_hash
from tests.helpers import ThreadedUvicorn
from tests.logtree import TreeLog
from tests.servedlog import ServedLog
from tests.witnessproc import running_witness

VECTORS = Path(__file__).parents[2] / "vectors" / "tlog"
TESSERA_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"


class Site:
    """A directory served over HTTP by a static server, as a log operator would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.server = ThreadedUvicorn(StaticFiles(root))

    def write(self, files: dict[str, bytes]) -> None:
        for path, data in files.items():
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Callable[[str], Site]]:
    sites: list[Site] = []

    def make(name: str) -> Site:
        s = Site(tmp_path / "sites" / name)
        s.server.__enter__()
        sites.append(s)
        return s

    yield make
    for s in sites:
        s.server.__exit__()


def _monitor(cli: Callable[..., Any], site: Site, log: TreeLog, state: Path, *extra: str) -> Any:
    return cli("log", "monitor", "--url", site.url, "--vkey", log.signer.vkey(),
               "--state", state, "--once", "--json", *extra)  # fmt: skip


def _evidence(result: Any) -> tuple[dict[str, Any], Path]:
    report = result.json()
    (alarm,) = report["alarms"]
    (folder,) = report["evidence"]
    return alarm, Path(folder)


def test_a_forking_log_is_refused_by_the_witness_and_caught_by_the_monitor(
    tmp_path: Path, cli: Callable[..., Any], site: Callable[[str], Site]
) -> None:
    log = TreeLog.new(size=300)
    honest, forked = ServedLog(log), ServedLog(log.fork(100, 300))
    honest.publish()
    forked.publish()
    first, second = site("caller-1"), site("caller-2")  # what each caller is shown
    first.write(honest.files)
    second.write(forked.files)
    state = tmp_path / "monitor"
    with (
        running_witness(tmp_path / "w", [log.signer.vkey()]) as w,
        httpx.Client(base_url=w.url) as c,
    ):
        assert c.post("/add-checkpoint", content=log.request(0, 300)).status_code == 200
        ok = _monitor(cli, first, log, state, "--witness", w.url)
        assert ok.status == 0, ok.stdout + ok.stderr
        assert ok.json()["witnesses"][w.url] == "consistent (witness at size 300)"
        # The log asks the witness to cosign the other tree: refused, kept as evidence.
        grown = forked.log
        assert c.post("/add-checkpoint", content=grown.request(300, 400)).status_code == 422
        (kept,) = c.get(f"/{origin_hash(log.origin)}/evidence").json()["evidence"]
        # The monitor that saw tree 1 is now shown tree 2.
        caught = _monitor(cli, second, log, state)
        assert caught.status == 1
        alarm, folder = _evidence(caught)
        assert alarm["kind"] == "inconsistent"
        # A fresh monitor shown only tree 2 catches it through the witness.
        split = _monitor(cli, second, log, tmp_path / "fresh", "--witness", w.url)
        assert split.status == 1
        split_alarm, split_folder = _evidence(split)
        assert split_alarm["kind"] == "split-view" and split_alarm["witness_size"] == 300
    verifier = log.signer.verifier()
    for a, b in ((folder / "a.checkpoint", folder / "b.checkpoint"),
                 (split_folder / "a.checkpoint", split_folder / "b.checkpoint")):  # fmt: skip
        one = open_checkpoint(a.read_bytes(), origin=log.origin, verifiers=[verifier])
        two = open_checkpoint(b.read_bytes(), origin=log.origin, verifiers=[verifier])
        assert {one.root, two.root} == {log.root(300), grown.root(400)}
    assert json.loads((folder / "alarm.json").read_text())["kind"] == "inconsistent"
    assert kept["kind"] == "inconsistent"
    assert open_checkpoint(kept["refused"], origin=log.origin, verifiers=[verifier]).size == 400
    # The state did not move: the next run alarms again.
    assert _monitor(cli, second, log, state).status == 1


def test_a_rollback_is_refused_by_the_witness_and_caught_by_the_monitor(
    tmp_path: Path, cli: Callable[..., Any], site: Callable[[str], Site]
) -> None:
    log = TreeLog.new(size=500)
    served = ServedLog(log)
    served.publish(200)
    served.publish(500)
    web = site("log")
    web.write(served.files)
    state = tmp_path / "monitor"
    assert _monitor(cli, web, log, state).status == 0
    web.write({"checkpoint": log.checkpoint(200).encode()})
    result = _monitor(cli, web, log, state)
    assert result.status == 1 and _evidence(result)[0]["kind"] == "rollback"
    with (
        running_witness(tmp_path / "w", [log.signer.vkey()]) as w,
        httpx.Client(base_url=w.url) as c,
    ):
        assert c.post("/add-checkpoint", content=log.request(0, 500)).status_code == 200
        older = log.checkpoint(200).encode()
        assert c.post("/add-checkpoint", content=b"old 500\n\n" + older).status_code == 400
        assert c.post("/add-checkpoint", content=b"old 0\n\n" + older).text == "500\n"


def test_entries_that_do_not_hash_to_the_tiles_are_caught(
    tmp_path: Path, cli: Callable[..., Any], site: Callable[[str], Site]
) -> None:
    log = TreeLog.new(size=600)
    served = ServedLog(log)
    served.publish()
    entries = list(log.entries[256:512])
    entries[3] = b"an entry the tree never had"
    served.files["tile/entries/001"] = encode_bundle(entries)
    web = site("log")
    web.write(served.files)
    result = _monitor(cli, web, log, tmp_path / "m")
    assert result.status == 1
    alarm, folder = _evidence(result)
    assert alarm["kind"] == "entries" and alarm["tile"] == "tile/0/001"
    assert (folder / "served.tile").read_bytes() != (folder / "computed.tile").read_bytes()
    human = cli("log", "monitor", "--url", web.url, "--vkey", log.signer.vkey(),
                "--state", tmp_path / "m", "--once")  # fmt: skip
    assert human.status == 1 and "ALARM entries" in human.stdout and "evidence:" in human.stdout


def test_the_monitor_follows_the_tessera_log_over_http(
    tmp_path: Path, cli: Callable[..., Any], site: Callable[[str], Site]
) -> None:
    web = site("tessera")
    shutil.copytree(VECTORS / "tessera-log", web.root, dirs_exist_ok=True)
    latest = (web.root / "checkpoint").read_bytes()
    (web.root / "checkpoint").write_bytes((web.root / "checkpoint.8").read_bytes())
    state = tmp_path / "m"
    args = ("log", "monitor", "--url", web.url, "--vkey", TESSERA_VKEY, "--state", state,
            "--once", "--json")  # fmt: skip
    first = cli(*args)
    assert first.status == 0, first.stdout + first.stderr
    assert (first.json()["size"], first.json()["entries_checked"]) == (8, 8)
    (web.root / "checkpoint").write_bytes(latest)
    second = cli(*args)
    assert second.status == 0, second.stdout + second.stderr
    report = second.json()
    assert (report["old_size"], report["size"], report["entries_checked"]) == (8, 15, 7)
    assert not report["alarms"] and report["evidence"] == []
    state_file = json.loads((state / "state.json").read_text())
    assert state_file["size"] == 15 and state_file["entries_checked"] == 15


def test_bad_invocations_are_one_line_errors(tmp_path: Path, cli: Callable[..., Any]) -> None:
    log = TreeLog.new()
    base = ("log", "monitor", "--url", "http://127.0.0.1:9", "--vkey", log.signer.vkey(),
            "--state", tmp_path / "m")  # fmt: skip
    assert cli(*base).status == 2  # neither --once nor --follow
    down = cli(*base, "--once")
    assert down.status == 2 and "cannot fetch" in down.stderr and "Traceback" not in down.stderr
    other = TreeLog.new("example.com/other")
    mixed = cli(*base, "--vkey", other.signer.vkey(), "--once")
    assert mixed.status == 2 and "different logs" in mixed.stderr
