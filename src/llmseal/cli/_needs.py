"""Commands that need an optional extra say so before they run, in one line.

Every other missing optional import is caught at the error boundary
(:func:`llmseal.cli.main`, through :func:`llmseal._extras.missing_extra`); the
commands listed here are checked *before* their callback, because they would
otherwise create directories or keys first and fail after (never a partial
write). ``--help`` still works without the extra: click answers it before the
callback runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import click

from llmseal._extras import require

__all__ = ["NEEDS", "guard_commands"]

NEEDS: Mapping[tuple[str, ...], str] = {
    ("serve",): "gateway",
    ("log", "serve"): "gateway",
    ("witness", "serve"): "gateway",
    ("audit", "enroll"): "audit",
    ("audit", "run"): "audit",
    ("audit", "replay"): "audit",
}
"""Command path -> the extra it cannot start without."""


def guard_commands(root: click.Group) -> None:
    """Wrap each listed command's callback with the check of its extra."""
    for path, extra in NEEDS.items():
        command = find_command(root, path)
        if command.callback is not None:
            command.callback = _guarded(command.callback, extra, "llmseal " + " ".join(path))


def find_command(root: click.Group, path: tuple[str, ...]) -> click.Command:
    """The command at ``path`` (a KeyError names a path that no longer exists)."""
    command: click.Command = root
    for name in path:
        if not isinstance(command, click.Group) or name not in command.commands:
            raise KeyError(f"no command {' '.join(path)!r}")
        command = command.commands[name]
    return command


def _guarded(callback: Callable[..., Any], extra: str, feature: str) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        require(extra, f"`{feature}`")
        return callback(*args, **kwargs)

    return run
