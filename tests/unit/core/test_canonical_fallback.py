"""Without the C accelerator (no compiler, or LLMSEAL_NO_EXT=1) the reference path is taken.

A fresh interpreter with ``llmseal.core._jcs`` hidden, as an installation built
without it has none: ``ACCELERATED`` is False and ``canonicalize`` gives the same
bytes as the accelerated one in this process, over the RFC 8785 vectors and a
corpus of awkward values. (Wheels built without the module:
tests/integration/packaging/test_dist.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from llmseal.core.canonical import ACCELERATED, canonicalize

JCS = Path(__file__).parents[2] / "vectors" / "jcs"

HIDDEN = """\
import json, sys


class Hide:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "llmseal.core._jcs":
            raise ModuleNotFoundError("hidden", name=name)
        return None


sys.meta_path.insert(0, Hide())
from llmseal.core import canonical

values = json.loads(sys.stdin.read())
print(json.dumps({"accelerated": canonical.ACCELERATED,
                  "bytes": [canonical.canonicalize(v).decode("utf-8") for v in values]}))
"""

AWKWARD: list[Any] = [
    {"b": [1e21, 1e-7, -0.0, 5e-324, 1.7976931348623157e308], "a": "\u2028\u0007\U0001f680"},
    {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": [True, False, None], "": {}},
    [9007199254740991, -9007199254740991, 0.1, 333333333.3333333, 1e-6, 1.2345678901234568e20],
    {"nested": [[[{"z": "</script>", "y": '\\"/'}]]]},
]


def _fallback(values: list[Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", HIDDEN], input=json.dumps(values), capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_pure_python_path_gives_the_accelerators_bytes() -> None:
    assert ACCELERATED  # this process: the built module
    inputs = sorted((JCS / "input").glob("*.json"))
    values = [json.loads(p.read_text(encoding="utf-8")) for p in inputs] + AWKWARD
    out = _fallback(values)
    assert out["accelerated"] is False
    fallback = [text.encode("utf-8") for text in out["bytes"]]
    assert fallback == [canonicalize(v) for v in values]
    for path, produced in zip(inputs, fallback, strict=False):
        assert produced == (JCS / "output" / path.name).read_bytes(), path.name
