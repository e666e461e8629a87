#!/usr/bin/env node
// Test tool (not part of the library): sign receipts in JavaScript with WebCrypto
// and print {keyset, cases} so the Python verifier can check them
// (tests/unit/js/test_js_signed.py). Each case: {name, receipt, prompt, output, expected}.
import { toBase64, utf8 } from '../src/bytes.js';
import { canonicalize, hashJson, hashResponse, parseJson, signingText } from '../src/index.js';

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const subtle = globalThis.crypto.subtle;

async function newKey(keyId, algorithm, extra = {}) {
  const params = algorithm === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
  const pair = await subtle.generateKey(params, true, ['sign', 'verify']);
  const raw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  const entry = { key_id: keyId, public_key: toBase64(raw), status: 'active', created_at: '2025-09-01T00:00:00Z', rotated_at: null, ...extra };
  if (algorithm !== 'ed25519') entry.algorithm = algorithm;
  return { keyId, algorithm, privateKey: pair.privateKey, entry };
}

async function sign(key, data) {
  if (key.algorithm === 'ed25519') return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key.privateKey, data));
  const sig = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, data));
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig[i]);
  if (s > P256_ORDER >> 1n) s = P256_ORDER - s; // llmseal accepts only the low-s form
  for (let i = 63; i >= 32; i--, s >>= 8n) sig[i] = Number(s & 0xffn);
  return sig;
}

async function receipt(key, { prompt, output, issuedAt = new Date(), claims = {} }) {
  const body = {
    receipt_id: crypto.randomUUID(),
    model_id: 'js/model-ü',
    prompt_hash: await hashJson(parseJson(prompt)),
    output_hash: await hashResponse(parseJson(output)),
    issued_at: `${issuedAt.toISOString().slice(0, 19)}Z`,
    nonce: toBase64(crypto.getRandomValues(new Uint8Array(16)), { url: true }),
    key_id: key.keyId,
    ...claims,
  };
  body.signature = toBase64(await sign(key, utf8(signingText(body))));
  return body;
}

const prompt = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Grüße, 世界 🚀 <b>hi</b>' }], stream: false });
const output = JSON.stringify({ id: 'x', choices: [{ index: 0, message: { role: 'assistant', content: 'Hallo — 你好 <script>1</script>' } }], usage: { total_tokens: 12 }, n: [1e-7, 1e21, 0.1] });
const chunks = JSON.stringify([{ choices: [{ index: 0, delta: { content: 'Grü' } }] }, { choices: [{ index: 0, delta: { content: 'ße 🚀' } }] }]);
const claims = parseJson('{"issuer":"js.example","usage":{"total_tokens":12},"__proto__":{"x":1},"ünï":"値","weight_hash":"' + 'cd'.repeat(32) + '"}');

const ed = await newKey('js-ed25519', 'ed25519');
const p256 = await newKey('js-p256', 'ecdsa-p256');
const old = await newKey('js-2025', 'ed25519', { status: 'revoked', rotated_at: '2026-01-01T00:00:00Z' });
const cases = [];
const add = (name, r, expected, content = { prompt, output }) => cases.push({ name, receipt: r, ...content, expected });

add('Ed25519 with extension claims, weight_hash, non-ASCII', await receipt(ed, { prompt, output, claims }), 'valid');
add('ECDSA P-256 (low-s)', await receipt(p256, { prompt, output, claims }), 'valid');
add('stream output (chunk array)', await receipt(ed, { prompt, output: chunks }), 'valid', { prompt, output: chunks });
const changed = await receipt(ed, { prompt, output });
add('output changed after signing', changed, 'tampered', { prompt, output: output.replace('Hallo', 'Hello') });
add('claim changed after signing', { ...(await receipt(p256, { prompt, output, claims })), issuer: 'evil.example' }, 'tampered');
add('signed a second before the revocation', await receipt(old, { prompt, output, issuedAt: new Date('2025-12-31T23:59:59Z') }), 'valid');
add('signed at the revocation', await receipt(old, { prompt, output, issuedAt: new Date('2026-01-01T00:00:00Z') }), 'revoked');
add('unknown key', { ...(await receipt(ed, { prompt, output })), key_id: 'js-unlisted' }, 'unknown_key');

process.stdout.write(canonicalize({ keyset: { keys: [ed.entry, p256.entry, old.entry] }, cases }) + '\n');
