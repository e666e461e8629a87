"""A throwaway PostgreSQL cluster on loopback, for trying llmseal, its benchmark and tests.

From a shell (the cluster lives until Ctrl-C, then is deleted)::

    python -m llmseal.devpostgres --port 5432 [--database receipts]

From Python::

    with PgCluster() as cluster:
        url = cluster.create_database()   # postgresql://llmseal@127.0.0.1:PORT/t_…

Debian's ``postgresql`` package ships ``initdb``/``pg_ctl`` in
``/usr/lib/postgresql/<major>/bin``. PostgreSQL refuses to run as root, so as root
(CI, these machines) the cluster is made and run as the ``postgres`` user
(``runuser -u postgres``) in a directory handed to it; as anyone else it runs as
that user. It listens on 127.0.0.1 and a private port, with its socket in its own
directory, and trusts loopback connections (nothing else can reach it).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from llmseal.errors import ConfigError

__all__ = ["PgCluster", "main", "postgres_bin"]


def postgres_bin() -> Path:
    """The newest installed ``/usr/lib/postgresql/<major>/bin`` (``LLMSEAL_PG_BIN`` overrides)."""
    override = os.environ.get("LLMSEAL_PG_BIN")
    found = [override] if override else glob.glob("/usr/lib/postgresql/*/bin")
    found = [p for p in found if p and (Path(p) / "initdb").is_file()]
    if not found:
        raise ConfigError("PostgreSQL is not installed (scripts/install-system.sh installs it)")
    return Path(
        max(found, key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """``initdb`` + ``pg_ctl start`` in a fresh directory; :meth:`stop` removes it."""

    USER = "llmseal"

    def __init__(
        self,
        *,
        port: int | None = None,
        fsync: bool = True,
        stat_statements: bool = False,
        start: bool = True,
    ) -> None:
        self.bin = postgres_bin()
        self.port = port or _free_port()
        self._as: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="llmseal-pg-"))
        if os.geteuid() == 0:  # PostgreSQL never runs as root
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.data = self.root / "data"
        self._run(
            "initdb", "-D", str(self.data), "-U", self.USER, "--auth=trust", "-E", "UTF8",
            "--no-sync", "--locale=C",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port}"
            f" -c unix_socket_directories={self.root} -c max_connections=200"
            f" -c fsync={'on' if fsync else 'off'} -c shared_buffers=64MB"
        )
        if stat_statements:  # the benchmark counts statements (round trips) per receipt
            options += " -c shared_preload_libraries=pg_stat_statements"
        self._options = options
        if start:
            self.start()

    def _run(self, tool: str, *args: str, timeout: float = 120.0) -> None:
        command = [*self._as, str(self.bin / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise ConfigError(f"{tool} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    def _ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", *args)

    def start(self) -> None:
        self._ctl("-o", self._options, "-l", str(self.root / "server.log"), "start")

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m MODE``: every connection is cut, then it accepts again."""
        self._ctl("-m", mode, "-o", self._options, "-l", str(self.root / "server.log"), "restart")

    def stop_server(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (immediately) and delete the cluster."""
        with contextlib.suppress(ConfigError, subprocess.TimeoutExpired):
            self._ctl("-m", "immediate", "stop")
        for _ in range(50):
            if not (self.data / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Run a cluster in the foreground (its server is this process's child) until a signal."""
    parser = argparse.ArgumentParser(prog="python -m llmseal.devpostgres")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--database", default="llmseal", help="an empty database to create")
    args = parser.parse_args(argv)
    cluster = PgCluster(port=args.port, start=False)
    postgres = [*cluster._as, str(cluster.bin / "postgres"), "-D", str(cluster.data)]
    server = subprocess.Popen([*postgres, *_flags(cluster._options)])
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # not the child's
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = cluster.create_database(args.database)
                break
            except Exception:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("postgres did not start") from None
                time.sleep(0.1)
        print(f"PostgreSQL (throwaway) at {url}", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)
        shutil.rmtree(cluster.root, ignore_errors=True)


def _flags(options: str) -> list[str]:
    out: list[str] = []
    for part in options.split(" -c "):
        part = part.removeprefix("-c ").strip()
        if part:
            out += ["-c", part]
    return out


if __name__ == "__main__":
    main()
