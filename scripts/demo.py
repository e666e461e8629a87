"""`make demo`: the receipt core end to end with the CLI (the gateway demo replaces this)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from llmseal.bench._payload import REQUEST, RESPONSE


def run(*args: str) -> subprocess.CompletedProcess[str]:
    print(f"$ llmseal {' '.join(args)}")
    proc = subprocess.run([sys.executable, "-m", "llmseal", *args], capture_output=True, text=True)
    print(proc.stdout + proc.stderr)
    return proc


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "request.json").write_text(json.dumps(REQUEST))
        (d / "response.json").write_text(json.dumps(RESPONSE))
        run("keys", "new", "demo-2026q4", "--dir", str(d / "keys"))
        receipt = run("sign", "--dir", str(d / "keys"), "--key-id", "demo-2026q4",
                      "--model-id", "demo/smollm2", "--prompt", str(d / "request.json"),
                      "--output", str(d / "response.json"))  # fmt: skip
        (d / "receipt.json").write_text(receipt.stdout)
        ok = run("verify", str(d / "receipt.json"), "--keys", str(d / "keys/keys.json"),
                 "--prompt", str(d / "request.json"), "--output", str(d / "response.json"))  # fmt: skip
        RESPONSE["choices"][0]["message"]["content"] = "It reflects the ocean."
        (d / "response.json").write_text(json.dumps(RESPONSE))
        bad = run("verify", str(d / "receipt.json"), "--keys", str(d / "keys/keys.json"),
                  "--output", str(d / "response.json"))  # fmt: skip
        if ok.returncode != 0 or bad.returncode != 1:
            sys.exit("demo failed")
        print("demo: the honest receipt verifies; the edited answer is caught.")


if __name__ == "__main__":
    main()
