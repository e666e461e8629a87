"""Build the C accelerator for RFC 8785 canonicalization; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "llmseal.core._jcs",
            sources=["src/llmseal/core/_jcs.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
        )
    ]
)
