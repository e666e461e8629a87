"""The issuer side: a signing reverse proxy and an ASGI middleware.

Every response of an OpenAI-compatible server that passes through leaves with a
receipt, committed to the receipt store before it is sent::

    llmseal serve --upstream http://127.0.0.1:8000 --data-dir ./issuer

or in-process, e.g. ``vllm serve MODEL --middleware llmseal.gateway.middleware.ReceiptMiddleware``.
"""

from __future__ import annotations

from llmseal.gateway.app import Gateway, create_app
from llmseal.gateway.config import GatewayConfig, prepare_data_dir
from llmseal.gateway.middleware import ReceiptMiddleware

__all__ = ["Gateway", "GatewayConfig", "ReceiptMiddleware", "create_app", "prepare_data_dir"]
