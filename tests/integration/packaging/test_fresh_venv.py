"""Must-show of issue 16: a fresh venv with plain ``pip install <wheel>`` verifies the vectors.

The venv holds the wheel and its base dependencies only (from the configured package
index); the checks are tests/base_checks.py: every receipt vector of tests/vectors/
(v0.3, llmseal's signed responses and streams, log proofs, a witness policy), a bundle
made and verified, the verify page, and the one-line refusals of features whose extra
is missing. Then the wheels built without the C accelerator (no compiler,
``LLMSEAL_NO_EXT=1``) verify the same vectors on the pure-Python path.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.base_checks import Run, check_base_cli, vector_cases
from tests.integration.packaging.conftest import CLEAN_ENV, Dist, FreshVenv, run

pytestmark = pytest.mark.slow  # builds, a venv, pip from the package index

JCS = Path(__file__).parents[2] / "vectors" / "jcs"


def _runner(command: list[str | Path], env: dict[str, str] | None = None) -> Run:
    def call(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(c) for c in command] + list(args), cwd=cwd, capture_output=True, text=True,
            timeout=120, check=False, env=env or CLEAN_ENV,
        )  # fmt: skip

    return call


def _installed(venv: FreshVenv) -> set[str]:
    listed = run([venv.python, "-m", "pip", "list", "--format", "json"]).stdout
    return {p["name"].lower() for p in json.loads(listed)}


def test_plain_pip_install_of_the_wheel_verifies_the_vectors(
    fresh_venv: FreshVenv, tmp_path: Path
) -> None:
    installed = _installed(fresh_venv)
    assert "llmseal" in installed
    for extra_dist in ("uvicorn", "httptools", "dnspython", "psycopg", "numpy", "starlette",
                       "openai", "gguf", "python-pkcs11", "opentelemetry-api"):  # fmt: skip
        assert extra_dist not in installed, extra_dist
    check_base_cli(_runner([fresh_venv.llmseal]), tmp_path, md.version("llmseal"))


def test_version_three_ways(fresh_venv: FreshVenv, tmp_path: Path) -> None:
    version = md.version("llmseal")
    as_module = _runner([fresh_venv.python, "-m", "llmseal"])("--version", cwd=tmp_path)
    assert as_module.returncode == 0 and as_module.stdout == f"llmseal, version {version}\n"
    code = "import llmseal, llmseal.core.canonical as c; print(llmseal.__version__, c.ACCELERATED)"
    attr = run([fresh_venv.python, "-c", code], cwd=tmp_path)
    assert attr.stdout.split() == [version, "True"]  # the wheel's compiled accelerator is used


@pytest.mark.parametrize(
    ("env", "tag"),
    [({"CC": "/nonexistent/cc"}, "cp3"), ({"LLMSEAL_NO_EXT": "1"}, "py3-none-any")],
    ids=["no-compiler", "LLMSEAL_NO_EXT"],
)
def test_a_wheel_without_the_accelerator_verifies_the_same(
    dist: Dist, fresh_venv: FreshVenv, tmp_path: Path, env: dict[str, str], tag: str
) -> None:
    out = tmp_path / "wheel"
    built = run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-cache-dir",
                 "-w", out, dist.sdist], env=CLEAN_ENV | env)  # fmt: skip
    (wheel,) = out.glob("llmseal-*.whl")
    assert tag in wheel.name, wheel.name
    with zipfile.ZipFile(wheel) as whl:
        assert not [n for n in whl.namelist() if n.endswith(".so")]
    if "CC" in env:  # the failed compile was reported, and did not fail the build
        assert "the C accelerator was not built" in built.stderr + built.stdout
    # This wheel's package, on the fresh venv's base dependencies.
    target = tmp_path / "site"
    run([fresh_venv.python, "-m", "pip", "install", "-q", "--no-deps", "--target", target, wheel])
    pure = CLEAN_ENV | {"PYTHONPATH": str(target)}
    probe = ("import json, sys, llmseal.core.canonical as c; print(c.__file__); "
             "print(c.ACCELERATED); "
             "[sys.stdout.write(c.canonicalize(json.loads(open(p, encoding='utf-8').read()))"
             ".decode() + '\\n') for p in sys.argv[1:]]")  # fmt: skip
    inputs = sorted((JCS / "input").glob("*.json"))
    shown = run([fresh_venv.python, "-c", probe, *inputs], env=pure, cwd=tmp_path).stdout
    where, accelerated, *canonical = shown.splitlines()
    assert where.startswith(str(target)) and accelerated == "False"
    expected = [(JCS / "output" / p.name).read_text(encoding="utf-8") for p in inputs]
    assert canonical == expected
    verify = _runner([fresh_venv.python, "-m", "llmseal"], env=pure)
    for case in vector_cases(tmp_path):
        if case.expected == "error":
            continue
        done = verify("verify", *case.args, "--json", cwd=tmp_path)
        assert json.loads(done.stdout)["status"] == case.expected, case.name
        assert done.returncode == case.exit, case.name
