"""The docs run: every command and snippet of README.md and docs/**/*.md, on real parts.

Why extraction from Markdown (and not Markdown generated from scripts): the page
stays the one source a writer edits and a reader copies from, and a new page is
tested the moment it exists — nothing to register, nothing to regenerate.

**The convention** (docs/README.md points here). Each page is one test, run top
to bottom in a fresh directory that is also ``$HOME``, with the project's
``.venv/bin`` first on ``PATH``, as a reader following it literally would:

* ```` ```console ````: each ``$ `` line is a shell command (a trailing ``\\``
  continues it); the lines under it are output it must print, in order, where
  ``…`` stands for any text (a line of just ``…`` for any lines). It must exit 0,
  unless the line says ``# exit N``. ``cd`` and ``export`` carry over to the next
  command, and ``$?`` is the previous command's status. A command ending in ``&``
  is a server: it keeps running until the page ends, and the next command waits
  until it listens on a port. ``#`` lines are comments, not run.
* ```` ```python ````: run in order in one namespace per page (so a later block
  sees an earlier one's names), with the page directory as working directory.
* any block with ``file=PATH`` in its info string (```` ```toml file=policy.toml ````)
  is written to PATH when the page reaches it; GitHub shows it as usual.
* anything else (``json``, ``text``, a bare fence) is an illustration, not run.
* ports 8000, 8080, 5353, 8012, 5432 and 4000 are replaced by free ones while testing, so
  pages can say the usual ports and runs never collide: commands that start a
  server name its port (``--port 8080``) even when it is the default.
* ``tests/vectors/`` of the checkout is there (read it, copy from it; never
  write into it), as it is for a reader in a checkout.

There is no way to skip a block: a block that cannot run here is a bug in the
page (only ``make test``, which is this suite, is run by CI instead of here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.pages import ROOT, blocks, output_matches, pages
from tests.docs.runner import PageRun

PAGES = pages()


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a hang guard: a page starts model servers, BIND, gateways
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_runs_as_written(page: Path, tmp_path: Path) -> None:
    run = PageRun(page, tmp_path)
    try:
        for block in blocks(page.read_text()):
            if block.runs:
                run.run(block)
    finally:
        run.close()


def test_every_page_is_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in PAGES}
    assert {"README.md", "docs/client.md", "docs/spec/receipt.md"} <= names
    assert all(p.suffix == ".md" for p in PAGES)


def test_console_blocks_are_read_as_commands_and_output() -> None:
    page = "text\n\n```console\n$ llmseal verify a.json \\\n      --keys k.json  # exit 1\n"
    page += "tampered  receipt …\n# a comment\n$ python -m llmseal.devserver &\n```\n"
    page += "```toml file=p.toml\nmodels = []\n```\n```json\n{}\n```\n"
    console, toml, illustration = blocks(page)
    first, second = console.commands
    assert first.text == "llmseal verify a.json \\\n      --keys k.json  # exit 1"
    assert first.exit_status == 1 and first.expected == ("tampered  receipt …",)
    assert second.background and not first.background and second.expected == ()
    assert toml.runs and toml.attributes == {"file": "p.toml"} and toml.body == "models = []\n"
    assert not illustration.runs


@pytest.mark.parametrize(
    ("expected", "actual", "missing"),
    [
        (("valid  receipt …", "  model    m"), "valid receipt 6f1c\n  key k\n  model m\n", None),
        (("…", "b"), "a\nb\n", None),
        (("b", "a"), "a\nb\n", "a"),  # order matters
        (("valid …",), "tampered x\n", "valid …"),
        (("valid",), "valid receipt\n", "valid"),  # a whole line, not a prefix
    ],
)
def test_output_matching(expected: tuple[str, ...], actual: str, missing: str | None) -> None:
    assert output_matches(expected, actual) == missing


def _run_page(text: str, tmp_path: Path) -> None:
    page = ROOT / "docs" / "synthetic.md"  # named like a page; never written
    run = PageRun(page, tmp_path)
    try:
        for block in blocks(text):
            if block.runs:
                run.run(block)
    finally:
        run.close()


def test_shell_state_carries_over_like_one_terminal(tmp_path: Path) -> None:
    _run_page(
        "```console\n$ mkdir sub && cd sub\n$ NAME=value\n$ export OTHER=x\n$ false  # exit 1\n"
        "$ echo $? $NAME $OTHER $(basename $PWD) :8080\n1 value x sub :…\n```\n"
        "```text file=sub/hello.txt\nhi\n```\n"
        "```python\nassert open('hello.txt').read() == 'hi\\n'\n```\n",
        tmp_path,
    )


@pytest.mark.parametrize(
    ("page", "error"),
    [
        ("```console\n$ false\n```\n", "exited 1"),
        ("```console\n$ true  # exit 1\n```\n", "exited 0"),
        ("```console\n$ echo hello\nbye\n```\n", "printed no line like 'bye'"),
        ("```console\n$ sleep 0 &\n```\n", "never listened"),
        ("```python\nraise RuntimeError('broken snippet')\n```\n", "broken snippet"),
    ],
)
def test_a_broken_page_fails(page: str, error: str, tmp_path: Path) -> None:
    with pytest.raises(Exception, match=error):
        _run_page(page, tmp_path)
