"""What the base install (``pip install llmseal``, no extras) must do from the command line.

One list of checks, run two ways: by tests/unit/test_base_install.py (this venv with
every non-base package hidden from imports, fast) and by
tests/integration/packaging/test_fresh_venv.py (a fresh venv holding only the wheel
and its base dependencies, the must-show of issue 16).

``Run`` starts ``llmseal ARGS...`` in a working directory and returns the finished
process (text output).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import VECTORS

__all__ = ["Run", "VectorCase", "check_base_cli", "one_line_error", "vector_cases"]

Run = Callable[..., "subprocess.CompletedProcess[str]"]

EXIT = {"valid": 0, "tampered": 1, "unknown_key": 1, "revoked": 1}


@dataclass(frozen=True)
class VectorCase:
    name: str
    args: tuple[str, ...]
    expected: str
    exit: int


def vector_cases(folder: Path) -> list[VectorCase]:
    """Every receipt vector of tests/vectors/ as files in ``folder`` and verify arguments."""
    cases: list[VectorCase] = []
    attest = json.loads((VECTORS / "attest-v0.3" / "vectors.json").read_text())
    (folder / "attest-keys.json").write_text(json.dumps({"keys": attest["keyset"]}))
    for case in attest["cases"]:
        path = folder / f"{case['receipt']['receipt_id']}.json"
        path.write_text(json.dumps(case["receipt"]))
        args: tuple[str, ...] = (path.name, "--keys", "attest-keys.json")
        expected = case["expected"]
        cases.append(VectorCase(f"v0.3 {expected}", args, expected, EXIT[expected]))
    signed = json.loads((VECTORS / "llmseal" / "python-signed.json").read_text())
    (folder / "py-keys.json").write_text(json.dumps(signed["keyset"]))
    for i, case in enumerate(signed["cases"]):
        (folder / f"signed-{i}.txt").write_text(_text(case["input"]))
        args = (f"signed-{i}.txt", "--keys", "py-keys.json")
        for option in ("prompt", "output"):
            if option in case["options"]:
                (folder / f"signed-{i}.{option}.json").write_text(_text(case["options"][option]))
                args += (f"--{option}", f"signed-{i}.{option}.json")
        expected = case["expected"]
        cases.append(VectorCase(case["name"], args, expected, EXIT.get(expected, 2)))
    logged = json.loads((VECTORS / "llmseal" / "logged.json").read_text())
    (folder / "logged-keys.json").write_text(json.dumps(logged["keyset"]))
    (folder / "witness-policy.txt").write_text(logged["policy"])
    response = {**logged["response"], "receipt": logged["receipts"]["ok"],
                "receipt_evidence": {"log": logged["proofs"]["ok"]}}  # fmt: skip
    (folder / "logged.json").write_text(json.dumps(response))
    keys = ("--keys", "logged-keys.json")
    proof = ("logged.json", *keys, "--log-vkey", logged["log_vkey"])
    cases.append(VectorCase("log proof", proof, "valid", 0))
    # The receipt is valid, but not proven in the log the verifier trusts: exit 1.
    other = ("logged.json", *keys, "--log-vkey", logged["other_log_vkey"])
    cases.append(VectorCase("log proof from another log", other, "valid", 1))
    witnessed = ("logged.json", *keys, "--witness-policy", "witness-policy.txt")
    cases.append(VectorCase("witnessed log proof", witnessed, "valid", 0))
    return cases


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused command (exit 2, no traceback)."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def check_base_cli(run: Run, folder: Path, version: str) -> None:
    """Run every base-install check with ``run`` in ``folder``."""
    top = run("--help", cwd=folder)
    assert top.returncode == 0, top.stderr
    for command in ("verify", "bundle", "serve", "log", "keys", "sign", "web", "audit"):
        assert f"  {command} " in top.stdout, command
    shown = run("--version", cwd=folder)
    assert shown.returncode == 0 and shown.stdout.strip() == f"llmseal, version {version}"

    cases = vector_cases(folder)
    for case in cases:
        done = run("verify", *case.args, "--json", cwd=folder)
        if case.expected == "error":  # not a receipt, or content beyond JSON's exact range
            assert one_line_error(done).startswith("llmseal: error: "), case.name
            continue
        assert done.stderr == "", (case.name, done.stderr)
        assert json.loads(done.stdout)["status"] == case.expected, (case.name, done.stdout)
        assert done.returncode == case.exit, (case.name, done.returncode)
    assert len(cases) == 4 + 22 + 3, "every vector of tests/vectors/ is run"

    # A bundle made and verified offline with the base install.
    made = run("bundle", "create", "logged.json", "--keys", "logged-keys.json",
               "--out", "answer.bundle.json", cwd=folder)  # fmt: skip
    assert made.returncode == 0, made.stderr
    checked = run(
        "bundle", "verify", "answer.bundle.json", "--keys", "logged-keys.json", cwd=folder
    )
    assert checked.returncode == 0 and "valid" in checked.stdout, checked

    # The verify page ships in the package (its JavaScript included).
    saved = run("web", "--save", "verify.html", cwd=folder)
    assert saved.returncode == 0, saved.stderr
    assert '<script type="module"' in (folder / "verify.html").read_text()

    # Features whose extra is missing: one line naming it, exit 2, nothing written.
    serve = run("serve", "--upstream", "http://127.0.0.1:9", "--data-dir", "issuer", cwd=folder)
    line = one_line_error(serve)
    assert "`llmseal serve`" in line and "pip install 'llmseal[gateway]'" in line, line
    assert not (folder / "issuer").exists()
    dns = run("bundle", "verify", "answer.bundle.json", "--trust-anchor", "witness-policy.txt",
              cwd=folder)  # fmt: skip
    assert "pip install 'llmseal[dns]'" in one_line_error(dns)
    assert run("serve", "--help", cwd=folder).returncode == 0  # help needs no extra
