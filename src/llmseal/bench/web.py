"""The browser verifier in real Chromium (issue 15): verify time and page size.

* ours: ``verify()`` of the fixed ~2 KB sealed response (request, response and the
  receipt embedded, as the gateway delivers it) from the verify page, with its key
  set — parse, hash the response, canonicalize, WebCrypto Ed25519;
* raw: WebCrypto Ed25519 verify of the same receipt's signing bytes, same page,
  same run — the primitive the verifier cannot avoid.

The page's clock is coarse (Chromium rounds ``performance.now()`` for pages that
are not cross-origin isolated), so each sample is the mean of a batch of calls;
the figures are the median and 90th percentile over batches.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmseal.bench._beds.browser import chromium
from llmseal.bench._support.payload import REQUEST, RESPONSE
from llmseal.core.keys import Ed25519Signer
from llmseal.core.keyset import KeyEntry, KeySet
from llmseal.core.sign import sign_exchange
from llmseal.gateway.web.webpage import verify_page

__all__ = ["run"]

_MEASURE = """async ({text, keys, signing, batches, size}) => {
  const subtle = crypto.subtle;
  const entry = keys.keys[0];
  const raw = Uint8Array.from(atob(entry.public_key), (c) => c.charCodeAt(0));
  const key = await subtle.importKey('raw', raw, {name: 'Ed25519'}, false, ['verify']);
  const receipt = JSON.parse(text).receipt;
  const sig = Uint8Array.from(atob(receipt.signature), (c) => c.charCodeAt(0));
  const data = new TextEncoder().encode(signing);
  async function sample(fn) {
    const out = [];
    for (let b = 0; b < batches; b++) {
      const t0 = performance.now();
      for (let i = 0; i < size; i++) await fn();
      out.push((performance.now() - t0) / size);
    }
    return out.sort((x, y) => x - y);
  }
  const first = await llmseal.verify(text, {keys});
  if (first.status !== 'valid') throw new Error('not valid: ' + first.reasons.join('; '));
  const ok = await subtle.verify({name: 'Ed25519'}, key, sig, data);
  if (!ok) throw new Error('raw verify failed');
  const ours = await sample(() => llmseal.verify(text, {keys}));
  const bare = await sample(() => subtle.verify({name: 'Ed25519'}, key, sig, data));
  const pick = (xs, q) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  return {ours: [pick(ours, 0.5), pick(ours, 0.9)], raw: [pick(bare, 0.5), pick(bare, 0.9)],
          agent: navigator.userAgent};
}"""


def _sealed() -> tuple[str, dict[str, Any], str]:
    signer = Ed25519Signer.generate("bench-web")
    keys = KeySet([KeyEntry("bench-web", signer.public_key())]).to_dict()
    receipt = sign_exchange(
        signer, model_id="m", request=REQUEST, response=RESPONSE, at=datetime.now(UTC)
    )
    text = json.dumps({**RESPONSE, "receipt": receipt.to_dict()}, ensure_ascii=False)
    return text, keys, receipt.signing_bytes().decode("utf-8")


def run(*, quick: bool) -> dict[str, Any]:
    text, keys, signing = _sealed()
    page = verify_page()
    batches, size = (10, 10) if quick else (40, 25)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "verify.html"
        path.write_bytes(page.html)
        with chromium() as browser:
            tab = browser.new_page()
            tab.goto(path.as_uri())
            measured = tab.evaluate(
                _MEASURE,
                {"text": text, "keys": keys, "signing": signing, "batches": batches, "size": size},
            )
    ours, raw = measured["ours"], measured["raw"]
    return {
        "web": {
            "verify_sealed_response": {
                "response_bytes": len(text.encode()),
                "median_ms": round(ours[0], 4),
                "p90_ms": round(ours[1], 4),
                "raw_ed25519_median_ms": round(raw[0], 4),
                "vs_raw": round(ours[0] / raw[0], 2) if raw[0] else None,
                "batches_x_calls": f"{batches}x{size}",
            },
            "page_bytes": len(page.html),
            "page_gzip_bytes": len(gzip.compress(page.html, 9)),
            "browser": measured["agent"].split(" ")[-2],
        }
    }
