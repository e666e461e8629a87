"""The page builder: one self-contained document, a CSP that admits exactly its code."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from llmseal.errors import ConfigError
from llmseal.gateway.web.webpage import STATIC, bundle, dashboard_page, verify_page

VECTORS = Path(__file__).parents[2] / "vectors"


@pytest.mark.parametrize("build", [verify_page, dashboard_page], ids=["verify", "dashboard"])
def test_the_csp_admits_exactly_the_inline_script_and_style(build: object) -> None:
    page = build()  # type: ignore[operator]
    html = page.html.decode()
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(scripts) == 1 and len(styles) == 1  # everything inline, nothing fetched
    assert not re.search(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=", html)
    for code, kind in ((scripts[0], "script-src"), (styles[0], "style-src")):
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"{kind} 'sha256-{digest}'" in page.csp
    assert page.csp.startswith("default-src 'none';")
    assert f'content="{page.csp}"' in html  # the same policy travels inside a saved copy
    assert "'unsafe-inline'" not in page.csp and "'unsafe-eval'" not in page.csp


def test_the_verify_page_is_small() -> None:
    assert len(verify_page().html) < 100_000
    assert "connect-src *" in verify_page().csp
    assert "connect-src 'self'" in dashboard_page().csp


def test_the_bundled_library_verifies_the_official_vectors_in_node(tmp_path: Path) -> None:
    vectors = (VECTORS / "attest-v0.3" / "vectors.json").as_posix()
    script = tmp_path / "check.mjs"
    script.write_text(
        bundle(STATIC / "js" / "index.js", expose="lib")
        + "import { readFileSync } from 'node:fs';\n"
        + f"const v = JSON.parse(readFileSync({vectors!r}, 'utf8'));\n"
        + "for (const c of v.cases)\n"
        + "  console.log((await lib.verify(c.receipt, {keys: v.keyset})).status);\n"
    )
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["valid", "tampered", "unknown_key", "revoked"]


def _module(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_bundler_scopes_modules_and_renames_imports(tmp_path: Path) -> None:
    _module(tmp_path, "a.js", "const secret = 1;\nexport function one() { return secret; }\n")
    _module(
        tmp_path,
        "b.js",
        "const secret = 2;\nexport { one } from './a.js';\nexport const two = secret;\n",
    )
    entry = _module(
        tmp_path, "main.js",
        "import { one as uno, two } from './b.js';\nimport { one } from './a.js';\n"
        "console.log(uno() + two + one());\n",
    )  # fmt: skip
    out = tmp_path / "out.mjs"
    out.write_text(bundle(entry))
    done = subprocess.run(["node", str(out)], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "4", done.stderr
    assert out.read_text().count("function one") == 1  # a.js once, though imported twice


@pytest.mark.parametrize(
    "source",
    [
        "export default function f() {}\n",
        "import * as all from './x.js';\n",
        "import thing from './x.js';\n",
        "export { a as default, b c } from './x.js';\n",
    ],
)
def test_the_bundler_refuses_forms_it_does_not_know(tmp_path: Path, source: str) -> None:
    _module(tmp_path, "x.js", "export const a = 1;\nexport const b = 2;\n")
    with pytest.raises(ConfigError):
        bundle(_module(tmp_path, "m.js", source))


def test_whole_line_comments_are_dropped_unless_a_string_spans_lines(tmp_path: Path) -> None:
    plain = _module(
        tmp_path, "plain.js", "// why\n  // more\nconst a = 'x'; // kept\nconsole.log(a);\n"
    )
    built = bundle(plain)
    assert "why" not in built and "more" not in built and "// kept" in built
    spanning = "const t = `line one\n// not a comment\n`;\nconsole.log(t.length);\n"
    out = tmp_path / "out.mjs"
    out.write_text(bundle(_module(tmp_path, "spanning.js", spanning)))
    done = subprocess.run(["node", str(out)], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == str(len("line one\n// not a comment\n")), done.stderr
