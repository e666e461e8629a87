"""Build the C accelerator for RFC 8785 canonicalization; everything else is in pyproject.toml.

The accelerator is optional: ``llmseal.core.canonical`` falls back to the reference
``rfc8785`` package when ``llmseal.core._jcs`` cannot be imported, and the two give
the same bytes (tests/unit/core/test_canonical.py). So an installation never fails
for want of a compiler: a failed build of the extension is reported in one line and
skipped. ``LLMSEAL_NO_EXT=1`` builds without it on purpose (a pure-Python wheel).
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that skips the accelerator, with a note, when it cannot be compiled.

    ``optional=True`` already covers compiler errors; this also covers the cases
    that fail before a compiler runs (no compiler configured for the platform).
    """

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any build failure means: no accelerator
            _skipped(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            _skipped(exc)


def _skipped(exc: Exception) -> None:
    sys.stderr.write(
        f"llmseal: the C accelerator was not built ({type(exc).__name__}: {exc}); "
        "the pure-Python canonicalizer will be used (same bytes, slower)\n"
    )


def _extensions() -> list[Extension]:
    if os.environ.get("LLMSEAL_NO_EXT", "") not in ("", "0"):
        return []
    return [
        Extension(
            "llmseal.core._jcs",
            sources=["src/llmseal/core/_jcs.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
