"""Helpers shared by the CLI commands: reading input files, printing safely."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console

from llmseal.core import _time
from llmseal.core.canonical import loads
from llmseal.errors import ContentError, InputError
from llmseal.trust import keydir

__all__ = [
    "err_console",
    "json_text",
    "now",
    "out_console",
    "parse_time",
    "print_json",
    "print_table",
    "read_input",
    "read_json",
    "terminal_safe",
    "write_atomic",
]

MAX_INPUT_BYTES = 64 << 20

out_console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def now() -> datetime:
    """The one place the CLI reads the clock."""
    return datetime.now(UTC)


def read_input(path: str, what: str) -> bytes:
    """Read a file (``-`` is stdin) with a size limit; InputError on failure."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{what} {path} is larger than {MAX_INPUT_BYTES >> 20} MiB")
    return data


def read_json(path: str, what: str) -> Any:
    """Read and parse a JSON file; InputError names the file on failure."""
    data = read_input(path, what)
    try:
        return loads(data)
    except ContentError as exc:
        raise InputError(f"{what} {path} is {exc}") from exc


def parse_time(value: str | None, option: str) -> datetime:
    """An RFC 3339 option value, or now."""
    if value is None:
        return now()
    try:
        return _time.parse_lenient(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def write_atomic(path: str, data: bytes) -> None:
    """Write ``path`` whole or not at all (temp file beside it, fsync, rename)."""
    try:
        keydir.write_atomic(Path(path), data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def json_text(value: Any) -> bytes:
    """The indented JSON the CLI prints (``print_json``), as bytes with a final newline."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


def print_table(table: Any) -> None:
    """Print a rich table; into a pipe or file at its natural width, one line per row
    (a pipe has no terminal width to fold it to)."""
    if out_console.is_terminal:
        out_console.print(table)
    else:
        Console(file=sys.stdout, width=10_000, highlight=False, color_system=None).print(table)


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal could act on written as an escape.

    Strings from the wire (an issuer claim, a certificate subject, an error about
    either) reach the terminal as data: ESC and the other C0/C1 controls, DEL,
    bidirectional overrides and other format characters become ``\\xNN`` /
    ``\\uNNNN`` text. Rich does not strip them.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _json_escape(ch: str) -> str:
    """A JSON string escape (RFC 8259 §7) for a character outside the BMP too."""
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def print_json(value: Any) -> None:
    """Pretty JSON on stdout (plain write: no markup interpretation).

    orjson escapes C0 controls; C1 controls and format characters would still
    reach the terminal raw, so they are escaped too (the JSON means the same).
    """
    text = json_text(value).decode("utf-8")
    if not text.replace("\n", "").isprintable():
        text = "".join(ch if ch.isprintable() or ch == "\n" else _json_escape(ch) for ch in text)
    sys.stdout.write(text)
    sys.stdout.flush()
