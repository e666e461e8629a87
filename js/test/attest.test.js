// The official Attested AI-Assisted Work v0.3 vectors (tests/vectors/attest-v0.3).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verify } from '../src/index.js';
import { readJson } from './support.js';

const vectors = readJson('attest-v0.3', 'vectors.json');

test('all four official cases are present', () => {
  assert.deepEqual(vectors.cases.map((c) => c.expected).sort(), ['revoked', 'tampered', 'unknown_key', 'valid']);
});

for (const { receipt, expected } of vectors.cases) {
  test(`${receipt.receipt_id} is ${expected} (bare key-set array)`, async () => {
    const result = await verify(receipt, { keys: vectors.keyset });
    assert.equal(result.status, expected, result.reasons.join('; '));
    assert.deepEqual(Object.keys(result).sort(), ['content_checked', 'log', 'reasons', 'receipt', 'status']);
    assert.equal(result.receipt.receipt_id, receipt.receipt_id);
  });

  test(`${receipt.receipt_id} is ${expected} (key-set object, JSON text input)`, async () => {
    const result = await verify(JSON.stringify(receipt, null, 2), { keys: JSON.stringify({ keys: vectors.keyset }) });
    assert.equal(result.status, expected);
  });
}

test('reasons say why, in the Python verifier\'s words', async () => {
  const [valid, tampered, unknown, revoked] = vectors.cases.map((c) => c.receipt);
  const keys = vectors.keyset;
  assert.deepEqual((await verify(valid, { keys })).reasons, []);
  assert.deepEqual((await verify(tampered, { keys })).reasons, ["signature does not verify with key 'gitjob-demo-2026q2'"]);
  assert.deepEqual((await verify(unknown, { keys })).reasons, ["key_id 'gitjob-demo-unregistered' is not in the key set"]);
  assert.deepEqual((await verify(revoked, { keys })).reasons, ["key 'gitjob-demo-2025q4' is revoked since 2025-11-01T00:00:00+00:00"]);
});

test('a receipt issued before the revocation is not revoked', async () => {
  const [valid] = vectors.cases.map((c) => c.receipt);
  const keys = vectors.keyset.map((k) => ({ ...k, status: 'revoked', rotated_at: '2026-04-12T14:32:01Z' }));
  assert.equal((await verify(valid, { keys })).status, 'valid');
  const atTheSecond = keys.map((k) => ({ ...k, rotated_at: '2026-04-12T14:32:00Z' }));
  assert.equal((await verify(valid, { keys: atTheSecond })).status, 'revoked');
  const halfASecondLater = keys.map((k) => ({ ...k, rotated_at: '2026-04-12T16:32:00.5+02:00' }));
  assert.equal((await verify(valid, { keys: halfASecondLater })).status, 'valid');
  const noTime = keys.map((k) => ({ ...k, rotated_at: null }));
  assert.equal((await verify(valid, { keys: noTime })).status, 'revoked');
});

test('a revoked key with a bad signature is revoked, and says both', async () => {
  const revoked = { ...vectors.cases[3].receipt, model_id: 'someone/else' };
  const result = await verify(revoked, { keys: vectors.keyset });
  assert.equal(result.status, 'revoked');
  assert.equal(result.reasons.length, 2);
  assert.match(result.reasons[1], /signature does not verify/);
});

test('every member is signed: changing any one of them is tampering', async () => {
  const valid = vectors.cases[0].receipt;
  for (const name of Object.keys(valid)) {
    if (name === 'signature' || name === 'key_id') continue;
    const changed = { ...valid, [name]: name.endsWith('_hash') ? 'f'.repeat(64) : name === 'nonce' ? 'AAAAAAAAAAAAAAAAAAAAAA' : name === 'issued_at' ? '2026-04-12T14:32:01Z' : `${valid[name]}x` };
    assert.equal((await verify(changed, { keys: vectors.keyset })).status, 'tampered', name);
  }
  const extra = { ...valid, usage: { total_tokens: 1 } };
  assert.equal((await verify(extra, { keys: vectors.keyset })).status, 'tampered');
});
