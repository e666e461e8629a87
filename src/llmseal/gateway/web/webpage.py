"""The verify page and the dashboard as single, self-contained HTML documents.

The JavaScript verifier is a set of ES modules (``js/src``, linked here as
``static/js``). A page that imports modules by URL cannot be opened as a saved
file — browsers refuse module scripts from ``file://`` — so each page is built
into one document: every module becomes a function scope in one inline
``<script type="module">``, the CSS is inlined too, and a Content-Security-Policy
allows exactly those two inline blocks by their SHA-256 (no other script or
style can run, whatever a receipt contains). The page served at ``/verify``, the
file ``llmseal web --save`` writes and a browser's "Save page as" are the same
bytes, and they work the same way.

The built script drops whole-line ``//`` comments (the sources in ``js/src`` keep
them): every reader of the page downloads it, and the comments are a sixth of it.
A line can only be inside a string if a template literal (or a line
continuation) spans lines; a module with one is kept as it is.

The module bundler is deliberately small: it supports the import/export forms
the verifier uses (``import { a, b as c } from './x.js';``, ``export function``,
``export async function``, ``export const``, ``export class``,
``export { a, b } from './x.js';``) and refuses anything else.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from llmseal.errors import ConfigError

__all__ = ["STATIC", "Page", "bundle", "dashboard_page", "verify_page"]

STATIC = Path(__file__).with_name("static")

_IMPORT = re.compile(r"^import\s*\{([^}]*)\}\s*from\s*'(\.\.?/[^']+)';[ \t]*$", re.M)
_REEXPORT = re.compile(r"^export\s*\{([^}]*)\}\s*from\s*'(\.\.?/[^']+)';[ \t]*$", re.M)
_DECLARATION = re.compile(
    r"^export\s+((?:async\s+)?function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)", re.M
)
_LEFTOVER = re.compile(r"^\s*(?:import|export)\b", re.M)
_NAME = re.compile(r"^[A-Za-z_$][\w$]*$")
_COMMENT_LINE = re.compile(r"^[ \t]*//[^\n]*\n", re.M)


@dataclass(frozen=True, slots=True)
class Page:
    """A built page: the HTML bytes and the CSP its inline blocks need."""

    html: bytes
    csp: str

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Response headers: the CSP again (plus framing), no sniffing, no referrer."""
        return [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-security-policy", f"{self.csp}; frame-ancestors 'none'".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cache-control", b"no-cache"),
        ]


def _names(spec: str) -> list[tuple[str, str]]:
    """``a, b as c`` -> ``[("a", "a"), ("b", "c")]`` (exported name, local name)."""
    out = []
    for part in spec.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) == 1 and _NAME.match(words[0]):
            out.append((words[0], words[0]))
        elif len(words) == 3 and words[1] == "as" and _NAME.match(words[0] + words[2]):
            out.append((words[0], words[2]))
        else:
            raise ConfigError(f"unsupported import/export list: {spec!r}")
    return out


class _Bundler:
    def __init__(self) -> None:
        self.ids: dict[Path, str] = {}
        self.chunks: list[str] = []

    def add(self, path: Path) -> str:
        path = path.resolve()
        if path in self.ids:
            return self.ids[path]
        source = path.read_text(encoding="utf-8")
        lines = []
        for names, target in _IMPORT.findall(source):
            module = self.add(path.parent / target)
            pairs = ", ".join(f"{a}: {b}" for a, b in _names(names))
            lines.append(f"const {{ {pairs} }} = {module};")
        exports = [f"{name}: {name}" for _, name in _DECLARATION.findall(source)]
        for names, target in _REEXPORT.findall(source):
            module = self.add(path.parent / target)
            exports += [f"{b}: {module}.{a}" for a, b in _names(names)]
        body = _DECLARATION.sub(r"\1 \2", _REEXPORT.sub("", _IMPORT.sub("", source)))
        if all(line.count("`") % 2 == 0 and not line.endswith("\\") for line in body.splitlines()):
            body = _COMMENT_LINE.sub("", body)
        if _LEFTOVER.search(body):
            raise ConfigError(f"{path.name}: an import/export form the page bundler does not know")
        ident = f"__m{len(self.ids)}"
        self.ids[path] = ident
        self.chunks.append(
            f"const {ident} = (() => {{ // {path.name}\n"
            + "\n".join(lines)
            + f"\n{body}\nreturn Object.freeze({{ {', '.join(exports)} }});\n}})();\n"
        )
        return ident


def bundle(entry: Path, *, expose: str | None = None) -> str:
    """One script (module code) holding ``entry`` and everything it imports.

    ``expose`` also assigns the entry module's exports to that global (for tests).
    """
    bundler = _Bundler()
    ident = bundler.add(entry)
    tail = f"globalThis.{expose} = {ident};\n" if expose else ""
    return '"use strict";\n' + "".join(bundler.chunks) + tail


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _build(template: str, styles: tuple[str, ...], entry: str, connect: str) -> Page:
    style = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in styles)
    script = bundle(STATIC / entry)
    for text in (style, script):
        # Either sequence would end the inline block early (HTML "script data" state).
        if re.search(r"</(?:script|style)|<!--", text, re.I):
            raise ConfigError(f"{entry}: inline code holds '</script', '</style' or '<!--'")
    csp = (
        f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; "
        f"img-src data:; connect-src {connect}; base-uri 'none'; form-action 'none'"
    )
    html = (STATIC / template).read_text(encoding="utf-8")
    for marker, value in (("<!--CSP-->", csp), ("<!--STYLE-->", style), ("<!--SCRIPT-->", script)):
        if html.count(marker) != 1:
            raise ConfigError(f"{template}: expected one {marker}")
        html = html.replace(marker, value)
    return Page(html.encode("utf-8"), csp)


@functools.cache
def verify_page() -> Page:
    """The public verify page. It fetches only the key-set and proof URLs a user gives."""
    return _build("verify.html", ("common.css", "verify.css"), "verify-page.js", "*")


@functools.cache
def dashboard_page() -> Page:
    """The issuer dashboard: reads ``/metrics`` and ``/dashboard/state`` of its own origin."""
    return _build("dashboard.html", ("common.css", "dashboard.css"), "dashboard-page.js", "'self'")
