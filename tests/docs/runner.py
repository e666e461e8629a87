"""Running one page the way a reader would: every block in order, in a fresh directory."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from llmseal.bench._support.procs import free_port
from tests.docs.pages import ROOT, Block, Command, output_matches

# Ports the pages name; each page gets free ones instead, so runs never collide.
DOC_PORTS = ("8000", "8080", "5353", "8012", "5432", "4000")
_PORT = re.compile(r"(?:(?<=:)|(?<=--port )|(?<=port=)|(?<=port ))(" + "|".join(DOC_PORTS) + r")\b")
# Commands this suite cannot run from inside itself.
RUN_ELSEWHERE = {
    "make demo": "TEMP",
    "make test": "CI runs exactly this; from inside the suite it would recurse",
}
COMMAND_TIMEOUT = 600.0

# `set -a`: a plain `NAME=value` carries over to the next command, as in one terminal.
_WRAPPER = """\
set -a
source "$DOCS_STATE/env"
cd "$(cat "$DOCS_STATE/cwd")"
(exit "$(cat "$DOCS_STATE/rc")")
{command}
rc=$?
export -p > "$DOCS_STATE/env"
pwd > "$DOCS_STATE/cwd"
echo "$rc" > "$DOCS_STATE/rc"
exit "$rc"
"""


class PageError(AssertionError):
    pass


class PageRun:
    """Shell state (cwd, exported variables, last status), background servers and the
    Python namespace of one page."""

    def __init__(self, page: Path, workdir: Path) -> None:
        self.page = page
        self.workdir = workdir
        self.state = workdir / ".docs-state"
        self.state.mkdir()
        # A reader in a checkout has the test vectors at hand; so does the page.
        (workdir / "tests").mkdir()
        (workdir / "tests" / "vectors").symlink_to(ROOT / "tests" / "vectors")
        (self.state / "cwd").write_text(str(workdir))
        (self.state / "rc").write_text("0")
        (self.state / "env").write_text("")
        self.ports = {port: str(free_port()) for port in DOC_PORTS}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LLMSEAL_")}
        self.env |= {"HOME": str(workdir), "DOCS_STATE": str(self.state),
                     "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # fmt: skip
        self.namespace: dict[str, Any] = {"__name__": "__docs__"}
        self.background: list[tuple[subprocess.Popen[bytes], Path]] = []

    def where(self, line: int) -> str:
        return f"{self.page.relative_to(ROOT)}:{line}"

    def localize(self, text: str) -> str:
        return _PORT.sub(lambda m: self.ports[m[1]], text)

    def run(self, block: Block) -> None:
        if "file" in block.attributes:
            target = self.workdir / block.attributes["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.localize(block.body))
        elif block.language == "python":
            self._python(block)
        elif block.language == "console":
            for command in block.commands:
                self._command(command)

    def _python(self, block: Block) -> None:
        code = compile(self.localize(block.body), self.where(block.line), "exec")
        cwd = Path.cwd()
        saved = {k: os.environ.get(k) for k in ("HOME",)}
        os.chdir((self.state / "cwd").read_text().strip())
        os.environ["HOME"] = str(self.workdir)
        try:
            exec(code, self.namespace)  # noqa: S102 - running the page is the point
        finally:
            os.chdir(cwd)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _command(self, command: Command) -> None:
        text = command.text.split("#", 1)[0].strip() if "\n" not in command.text else command.text
        if text in RUN_ELSEWHERE:
            return
        cwd = self.workdir
        script = _WRAPPER.format(command=self.localize(command.text))
        if text.startswith("make "):  # the README's top block: run from the checkout
            cwd, script = ROOT, text
        if command.background:
            server = re.sub(r"&\s*(#.*)?$", "", self.localize(command.text).rstrip())
            self._start(command, _WRAPPER.split("{command}")[0] + server + "\n")
            return
        try:
            done = subprocess.run(
                ["bash", "-c", script], cwd=cwd, env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise PageError(f"{self.where(command.line)}: `{command.text}` hung") from exc
        output = done.stdout.decode("utf-8", "replace")
        if done.returncode != command.exit_status:
            raise PageError(
                f"{self.where(command.line)}: `{command.text}` exited {done.returncode} "
                f"(the page expects {command.exit_status}):\n{output[-3000:]}"
            )
        missing = output_matches(command.expected, output)
        if missing is not None:
            raise PageError(
                f"{self.where(command.line)}: `{command.text}` printed no line like "
                f"{missing!r}:\n{output[-3000:]}"
            )

    def _start(self, command: Command, script: str) -> None:
        log = self.state / f"background-{len(self.background)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", script], cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.background.append((proc, log))
        deadline = time.monotonic() + 240
        while not _listening(proc.pid):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise PageError(
                    f"{self.where(command.line)}: `{command.text}` never listened:\n"
                    + log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.2)

    def close(self) -> None:
        for proc, _ in self.background:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in self.background:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _listening(root: int) -> bool:
    """Whether ``root`` or a descendant has a listening TCP socket (read from /proc).

    Descendants, not the session: a server may start its own in a new session
    (the dev model server does)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])  # field 4 of stat: the parent
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    inodes: set[str] = set()
    for pid in tree:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for row in handle.readlines()[1:]:
                columns = row.split()
                if columns[3] == "0A" and columns[9] in inodes:
                    return True
    return False
