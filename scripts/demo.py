"""`make demo`: the issuer and the caller, end to end, on the real SmolLM2 model.

Starts the SmolLM2-135M model server and `llmseal serve` (with its embedded
transparency log) on loopback, asks with the official openai SDK (plain and
streaming), verifies both receipts, shows a tampered copy failing, runs `llmseal
verify` on a saved answer, checks the answer's inclusion proof in the log offline,
audits a reseller that serves Gemma-3-270M under SmolLM2's name (DIFF), and stops
everything it started. Work files go to .demo/ (kept for inspection).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
from rich.console import Console
from rich.panel import Panel

from llmseal.core.framing import read_stream
from llmseal.core.keyset import KeySet
from llmseal.core.verify import verify_receipt
from llmseal.devserver import MODEL_ALIAS, ModelServer
from llmseal.log.entry import receipt_entry
from llmseal.log.note.notekeys import load_verifier
from llmseal.log.service.service import read_log_info
from llmseal.log.tree.proof import verify_log_proof

console = Console(highlight=False)
WORK = Path(".demo")
QUESTION = "In two sentences: why do leaves change colour in autumn?"


def step(number: int, title: str) -> None:
    console.rule(f"[bold cyan]Step {number}[/] {title}", align="left")


def show_receipt(receipt: dict[str, object]) -> None:
    keys = ("receipt_id", "model_id", "issued_at", "key_id", "prompt_hash", "output_hash")
    lines = [f"[dim]{k:12}[/] {receipt[k]}" for k in keys]
    lines.append(f"[dim]{'claims':12}[/] " + ", ".join(
        k for k in receipt if k not in (*keys, "nonce", "signature")))  # fmt: skip
    console.print(Panel("\n".join(lines), title="receipt", expand=False))


def start_gateway(
    upstream: str, port: int, data_dir: str = "issuer", *extra: str
) -> subprocess.Popen[bytes]:
    command = [
        *(sys.executable, "-m", "llmseal", "serve", "--upstream", upstream, "--port", str(port)),
        *("--data-dir", str(WORK / data_dir), "--issuer", "demo.llmseal.local", *extra),
    ]
    shown = " ".join(extra)
    console.print(
        f"$ llmseal serve --upstream {upstream} --port {port} --data-dir .demo/{data_dir} {shown}"
    )
    log = (WORK / "gateway.log").open("ab")
    proc = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the gateway did not start; see .demo/gateway.log")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def verdict(label: str, status: str) -> None:
    color = "green" if status == "valid" else "red"
    console.print(f"  {label}: [bold {color}]{status}[/]")


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    failures = 0
    step(1, "start the real model server (SmolLM2-135M-Instruct, llama.cpp, loopback)")
    with ModelServer(log=WORK / "model.log") as model:
        console.print(f"  model server ready at {model.url}")
        step(2, "start the llmseal signing gateway in front of it")
        port = ModelServer().port  # just a free loopback port
        logged = ("--log", str(WORK / "issuer" / "log"), "--log-inline", "--log-batch-age", "10")
        gateway = start_gateway(model.url, port, "issuer", *logged)  # every receipt in a Merkle log
        url = f"http://127.0.0.1:{port}"
        try:
            failures += run_demo(url)
            failures += run_audit(model.url)
        finally:
            step(12, "stop everything")
            stop(gateway)
            console.print("  gateway stopped (receipts are in .demo/issuer/receipts)")
    console.print("  model server stopped")
    if failures:
        console.print(f"[bold red]demo failed: {failures} check(s) did not behave[/]")
        return 1
    console.print(
        "[bold green]demo complete: honest answers verify, tampering is caught, "
        "every receipt is provably in the log, a substituted model is caught.[/]"
    )
    return 0


def run_demo(url: str) -> int:
    failures = 0
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-demo")
    keys = KeySet.from_json(httpx.get(f"{url}/v1/receipts/keys").content)
    request = {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": QUESTION}],
               "max_tokens": 80, "temperature": 0}  # fmt: skip

    step(3, "ask with the official openai SDK (plain)")
    console.print(f"  Q: {QUESTION}")
    raw = client.chat.completions.with_raw_response.create(**request)
    answer = json.loads(raw.http_response.content)
    console.print(f"  A: {raw.parse().choices[0].message.content}")
    show_receipt(answer["receipt"])

    step(4, "verify that receipt offline, against the published key set")
    result = verify_receipt(
        answer["receipt"], keys, prompt=json.loads(raw.http_request.content), output=answer
    )
    verdict("signature, key, request hash, response hash", result.status.value)
    failures += result.status.value != "valid"

    step(5, "ask again, streaming: tokens arrive as generated, the receipt comes last")
    console.print("  the SDK's quickstart loop (it never sees the receipt, an SSE comment):")
    console.print("  A: ", end="")
    for chunk in client.chat.completions.create(**request, stream=True):
        console.print(chunk.choices[0].delta.content or "", end="")
    console.print()
    streamed = {**request, "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=streamed, timeout=300) as r:
        saved = read_stream(b"".join(r.iter_bytes()))  # what `curl -N` would have saved
    assert saved.receipt is not None, "the stream carries no receipt"
    result = verify_receipt(saved.receipt.receipt, keys, prompt=streamed, output=list(saved.chunks))
    verdict(f"raw stream of {len(saved.chunks)} chunks", result.status.value)
    failures += result.status.value != "valid"

    step(6, "a relay edits the answer: the tampered copy fails")
    forged = json.loads(json.dumps(answer))
    forged["choices"][0]["message"]["content"] = "Because the trees get bored of green."
    local = verify_receipt(forged["receipt"], keys, output=forged)
    verdict("offline verify of the edited copy", local.status.value)
    posted = {"receipt": forged["receipt"], "output": json.dumps(forged)}
    remote = httpx.post(f"{url}/v1/receipts/verify", json=posted).json()
    verdict("POST /v1/receipts/verify", remote["status"])
    failures += local.status.value != "tampered" or remote["status"] != "tampered"

    step(7, "save the answer and the key set; `llmseal verify` them like a third party")
    (WORK / "answer.json").write_text(json.dumps(answer, indent=2, ensure_ascii=False))
    (WORK / "forged.json").write_text(json.dumps(forged, indent=2, ensure_ascii=False))
    (WORK / "keys.json").write_text(json.dumps(keys.to_dict(), indent=2))
    for name, expected in (("answer.json", 0), ("forged.json", 1)):
        console.print(f"$ llmseal verify .demo/{name} --keys .demo/keys.json")
        argv = ["verify", str(WORK / name), "--keys", str(WORK / "keys.json")]
        proc = subprocess.run(
            [sys.executable, "-m", "llmseal", *argv], capture_output=True, text=True
        )
        console.print(proc.stdout.rstrip(), markup=False)
        console.print(f"  exit status {proc.returncode} (expected {expected})")
        failures += proc.returncode != expected

    step(8, "the caller's side: the verifying client checks every answer itself")
    from llmseal.client import verifying_http_client

    http = verifying_http_client(
        keys=f"{url}/v1/receipts/keys", data_dir=WORK / "caller", sample_rate=1.0
    )
    caller = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-demo", http_client=http)
    checked = caller.chat.completions.create(**request)
    caller.close()  # flushes the evidence
    console.print(
        f"  verified before the SDK returned: {checked.model_extra['receipt']['receipt_id']}"
    )
    console.print("$ llmseal evidence list --data-dir .demo/caller")
    proc = subprocess.run([sys.executable, "-m", "llmseal", "evidence", "list", "--data-dir",
                           str(WORK / "caller")], capture_output=True, text=True)  # fmt: skip
    console.print(proc.stdout.rstrip(), markup=False)
    failures += proc.returncode != 0

    step(9, "the issuer kept every receipt it delivered")
    stored = httpx.get(f"{url}/v1/receipts/{answer['receipt']['receipt_id']}/verify").json()
    verdict(f"GET /v1/receipts/{answer['receipt']['receipt_id']}/verify", stored["status"])
    failures += stored["status"] != "valid"
    return failures + show_log(answer)


def show_log(answer: dict[str, Any]) -> int:
    """Step 10: the answer's receipt is in the transparency log; its proof checks offline."""
    step(10, "the receipt is in a public append-only log: check its inclusion proof offline")
    proof = answer["receipt_evidence"]["log"]  # the tlog-proof@v1 --log-inline put beside it
    console.print(Panel(proof.rstrip(), title="receipt_evidence.log (tlog-proof@v1)", expand=False))
    vkey = read_log_info(WORK / "issuer" / "log")["vkey"]  # what the issuer publishes
    (WORK / "log.vkey").write_text(vkey + "\n")
    proven = verify_log_proof(proof, receipt_entry(answer["receipt"]), origin=vkey.split("+")[0],
                              verifiers=[load_verifier(vkey)])  # fmt: skip
    console.print(f"  entry {proven.index} of {proven.origin}, tree size {proven.tree_size}: "
                  "[bold green]included[/] (RFC 9162 path to the signed checkpoint)")  # fmt: skip
    console.print("$ llmseal verify .demo/answer.json --keys .demo/keys.json \\")
    console.print('      --log-vkey "$(cat .demo/log.vkey)"   # the proof is in the answer')
    argv = ["verify", str(WORK / "answer.json"), "--keys", str(WORK / "keys.json"),
            "--log-vkey", vkey]  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "llmseal", *argv], capture_output=True, text=True)
    console.print(proc.stdout.rstrip(), markup=False)
    console.print(f"  exit status {proc.returncode} (expected 0)")
    return int(proc.returncode != 0 or "log" not in proc.stdout)


def run_audit(honest: str) -> int:
    """A reseller signs answers from Gemma-3-270M but claims SmolLM2: the audit says DIFF."""
    from llmseal.devmodels import gemma_path

    step(11, "a reseller serves Gemma-3-270M but claims SmolLM2: an audit catches it")
    with ModelServer(model=gemma_path(), chat_format="gemma", log=WORK / "gemma.log") as gemma:
        port = ModelServer().port
        reseller = start_gateway(gemma.url, port, "reseller", "--model-id", MODEL_ALIAS)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            enroll = [
                "audit",
                "enroll",
                "--endpoint",
                f"{honest}/v1",
                "--model-id",
                MODEL_ALIAS,
                "--probes",
                "12",
                "--repeats",
                "2",
                "--out",
                str(WORK / "smollm2-ref.json"),
            ]
            console.print(f"$ llmseal {' '.join(enroll)}")
            proc = subprocess.run([sys.executable, "-m", "llmseal", *enroll],
                                  capture_output=True, text=True)  # fmt: skip
            console.print(f"  reference {proc.stdout.strip()} (from the honest model, twice)")
            if proc.returncode != 0:
                console.print(proc.stderr, markup=False)
                return 1
            audit = ["audit", "run", "--endpoint", url, "--keys", f"{url}/receipts/keys",
                     "--model-id", MODEL_ALIAS, "--pack", str(WORK / "smollm2-ref.json"),
                     "--budget", "40", "--data-dir", str(WORK / "buyer"),
                     "--seed", "1"]  # fmt: skip
            console.print(f"$ llmseal {' '.join(audit)}")
            proc = subprocess.run([sys.executable, "-m", "llmseal", *audit],
                                  capture_output=True, text=True)  # fmt: skip
            console.print(proc.stdout.rstrip(), markup=False)
            console.print(f"  exit status {proc.returncode} (expected 1: DIFF)")
            return int(proc.returncode != 1)
        finally:
            stop(reseller)


if __name__ == "__main__":
    sys.exit(main())
