"""``llmseal web``: the in-browser verifier as static files, without a gateway.

Serves the verify page (one self-contained HTML file) at ``/`` and ``/verify``,
and the verifier's ES modules under ``/js/`` for pages that want to import them.
``--save FILE`` writes the page instead: it works opened straight from disk.
"""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import click

from llmseal.cli._common import out_console
from llmseal.errors import InputError
from llmseal.gateway.web.webpage import STATIC, verify_page

__all__ = ["web"]

_MODULES = STATIC / "js"


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "llmseal-web"
    sys_version = ""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path in ("/", "/index.html", "/verify", "/verify/"):
            page = verify_page()
            self._send(200, page.html, page.headers())
            return
        name = path.removeprefix("/js/")
        if path.startswith("/js/") and name.endswith(".js") and "/" not in name:
            module = _MODULES / name
            if module.is_file():
                self._send(200, module.read_bytes(), [
                    (b"content-type", b"text/javascript; charset=utf-8"),
                    (b"access-control-allow-origin", b"*"), (b"cache-control", b"no-cache"),
                    (b"x-content-type-options", b"nosniff"),
                ])  # fmt: skip
                return
        self._send(404, b"not found\n", [(b"content-type", b"text/plain; charset=utf-8")])

    def _send(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key.decode(), value.decode())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # quiet: a static page needs no access log


def serve_static(host: str, port: int) -> http.server.ThreadingHTTPServer:
    """A bound server for the page (not yet serving); ``port=0`` picks a free port."""
    return http.server.ThreadingHTTPServer((host, port), _Handler)


def save(path: Path) -> None:
    """Write the page to ``path`` atomically (temp file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(verify_page().html)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--save",
    "save_path",
    type=click.Path(dir_okay=False),
    metavar="FILE.html",
    help="Write the self-contained page to FILE.html instead of serving it.",
)
def web(host: str, port: int, save_path: str | None) -> None:
    """Serve the in-browser verifier (or --save it as one HTML file)."""
    if save_path is not None:
        save(Path(save_path))
        out_console.print(f"wrote the verify page to {save_path} ({len(verify_page().html)} bytes)")
        return
    try:
        server = serve_static(host, port)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    bound = server.server_address[1]
    out_console.print(f"llmseal verify page on http://{host}:{bound}/ (Ctrl+C stops)")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    finally:
        server.shutdown()
        server.server_close()
