"""Reading the runnable parts of a Markdown page (the convention: tests/docs/test_docs.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).parents[2]

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_EXIT = re.compile(r"#\s*exit (\d+)\b")


@dataclass(frozen=True)
class Command:
    """One ``$`` command of a console block and the output shown under it."""

    text: str
    line: int
    expected: tuple[str, ...] = ()

    @property
    def exit_status(self) -> int:
        """0, unless the command line says ``# exit N``."""
        found = _EXIT.search(self.text)
        return int(found[1]) if found else 0

    @property
    def background(self) -> bool:
        """A trailing ``&``: keeps running (a server) until the page ends."""
        return _strip_comment(self.text).rstrip().endswith("&")


@dataclass(frozen=True)
class Block:
    language: str
    attributes: dict[str, str]
    body: str
    line: int  # of the opening fence, 1-based
    commands: tuple[Command, ...] = field(default=())

    @property
    def runs(self) -> bool:
        return self.language in ("console", "python") or "file" in self.attributes


def pages() -> list[Path]:
    """README.md and every page under docs/, found afresh each run."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a page, in order."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence, info = opening[1], opening[2], opening[3].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            line = lines[j]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            j += 1
        language, *words = info.split() or [""]
        attributes: dict[str, str] = {}
        for word in words:  # key=value, or a bare key with the value ""
            key, _, value = word.partition("=")
            attributes[key] = value
        text_body = "\n".join(body) + "\n"
        commands = _commands(body, i + 2) if language == "console" else ()
        found.append(Block(language, attributes, text_body, i + 1, commands))
        i = j + 1
    return found


def _commands(body: list[str], first_line: int) -> tuple[Command, ...]:
    """``$ `` lines (``\\`` continues one) and the output under each; ``#`` lines: comments."""
    commands: list[Command] = []
    current: list[str] | None = None
    start = 0
    expected: list[str] = []

    def close() -> None:
        if current is not None:
            commands.append(Command("\n".join(current), start, tuple(expected)))

    k = 0
    while k < len(body):
        line = body[k]
        if line.startswith("$ "):
            close()
            current, start, expected = [line[2:]], first_line + k, []
            while current[-1].endswith("\\") and k + 1 < len(body):
                k += 1
                current.append(body[k])
        elif line.startswith("#") or not line.strip():
            pass
        elif current is not None:
            expected.append(line)
        k += 1
    close()
    return tuple(commands)


def _strip_comment(command: str) -> str:
    # A `#` that starts a word begins a shell comment (good enough for docs).
    return re.sub(r"(^|\s)#.*$", "", command, flags=re.MULTILINE)


def output_matches(expected: tuple[str, ...], actual: str) -> str | None:
    """None if every expected line matches an actual line, in order; else the first miss.

    ``…`` stands for any text within a line; a line of only ``…`` for any lines;
    runs of spaces count as one.
    """
    lines = [" ".join(line.split()) for line in actual.splitlines()]
    position = 0
    for pattern_line in expected:
        pattern = " ".join(pattern_line.split())
        if pattern in ("…", ""):
            continue
        regex = re.compile(".*".join(re.escape(part) for part in pattern.split("…")))
        while position < len(lines) and not regex.fullmatch(lines[position]):
            position += 1
        if position == len(lines):
            return pattern_line
        position += 1
    return None
