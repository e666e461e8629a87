"""Gateway replicas for the PostgreSQL tests: separate `llmseal serve` processes, and
nginx in front of them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import psycopg

from llmseal.bench._support.procs import free_port
from tests.helpers import ServeProcess, wait_http

REQUEST = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def replicas(upstream: str, store: str, root: Path, n: int, *extra: str) -> list[ServeProcess]:
    """``n`` gateways on one store; every replica has the first one's keys (and log key)."""
    first = root / "r0"
    running = [ServeProcess(["--upstream", upstream, "--data-dir", str(first),
                             "--store", store, *extra])]  # fmt: skip
    for i in range(1, n):
        data = root / f"r{i}"
        shutil.copytree(first, data, ignore=shutil.ignore_patterns("metrics", "recent"))
        running.append(ServeProcess(["--upstream", upstream, "--data-dir", str(data),
                                     "--store", store, *extra]))  # fmt: skip
    return running


def integrator_pid(url: str) -> int | None:
    """The process holding the log's advisory lock (its connection's application_name)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
            " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
            " AND a.application_name LIKE 'llmseal-log-%'"
        ).fetchone()
    return int(row[0].rsplit("-", 1)[1]) if row else None


class Nginx:
    """Debian's nginx as the load balancer over replica ports, on a free loopback port."""

    def __init__(self, ports: list[int], root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n" for p in ports)
        temp = " ".join(f"{kind}_temp_path {root}/{kind};" for kind in
                        ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
        (root / "nginx.conf").write_text(
            f"worker_processes 1;\nerror_log {root}/error.log warn;\npid {root}/nginx.pid;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n  access_log off;\n  {temp}\n  upstream gateways {{\n{servers}"
            "    keepalive 64;\n  }\n"
            f"  server {{\n    listen 127.0.0.1:{self.port};\n    location / {{\n"
            "      proxy_pass http://gateways;\n      proxy_http_version 1.1;\n"
            '      proxy_set_header Connection "";\n      proxy_next_upstream error timeout;\n'
            "      proxy_read_timeout 30s;\n    }\n  }\n}\n"
        )
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        wait_http(f"{self.url}/healthz", process=self.proc)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
