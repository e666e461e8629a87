"""The base install, simulated fast: the CLI with every non-base package hidden.

The allowed imports are the standard library, llmseal, and the distributions that
``pip install llmseal`` brings (the base ``Requires-Dist`` of this installation,
followed transitively); everything else in this venv (the extras, the dev tools)
raises ModuleNotFoundError on import, as it would in a fresh venv. A top-level
import of an optional package anywhere on the CLI's path fails this test.
The same checks run from a real fresh venv in tests/integration/packaging/.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import llmseal
from llmseal import _extras
from llmseal.cli import cli
from llmseal.cli._needs import NEEDS, find_command
from tests.base_checks import Run, check_base_cli, one_line_error
from tests.conftest import VECTORS

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# A worker process: a meta-path finder in front refuses every top-level module outside
# the allowed set (argv[1], comma-separated); then each stdin line {"args", "cwd"} is one
# `llmseal ARGS` run through the CLI's own entry point, answered by one stdout line
# {"rc", "out", "err"}. One interpreter for all the runs (each would otherwise pay the
# CLI's import time); tests/integration/packaging/ runs real processes.
WORKER = """\
import contextlib, io, json, os, sys, traceback

ALLOWED = set(sys.argv[1].split(","))


class Hide:
    @staticmethod
    def find_spec(name, path=None, target=None):
        top = name.partition(".")[0]
        if top in ALLOWED or top in sys.stdlib_module_names or top in sys.builtin_module_names:
            return None
        raise ModuleNotFoundError(f"No module named {name!r} (hidden: not a base dependency)",
                                  name=top)


sys.meta_path.insert(0, Hide())
for line in sys.stdin:
    request = json.loads(line)
    os.chdir(request["cwd"])
    out, err, rc = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            from llmseal.cli import main  # an import error here is the test's failure

            main(request["args"])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException:
            traceback.print_exc()
            rc = 1
    sys.__stdout__.write(json.dumps({"rc": rc, "out": out.getvalue(), "err": err.getvalue()}))
    sys.__stdout__.write("\\n")
    sys.__stdout__.flush()
"""


def _base_distributions() -> set[str]:
    """llmseal's base requirements of this installation, followed transitively."""
    seen: set[str] = set()
    todo = ["llmseal"]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for line in md.requires(name) or ():
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def _allowed_modules() -> set[str]:
    dists = _base_distributions()
    allowed = {"llmseal"}
    for module, owners in md.packages_distributions().items():
        if any(o.lower().replace("_", "-") in dists for o in owners):
            allowed.add(module)
    return allowed


@pytest.fixture(scope="module")
def hidden_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    script = tmp_path_factory.mktemp("worker") / "base_worker.py"
    script.write_text(WORKER)
    allowed = ",".join(sorted(_allowed_modules()))
    worker = subprocess.Popen(
        [sys.executable, str(script), allowed], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, cwd=tmp_path_factory.getbasetemp(),
    )  # fmt: skip
    assert worker.stdin is not None and worker.stdout is not None
    stdin, stdout = worker.stdin, worker.stdout

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        stdin.write(json.dumps({"args": list(args), "cwd": str(cwd)}) + "\n")
        stdin.flush()
        answer = json.loads(stdout.readline())
        return subprocess.CompletedProcess(["llmseal", *args], answer["rc"], answer["out"],
                                           answer["err"])  # fmt: skip

    yield run
    stdin.close()
    assert worker.wait(timeout=60) == 0


def test_the_allowed_set_is_the_base_and_nothing_else() -> None:
    allowed = _allowed_modules()
    assert {"cryptography", "orjson", "rfc8785", "click", "rich", "httpx"} <= allowed
    # Present in this venv (the extras), yet hidden from the simulated base install.
    for extra_module in ("uvicorn", "httptools", "dns", "psycopg", "numpy", "starlette", "gguf"):
        assert extra_module not in allowed, extra_module


def test_the_cli_with_only_the_base_install(hidden_run: Run, tmp_path: Path) -> None:
    check_base_cli(hidden_run, tmp_path, llmseal.__version__)


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("log serve --dir log --keys r.json", "gateway"),
        ("witness serve --dir w --log-vkey v", "gateway"),
        (
            "audit run --endpoint http://127.0.0.1:9/v1 --model-id m --pack r.json --keys r.json",
            "audit",
        ),
        ("keys new k --dir keys --pkcs11-module /x.so --token t --pin-env PIN", "hsm"),
        ("evidence list --store postgresql://127.0.0.1:9/x", "postgres"),
        ("verify r.json --dns --dnssec off", "dns"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(
    hidden_run: Run, tmp_path: Path, command: str, extra: str
) -> None:
    attest = json.loads((VECTORS / "attest-v0.3" / "vectors.json").read_text())
    (tmp_path / "r.json").write_text(json.dumps(attest["cases"][0]["receipt"]))
    done = hidden_run(*command.split(), cwd=tmp_path)
    line = one_line_error(done)
    assert f"pip install 'llmseal[{extra}]'" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"], "nothing may be written"


def test_every_guarded_command_exists() -> None:
    for path in NEEDS:
        assert find_command(cli, path).callback is not None, path


def test_the_extras_table_matches_pyproject() -> None:
    declared = PYPROJECT["project"]["optional-dependencies"]
    assert set(_extras.EXTRAS) <= set(declared)
    assert _extras.extra_for("dns.resolver") == "dns" and _extras.extra_for("json") is None
    # `all` is every extra except the pinned LiteLLM plugin, the compiled replay engine
    # and the tool-only sets; the Makefile installs litellm and llama-cpp-python beside it.
    (everything,) = declared["all"]
    inside = set(everything.removeprefix("llmseal[").removesuffix("]").split(","))
    assert inside == set(declared) - {"all", "dev", "mutation", "litellm", "replay"}


def test_the_base_dependencies_are_what_verifying_needs() -> None:
    names = {Requirement(r).name for r in PYPROJECT["project"]["dependencies"]}
    assert names == {"cryptography", "orjson", "rfc8785", "click", "rich", "httpx"}


def test_missing_extra_only_names_modules_an_extra_provides() -> None:
    hinted = _extras.missing_extra(ModuleNotFoundError("x", name="httptools"), "`llmseal serve`")
    assert hinted is not None and hinted.extra == "gateway"
    assert str(hinted) == ("`llmseal serve` needs the 'gateway' extra (httptools is not "
                           "installed): pip install 'llmseal[gateway]'")  # fmt: skip
    assert {ImportError, llmseal.Error} <= set(type(hinted).__mro__)  # `except ImportError` too
    assert _extras.missing_extra(ModuleNotFoundError("x", name="nosuchthing")) is None
    assert _extras.missing_extra(ImportError("cannot import name 'x'", name="dns")) is None


def test_version_comes_from_the_installed_metadata() -> None:
    assert llmseal.__version__ == md.version("llmseal") == PYPROJECT["project"]["version"]
    done = subprocess.run([sys.executable, "-m", "llmseal", "--version"], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0 and done.stdout == f"llmseal, version {llmseal.__version__}\n"
