"""The public surface is explicit and the layers only import downward."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import llmseal

SRC = Path(llmseal.__file__).parent
# design.md, "Components and layers": core -> trust -> store -> log -> compat
# (and weights, bundle) -> gateway/client/audit -> cli/bench. errors.py (and _extras.py, the
# optional-extras table) sits under everything.
LAYER = {
    "errors": 0,
    "_extras": 0,
    "__init__": 0,
    "core": 0,
    "trust": 1,
    "store": 2,
    "log": 3,
    "compat": 4,
    "weights": 4,
    "bundle": 4,
    "gateway": 5,
    "client": 5,
    "audit": 5,
    "cli": 6,
    "bench": 6,
    "__main__": 6,
    "devserver": 6,
    "devmodels": 6,
    "integrations": 6,
    "devpostgres": 6,
}


def _layer(parts: tuple[str, ...]) -> int:
    return LAYER[parts[0]] if parts else 0


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_lower_layers_never_import_upper_ones(path: Path) -> None:
    rel = path.relative_to(SRC).with_suffix("").parts
    own = _layer(rel)
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = tuple(name.split("."))
            if parts[0] != "llmseal" or len(parts) < 2:
                continue
            target = _layer(parts[1:])
            assert target <= own or rel[0] == parts[1], f"{'.'.join(rel)} imports {name}"


def test_gateway_client_audit_are_independent() -> None:
    for path in _modules():
        rel = path.relative_to(SRC).parts
        if rel[0] not in ("gateway", "client", "audit"):
            continue
        text = path.read_text()
        for other in {"gateway", "client", "audit"} - {rel[0]}:
            assert f"llmseal.{other}" not in text, f"{path} imports llmseal.{other}"


def test_top_level_all_is_exactly_the_public_names() -> None:
    public = sorted(n for n in vars(llmseal) if not n.startswith("_") or n == "__version__")
    import __future__

    modules = {
        n for n in public if isinstance(getattr(llmseal, n), type(llmseal) | __future__._Feature)
    }
    assert sorted(llmseal.__all__) == sorted(set(public) - modules)


def test_every_public_module_declares_all() -> None:
    for info in pkgutil.walk_packages(llmseal.__path__, "llmseal."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") or ".cli" in info.name or ".bench" in info.name:
            continue
        module = importlib.import_module(info.name)
        if info.ispkg and not hasattr(module, "__all__"):
            continue
        assert hasattr(module, "__all__"), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"


def test_every_exception_is_rooted_at_error() -> None:
    from llmseal import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), llmseal.Error)


# The style rule: past a dozen modules on several concepts, each concept gets its own
# subpackage. bench/ is one concept with a module per bench group (its GROUPS registry
# names them; their helpers are in bench/_support/ and bench/_beds/).
MAX_MODULES = 12
OVER_MAX = {"bench"}


def test_no_package_holds_more_than_a_dozen_modules() -> None:
    crowded: dict[str, list[str]] = {}
    for init in SRC.rglob("__init__.py"):
        folder = init.parent
        modules = sorted(p.name for p in folder.glob("*.py") if p.name != "__init__.py")
        if len(modules) > MAX_MODULES:
            crowded[folder.relative_to(SRC.parent).as_posix()] = modules
    unlisted = {k: v for k, v in crowded.items() if k.removeprefix("llmseal/") not in OVER_MAX}
    assert not unlisted, f"over {MAX_MODULES} modules: {unlisted}"
    stale = OVER_MAX - {k.removeprefix("llmseal/") for k in crowded}
    assert not stale, f"no longer over {MAX_MODULES} modules, drop from OVER_MAX: {stale}"
