// Receipts llmseal's Python code signed (tests/vectors/llmseal/python-signed.json):
// sealed responses and streams from the gateway's sealing code, Ed25519 and P-256,
// extension claims, non-ASCII, and the ways each can be broken.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verify } from '../src/index.js';
import { readJson } from './support.js';

const { keyset, cases } = readJson('llmseal', 'python-signed.json');

test('the vector file covers every status, both algorithms and both stream kinds', () => {
  assert.deepEqual(new Set(cases.map((c) => c.expected)), new Set(['valid', 'tampered', 'unknown_key', 'revoked', 'error']));
  const names = cases.map((c) => c.name).join('\n');
  for (const word of ['P-256', 'OpenAI stream', 'Anthropic stream', 'non-ASCII', 'extension claims']) assert.match(names, new RegExp(word));
});

for (const c of cases) {
  test(`${c.name}: ${c.expected}`, async () => {
    const result = await verify(c.input, { keys: keyset, ...c.options });
    assert.equal(result.status, c.expected, result.reasons.join('; '));
    assert.deepEqual(result.content_checked, c.content_checked);
    if (c.expected === 'valid') assert.deepEqual(result.reasons, []);
    else assert.ok(result.reasons.length > 0);
  });
}

test('parsed input verifies like text input', async () => {
  for (const c of cases.filter((x) => typeof x.input === 'string' && x.input.startsWith('{') && x.expected !== 'error')) {
    const result = await verify(JSON.parse(c.input), { keys: keyset, ...c.options });
    assert.equal(result.status, c.expected, c.name);
  }
});

test('a stream verifies as a receipt plus its chunk array', async () => {
  const { readStream } = await import('../src/index.js');
  const stream = cases.find((c) => c.name.startsWith('OpenAI stream (SSE)'));
  const { chunks, receipt } = readStream(stream.input);
  const good = await verify(receipt.receipt, { keys: keyset, output: JSON.stringify(chunks) });
  assert.equal(good.status, 'valid');
  assert.deepEqual(good.content_checked, ['output']);
  const bad = await verify(receipt.receipt, { keys: keyset, output: JSON.stringify(chunks.slice(1)) });
  assert.equal(bad.status, 'tampered');
});
