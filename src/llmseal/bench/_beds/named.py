"""A real BIND ``named`` on loopback serving zones signed by ``dnssec-signzone``.

Used by the DNS benchmark and the DNS tests (never mocked). Everything lives in
a temporary directory; the server listens on a free 127.0.0.1 port, has no
control channel (``controls { };``) and is stopped by PID.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import dns.rcode

__all__ = ["NamedServer", "Zone", "bind_available", "make_zone", "running_named"]

_TOOLS = ("named", "dnssec-keygen", "dnssec-signzone")


def bind_available() -> bool:
    """Whether the BIND tools this module runs are installed."""
    return all(shutil.which(tool) for tool in _TOOLS)


@dataclass(frozen=True)
class Zone:
    """A zone file ready to serve, and its trust-anchor files when it is signed."""

    name: str
    path: Path
    dsset: Path | None = None
    ksk: Path | None = None

    def tamper(self, old: str, new: str) -> None:
        """Change served data without re-signing (what an attacker on the path would do)."""
        text = self.path.read_text()
        if old not in text:
            raise ValueError(f"{old!r} not in {self.path}")
        self.path.write_text(text.replace(old, new))


def _run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


def make_zone(
    workdir: Path,
    zone: str,
    records: Sequence[str],
    *,
    signed: bool = True,
    inception: str | None = None,
    expiration: str | None = None,
) -> Zone:
    """Write ``zone`` with ``records`` (zone-file lines) and sign it with fresh Ed25519 keys.

    ``inception``/``expiration`` are ``dnssec-signzone -s/-e`` times (``YYYYMMDDHHMMSS``
    or ``now+N``), e.g. both in the past for a zone whose signatures have expired.
    """
    name = zone.rstrip(".") + "."
    folder = workdir / name.rstrip(".")
    folder.mkdir(parents=True)
    source = folder / "db"
    head = [
        "$TTL 300",
        f"{name} IN SOA ns1.{name} hostmaster.{name} 1 3600 600 86400 300",
        f"{name} IN NS ns1.{name}",
        f"ns1.{name} IN A 127.0.0.1",
    ]
    source.write_text("\n".join([*head, *records]) + "\n")
    if not signed:
        return Zone(name, source)
    # Keys published and active since 2000, so `-S` signs with them for any window.
    keygen = ("dnssec-keygen", "-q", "-K", folder, "-a", "ED25519", "-n", "ZONE")
    since = ("-P", "20000101000000", "-A", "20000101000000")
    ksk = _run(*keygen, *since, "-f", "KSK", name, cwd=folder)
    _run(*keygen, *since, name, cwd=folder)
    window = [
        *(["-s", inception] if inception else []),
        *(["-e", expiration] if expiration else []),
        # -P: no post-signing self-check, which (rightly) fails for a window in the past.
        *(["-P"] if inception or expiration else []),
    ]
    out = folder / "db.signed"
    _run(
        "dnssec-signzone", "-S", "-K", folder, "-d", folder, "-o", name, "-N", "INCREMENT",
        *window, "-f", out, source, cwd=folder,
    )  # fmt: skip
    return Zone(name, out, folder / f"dsset-{name}", folder / f"{ksk}.key")


def _free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free loopback port for named")


class _PortTaken(Exception):
    """``named`` could not listen on its port: another process took it first."""


class NamedServer:
    """One ``named -g`` process serving some zones; use :func:`running_named`."""

    def __init__(self, workdir: Path, zones: Sequence[Zone]) -> None:
        self.workdir = workdir
        self.zones = list(zones)
        self.port = _free_port()
        self.log = workdir / "named.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0, attempts: int = 5) -> None:
        """Start ``named``; a port another process took meanwhile means a new port and retry.

        The port is picked before ``named`` binds it, so on a shared machine someone else
        can take it first: ``named`` then exits ("unable to listen"), and the SOA answers
        that made it look ready may have come from that other server.
        """
        for _ in range(attempts):
            self._spawn()
            try:
                self._wait_ready(timeout)
            except _PortTaken:
                self.stop()
                self.port = _free_port()
                continue
            return
        raise RuntimeError(f"named found no free port in {attempts} attempts: {self._tail()}")

    def _spawn(self) -> None:
        conf = self.workdir / "named.conf"
        zones = "\n".join(
            f'zone "{z.name}" {{ type primary; file "{z.path}"; }};' for z in self.zones
        )
        conf.write_text(
            f"""options {{
  directory "{self.workdir}";
  pid-file "{self.workdir}/named.pid";
  session-keyfile "{self.workdir}/session.key";
  listen-on port {self.port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
  notify no;
}};
controls {{ }};
{zones}
"""
        )
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                ["named", "-g", "-n", "1", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
            )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = [z.name for z in self.zones]
        while pending or not self._running():
            if self._process is not None and self._process.poll() is not None:
                if "unable to listen" in self._tail():
                    raise _PortTaken
                raise RuntimeError(f"named exited ({self._process.returncode}): {self._tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"named did not serve {pending} in {timeout}s: {self._tail()}")
            if pending and self._serves(pending[0]):
                pending.pop(0)
                continue
            time.sleep(0.05)

    def _serves(self, zone: str) -> bool:
        with contextlib.suppress(Exception):
            query = dns.message.make_query(zone, "SOA")
            answer = dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.5)
            return answer.rcode() == dns.rcode.NOERROR and bool(answer.answer)
        return False

    def _running(self) -> bool:
        """Our ``named`` logged that it runs: the answers came from it, not from a server
        that took the port first (ours then exits, "unable to listen")."""
        with contextlib.suppress(OSError):
            lines = self.log.read_text(errors="replace").splitlines()
            return any(line.endswith(" running") for line in lines)
        return False

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            return " | ".join(self.log.read_text(errors="replace").splitlines()[-8:])
        return ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def running_named(workdir: Path, zones: Sequence[Zone]) -> Iterator[NamedServer]:
    """Start ``named`` for ``zones``; always stop it afterwards."""
    server = NamedServer(workdir, zones)
    try:
        server.start()
        yield server
    finally:
        server.stop()
