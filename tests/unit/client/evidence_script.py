"""A script that verifies answers with evidence on and exits without closing anything.

``python -m tests.unit.client.evidence_script DATA_DIR WORK MODE``:

* ``calls``: three verified calls through the verifying transport (sample rate 1),
  then the answers and the key set go to WORK for a later replay; exits normally;
* ``replay``: replays WORK's first answer to the same request; prints the outcome;
* ``sigterm``: like ``calls``, then prints ``ready`` and waits to be terminated.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.client.build import build_verifier
from llmseal.client.transport import VerifyingTransport
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.errors import ReplayError

URL = "http://upstream.test/v1/chat/completions"


def _answer(signer: Ed25519Signer, request: httpx.Request) -> httpx.Response:
    receipt = sign_exchange(
        signer, model_id="m", request=orjson.loads(request.content), response=RESPONSE,
        at=datetime.now(UTC), claims={"endpoint": "/v1/chat/completions", "status_code": 200},
    )  # fmt: skip
    return httpx.Response(200, json={**RESPONSE, "receipt": receipt.to_dict()})


def calls(data_dir: Path, work: Path) -> None:
    signer = Ed25519Signer.generate("script-2026q4")
    keys = KeySet([KeyEntry(signer.key_id, signer.public_key())])
    (work / "keys.json").write_bytes(orjson.dumps(keys.to_dict()))
    verifier = build_verifier(keys=keys, data_dir=data_dir, sample_rate=1.0)
    transport = VerifyingTransport(verifier, httpx.MockTransport(lambda r: _answer(signer, r)))
    client = httpx.Client(transport=transport)  # never closed, like most scripts
    for n in range(3):
        answer = client.post(URL, json={**REQUEST, "user": f"call-{n}"})
        (work / f"answer-{n}.json").write_bytes(answer.content)


def replay(data_dir: Path, work: Path) -> None:
    keys = KeySet.from_json((work / "keys.json").read_bytes())
    saved = (work / "answer-0.json").read_bytes()
    verifier = build_verifier(keys=keys, data_dir=data_dir)
    client = httpx.Client(
        transport=VerifyingTransport(verifier, httpx.MockTransport(lambda r: httpx.Response(
            200, content=saved, headers={"content-type": "application/json"}))),
    )  # fmt: skip
    try:
        client.post(URL, json={**REQUEST, "user": "call-0"})
    except ReplayError:
        print("replay refused")
    else:
        print("replay accepted")


if __name__ == "__main__":
    data, work_dir, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    if mode == "replay":
        replay(data, work_dir)
    else:
        calls(data, work_dir)
        if mode == "sigterm":
            print("ready", flush=True)
            threading.Event().wait(60)  # until the test terminates us (hang guard)
