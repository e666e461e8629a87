"""Two real models behind one llama.cpp server URL, one gateway, a key and certificate each.

llama-cpp-python's server takes several models in one ``--config_file`` and answers
each request with the model it names (``model`` in the answer is that alias), as
vLLM, Ollama and LiteLLM do. Every word below comes from SmolLM2-135M or Gemma-3-270M.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmseal.bench._support.procs import free_port
from llmseal.devmodels import gemma_path
from llmseal.devserver import MODEL_ALIAS, smollm2_path
from llmseal.gateway.app import Gateway
from llmseal.gateway.config.config import GatewayConfig
from llmseal.gateway.config.datadir import prepare_data_dir
from llmseal.gateway.keys.modelkeys import ModelKey
from llmseal.trust.keydir import KeyDirectory
from llmseal.trust.x509.ca import CertificateAuthority
from tests.helpers import ThreadedUvicorn, wait_http

pytestmark = [pytest.mark.slow, pytest.mark.model]

GEMMA = "gemma-3-270m-it"


@pytest.fixture(scope="module")
def two_model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("two-models")
    port = free_port()
    models = [
        {"model": str(smollm2_path()), "model_alias": MODEL_ALIAS, "n_threads": 1,
         "n_ctx": 1024, "seed": 42, "verbose": False},
        {"model": str(gemma_path()), "model_alias": GEMMA, "chat_format": "gemma",
         "n_threads": 1, "n_ctx": 1024, "seed": 42, "verbose": False},
    ]  # fmt: skip
    config = work / "models.json"
    config.write_text(json.dumps({"host": "127.0.0.1", "port": port, "models": models}))
    log = (work / "server.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--config_file", str(config)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", timeout=180, process=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def test_each_real_model_is_signed_with_its_own_certificate(
    two_model_server: str, tmp_path: Path, cli: Any
) -> None:
    at = datetime.now(UTC) - timedelta(hours=1)
    ca = CertificateAuthority(tmp_path / "ca")
    ca.init(domain="lab.example", org="Example Lab", at=at)
    keydir = KeyDirectory(tmp_path / "gw" / "keys")
    issued = {m: ca.issue(m, at=at, keydir=keydir) for m in (MODEL_ALIAS, GEMMA)}
    config = GatewayConfig(
        upstream=two_model_server, data_dir=str(tmp_path / "gw"),
        models=tuple(ModelKey(m, key_id=c.key_id, cert_chain=str(c.chain_path))
                     for m, c in issued.items()),
    )  # fmt: skip
    app = Gateway(prepare_data_dir(config, at=datetime.now(UTC)))
    with ThreadedUvicorn(app) as gateway:
        for model, cert in issued.items():
            request = {"model": model, "max_tokens": 6, "temperature": 0,
                       "messages": [{"role": "user", "content": "Say hi."}]}  # fmt: skip
            body = httpx.post(f"{gateway.url}/v1/chat/completions", json=request, timeout=300)
            answer = body.json()
            assert answer["model"] == model and answer["receipt"]["key_id"] == cert.key_id
            saved = tmp_path / f"{model}.json"
            saved.write_text(json.dumps(answer))
            root = ca.root_path
            ok = cli("verify", saved, "--anchors", root, "--domain", "lab.example")
            assert ok.status == 0, ok.stdout + ok.stderr
            other = GEMMA if model == MODEL_ALIAS else MODEL_ALIAS
            wrong = cli("verify", saved, "--anchors", root, "--name", f"{other}.models.lab.example")
            assert wrong.status != 0
        refused = httpx.post(f"{gateway.url}/v1/chat/completions", json={"model": "other"})
        assert refused.status_code == 400
