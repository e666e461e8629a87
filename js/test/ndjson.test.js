// Sealed NDJSON streams (Ollama's native API) from the Python gateway's sealing code
// (tests/vectors/llmseal/ndjson.json, written by tests/unit/js/ndjson_vectors.py):
// verify() reads them as saved streams and reaches the Python status on each.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readNdjson, verify } from '../src/index.js';
import { readJson } from './support.js';

const { keyset, cases } = readJson('llmseal', 'ndjson.json');

for (const c of cases) {
  test(`${c.name}: ${c.expected}`, async () => {
    const result = await verify(c.input, { keys: keyset, ...c.options });
    assert.equal(result.status, c.expected, result.reasons.join('; '));
    assert.deepEqual(result.content_checked, c.content_checked);
    if (c.expected === 'valid') assert.deepEqual(result.reasons, []);
  });
}

test('the receipt line is not hashed, every other line is, in order', async () => {
  const sealed = cases[0].input;
  const { chunks, receipt } = readNdjson(sealed);
  assert.equal(chunks.length, receipt.receipt.stream.chunks);
  assert.equal(chunks.at(-1).done, true);
  const good = await verify(receipt.receipt, { keys: keyset, output: JSON.stringify(chunks) });
  assert.equal(good.status, 'valid');
  const swapped = [chunks[1], chunks[0], ...chunks.slice(2)];
  const bad = await verify(receipt.receipt, { keys: keyset, output: JSON.stringify(swapped) });
  assert.equal(bad.status, 'tampered');
});

test('bytes of a saved stream verify like its text', async () => {
  const result = await verify(new TextEncoder().encode(cases[0].input), { keys: keyset });
  assert.equal(result.status, 'valid');
});
