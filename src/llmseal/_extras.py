"""Which optional extra brings which import, and the one-line error when it is missing.

``pip install llmseal`` installs what verifying needs (receipts, key sets, log
proofs, bundles, the command line); every other feature lives in an extra of
``pyproject.toml``. Code that needs an optional package imports it where the
feature starts, so ``import llmseal`` and ``llmseal verify`` never need it; when the
import fails, :func:`missing_extra` turns the ``ModuleNotFoundError`` into a
:class:`~llmseal.errors.MissingExtraError` that names the extra to install, which the
CLI prints as one line (exit 2).

The table is kept beside ``[project.optional-dependencies]`` by a test
(``tests/unit/test_packaging.py``): every extra named here exists there.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

from llmseal.errors import MissingExtraError

__all__ = ["EXTRAS", "extra_for", "install_hint", "missing_extra", "require"]

EXTRAS: Mapping[str, tuple[str, ...]] = {
    # the signing gateway, `llmseal serve`, `llmseal log serve`, `llmseal witness serve`
    "gateway": ("uvicorn", "httptools"),
    # the admission gate for Starlette/FastAPI services (the verifying client itself is base)
    "client": ("starlette",),
    "dns": ("dns",),
    "hsm": ("pkcs11", "asn1crypto"),
    "postgres": ("psycopg", "psycopg_pool"),
    "weights": ("gguf",),
    # model-identity audits (the family registry loads the replay family, which uses numpy)
    "audit": ("numpy",),
    # the replay audit's in-process model runs (llama-cpp-python, compiled from source)
    "replay": ("llama_cpp",),
    "litellm": ("litellm",),
    "otel": ("opentelemetry",),
    "agents": ("agents",),
    "langchain": ("langchain_openai", "langchain_core"),
}
"""Extra -> the top-level modules its features import (what :func:`require` checks)."""

# Also brought by an extra, but not needed by every feature of it: uvicorn runs without
# uvloop; FastAPI and the openai SDK are what callers of the client usually bring.
_ALSO = {"uvloop": "gateway", "fastapi": "client", "openai": "client"}
_BY_MODULE = {module: extra for extra, modules in EXTRAS.items() for module in modules} | _ALSO


def extra_for(module: str) -> str | None:
    """The extra that provides ``module`` (a dotted name is judged by its top level)."""
    return _BY_MODULE.get(module.partition(".")[0])


def install_hint(extra: str) -> str:
    """The command that installs ``extra``, quoted for a POSIX shell."""
    return f"pip install 'llmseal[{extra}]'"


def missing_extra(exc: BaseException, feature: str | None = None) -> MissingExtraError | None:
    """The readable error for an import that failed because an extra is not installed.

    None when ``exc`` is not a ``ModuleNotFoundError`` for a module an extra provides
    (then it is a bug or a broken installation, and is reported as such).
    """
    if not isinstance(exc, ModuleNotFoundError) or exc.name is None:
        return None
    extra = extra_for(exc.name)
    if extra is None:
        return None
    what = f"{feature} needs" if feature else "this needs"
    return MissingExtraError(
        f"{what} the '{extra}' extra ({exc.name} is not installed): {install_hint(extra)}",
        extra=extra,
    )


def require(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtraError` unless every module of ``extra`` can be imported.

    Called where a feature starts (before it writes anything), so a missing extra
    is reported before any side effect rather than from deep inside the feature.
    """
    for module in EXTRAS[extra]:
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(
                f"{feature} needs the '{extra}' extra ({module} is not installed): "
                f"{install_hint(extra)}",
                extra=extra,
            )
