// What verify() accepts, and the one-line errors for what it cannot use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKeySet, readStream, verify } from '../src/index.js';
import { readJson } from './support.js';

const vectors = readJson('attest-v0.3', 'vectors.json');
const { keyset, cases } = readJson('llmseal', 'python-signed.json');
const valid = vectors.cases[0].receipt;
const keys = vectors.keyset;
const sealed = JSON.parse(cases.find((c) => c.name.startsWith('sealed response, Ed25519')).input);

async function error(input, options, pattern) {
  const result = await verify(input, options);
  assert.equal(result.status, 'error', JSON.stringify(result));
  assert.equal(result.reasons.length, 1);
  assert.match(result.reasons[0], pattern);
  return result;
}

test('input as bytes (a dropped file) verifies; invalid UTF-8 is an error', async () => {
  const bytes = new TextEncoder().encode(JSON.stringify(valid));
  assert.equal((await verify(bytes, { keys })).status, 'valid');
  assert.equal((await verify(bytes.buffer, { keys })).status, 'valid');
  await error(Uint8Array.of(0x7b, 0xff, 0x7d), { keys }, /UTF-8/);
});

test('an evidence record (llmseal evidence show) verifies its receipt, with no content', async () => {
  const record = { receipt_id: valid.receipt_id, status: 'valid', issuer: '', key_id: valid.key_id, model_id: valid.model_id, issued_at: valid.issued_at,
    verified_at: '2026-04-12T14:33:00Z', nonce: valid.nonce, prompt_hash: valid.prompt_hash, output_hash: valid.output_hash, endpoint: '/v1/chat/completions',
    reasons: [], receipt: valid, sampled: false, sample_dir: null };
  const result = await verify(record, { keys });
  assert.equal(result.status, 'valid');
  assert.deepEqual(result.content_checked, []);
});

test('explicit output wins over the content embedded in a sealed response', async () => {
  const withOwn = await verify(sealed, { keys: keyset, output: JSON.stringify({ other: true }) });
  assert.equal(withOwn.status, 'tampered');
  const stripped = Object.fromEntries(Object.entries(sealed).filter(([k]) => k !== 'receipt'));
  assert.equal((await verify(sealed.receipt, { keys: keyset, output: stripped })).status, 'valid');
});

test('raw hashing hashes the bytes as they are', async () => {
  const text = '{"a": 1}';
  const { sha256Hex } = await import('../src/crypto.js');
  const r = { ...valid, output_hash: await sha256Hex(text) };
  const result = await verify(r, { keys, output: text, raw: true });
  assert.deepEqual(result.content_checked, ['output']);
  assert.ok(!result.reasons.some((x) => x.includes('output')));
});

test('unusable input: one readable line, status error', async () => {
  await error('', { keys }, /not valid JSON/);
  await error('{"a":', { keys }, /not valid JSON/);
  await error('[1,2]', { keys }, /holds no receipt/);
  await error('{"choices": []}', { keys }, /holds no receipt/);
  await error(valid, {}, /no key set/);
  await error(valid, { keys: '{"keys": 3}' }, /'keys' array/);
  await error(valid, { keys: 'nope' }, /key set is not valid JSON/);
  await error({ ...valid, prompt_hash: valid.prompt_hash.toUpperCase() }, { keys }, /prompt_hash/);
  await error({ ...valid, issued_at: '2026-02-30T00:00:00Z' }, { keys }, /issued_at/);
  await error({ ...valid, issued_at: '2026-04-12T24:00:00Z' }, { keys }, /issued_at/);
  await error({ ...valid, model_id: 'a\u0000b' }, { keys }, /model_id/);
  await error({ ...valid, model_id: 'é'.repeat(1025) }, { keys }, /model_id/);
  await error({ ...valid, key_id: 7 }, { keys }, /key_id/);
  await error({ ...valid, weight_hash: null }, { keys }, /weight_hash/);
  await error(valid, { keys, prompt: '{"n": 1e999}' }, /overflows/);
  await error('data: {"a":1}\n\ndata: [DONE]\n\n', { keys }, /no receipt/);
  await error('data: {not json}\n\n', { keys }, /non-JSON event/);
  const res = await error(valid, { keys, output: '{"x": 12345678901234567890}' }, /beyond/);
  assert.equal(res.receipt.receipt_id, valid.receipt_id);
});

test('a 1024-character identifier is fine; control characters anywhere are not', async () => {
  const long = { ...valid, receipt_id: '世'.repeat(1024) };
  assert.equal((await verify(long, { keys })).status, 'tampered');
  await error({ ...valid, receipt_id: 'x\u007f' }, { keys }, /receipt_id/);
});

test('key sets are parsed strictly, like the Python verifier', () => {
  const ok = parseKeySet({ keys: [{ key_id: 'a', public_key: 'A'.repeat(43) + '=' }] });
  assert.equal(ok.get('a').status, 'active');
  assert.equal(ok.get('a').algorithm, 'ed25519');
  for (const [bad, pattern] of [
    [[{ key_id: 'a', public_key: 'A'.repeat(43) + '=' }, { key_id: 'a', public_key: 'A'.repeat(43) + '=' }], /twice/],
    [[{ key_id: '', public_key: 'x' }], /key_id/],
    [[{ key_id: 'a', public_key: 'A'.repeat(44) }], /32 bytes/],
    [[{ key_id: 'a', public_key: 'A'.repeat(43) }], /base64/],
    [[{ key_id: 'a', public_key: 'A'.repeat(43) + '=', algorithm: 'rsa' }], /unsupported/],
    [[{ key_id: 'a', public_key: 'A'.repeat(43) + '=', status: 'expired' }], /status/],
    [[{ key_id: 'a', public_key: 'A'.repeat(43) + '=', rotated_at: 'yesterday' }], /RFC 3339/],
    [[{ key_id: 'a', public_key: 'A'.repeat(43) + '=', created_at: 5 }], /created_at/],
    [[5], /JSON object/],
  ]) assert.throws(() => parseKeySet(bad), pattern);
});

test('an ECDSA key that is not on the curve makes the key set unusable', async () => {
  const p256 = readJson('llmseal', 'python-signed.json').cases.find((c) => c.name === 'bare receipt, ECDSA P-256');
  const broken = { keys: keyset.keys.map((k) => (k.key_id === 'py-p256' ? { ...k, public_key: `BA${'A'.repeat(85)}=` } : k)) };
  await error(p256.input, { keys: broken }, /invalid ecdsa-p256 public key/);
});

test('hostile input fails fast and in one line', async () => {
  const deep = '['.repeat(200000) + ']'.repeat(200000);
  await error(deep, { keys }, /nested deeper/);
  await error(valid, { keys, output: deep }, /nested deeper/);
  const big = JSON.stringify({ receipt: valid, junk: 'x'.repeat(8 << 20) });
  assert.equal((await verify(big, { keys })).status, 'tampered');
});
