"""The issuer side: a signing reverse proxy and an ASGI middleware.

Every response of an OpenAI-compatible server that passes through leaves with a
receipt, committed to the receipt store before it is sent::

    llmseal serve --upstream http://127.0.0.1:8000 --data-dir ./issuer

or in-process, e.g. ``vllm serve MODEL --middleware llmseal.gateway.middleware.ReceiptMiddleware``.

The names below are imported on first use (PEP 562): the proxy needs the
``gateway`` extra (``pip install 'llmseal[gateway]'``), while the configuration
and the verify page (``llmseal web``) work with the base install.

The proxy is :mod:`.app` (with :mod:`._relay`), the middleware :mod:`.middleware`
(with :mod:`._exchange`), the process runner :mod:`.server`; the rest by concept:
:mod:`.sealing`, :mod:`.keys`, :mod:`.config`, :mod:`.receipts`, :mod:`.http`,
:mod:`.web`, :mod:`.weights` and :mod:`.observability`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmseal.gateway.app import Gateway, create_app
    from llmseal.gateway.config.config import GatewayConfig
    from llmseal.gateway.config.datadir import prepare_data_dir
    from llmseal.gateway.middleware import ReceiptMiddleware

__all__ = ["Gateway", "GatewayConfig", "ReceiptMiddleware", "create_app", "prepare_data_dir"]

_HOME = {
    "Gateway": "app",
    "create_app": "app",
    "GatewayConfig": "config.config",
    "prepare_data_dir": "config.datadir",
    "ReceiptMiddleware": "middleware",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'llmseal.gateway' has no attribute {name!r}")
    return getattr(importlib.import_module(f"llmseal.gateway.{home}"), name)
