"""A SoftHSM2 token store in a temporary directory, for the HSM benchmark and tests.

SoftHSM reads ``SOFTHSM2_CONF`` once, in ``C_Initialize``: call
:func:`init_softhsm` before anything in the process loads the module, and
create every token then (tokens created later are not seen by a loaded module).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SoftHsm", "init_softhsm", "softhsm_module"]

_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


def softhsm_module() -> str | None:
    """The SoftHSM2 PKCS#11 module, if installed (``LLMSEAL_SOFTHSM_MODULE`` overrides)."""
    override = os.environ.get("LLMSEAL_SOFTHSM_MODULE")
    for path in (override,) if override else _MODULES:
        if path and Path(path).is_file():
            return path
    return None


@dataclass(frozen=True)
class SoftHsm:
    """Tokens initialized in ``conf``'s token directory, all with ``pin``."""

    module: str
    conf: Path
    tokens: tuple[str, ...]
    pin: str
    so_pin: str


def init_softhsm(
    workdir: Path, labels: Sequence[str], *, pin: str = "4711-user", so_pin: str = "0815-so"
) -> SoftHsm:
    """Write a SoftHSM2 config under ``workdir``, point ``SOFTHSM2_CONF`` at it, make tokens."""
    module = softhsm_module()
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        raise RuntimeError("SoftHSM2 is not installed (Debian: apt-get install softhsm2)")
    tokens = workdir / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = workdir / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in labels:
        done = subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", pin],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"softhsm2-util --init-token failed: {done.stderr.strip()}")
    return SoftHsm(module, conf, tuple(labels), pin, so_pin)
