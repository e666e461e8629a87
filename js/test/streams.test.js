// Sealed streams (docs/spec/stream.md): framing 2 (the receipt comment), framing 1
// (round-1 streams captured from a real gateway, tests/vectors/streams/framing-1),
// and the streams no gateway could have sealed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readStream, verify } from '../src/index.js';
import { readJson, readText } from './support.js';

const { keyset, cases } = readJson('llmseal', 'python-signed.json');
const framing2 = cases.find((c) => c.name === 'OpenAI stream (SSE), Ed25519').input;
const comment = framing2.split('\n\n').find((block) => block.startsWith(': llmseal-receipt 2 '));

for (const name of ['chat', 'completions', 'messages']) {
  test(`framing 1 (round 1): ${name}.sse verifies with its request, and an edit is found`, async () => {
    const sse = readText('streams', 'framing-1', `${name}.sse`);
    const options = { keys: readText('streams', 'framing-1', `${name}.keys.json`), prompt: readText('streams', 'framing-1', `${name}.request.json`) };
    const good = await verify(sse, options);
    assert.equal(good.status, 'valid', good.reasons.join('; '));
    assert.deepEqual(good.content_checked, ['prompt', 'output']);
    const edited = sse.replace(/"(text|content)": "([^"]+)"/, '"$1": "$2!"');
    assert.notEqual(edited, sse);
    assert.equal((await verify(edited, options)).status, 'tampered');
  });
}

test('framing 2: the receipt is a comment, every data event is content', () => {
  assert.ok(comment, 'the generated stream carries a receipt comment');
  const { chunks, receipt } = readStream(framing2);
  assert.equal(receipt.framing, 2);
  assert.equal(chunks.length, 4);
  assert.ok(chunks.every((c) => !('receipt' in c)));
});

test('framing 2: CRLF and CR line ends, no space after the colon, a file cut after its last line', async () => {
  const crlf = framing2.replaceAll('\n', '\r\n');
  assert.equal((await verify(crlf, { keys: keyset })).status, 'valid');
  assert.equal((await verify(framing2.replaceAll('\n', '\r'), { keys: keyset })).status, 'valid');
  assert.equal((await verify(framing2.replace(': llmseal-receipt 2', ':llmseal-receipt 2'), { keys: keyset })).status, 'valid');
  assert.equal((await verify(framing2.trimEnd(), { keys: keyset })).status, 'valid');
});

test('an event shaped like a receipt chunk, but with content, is content', async () => {
  const legacyLike = readText('streams', 'framing-1', 'chat.sse').replace('"choices":[]', '"choices":[{"index":0,"delta":{"content":"x"}}]');
  const { receipt } = readStream(legacyLike);
  assert.equal(receipt, null);
  const result = await verify(legacyLike, { keys: readText('streams', 'framing-1', 'chat.keys.json') });
  assert.equal(result.status, 'error');
  assert.match(result.reasons[0], /no receipt/);
});

test('streams no gateway could have sealed are refused, in one line', async () => {
  const blocks = framing2.split('\n\n');
  const at = blocks.indexOf(comment);
  const bad = {
    'two receipts': [...blocks.slice(0, at), comment, comment, ...blocks.slice(at + 1)],
    'data after the receipt': [...blocks.slice(0, at + 1), 'data: {"late": 1}', ...blocks.slice(at + 1)],
    'data after [DONE]': [...blocks, 'data: {"late": 1}', ''],
    'a receipt comment sharing its event': [...blocks.slice(0, at), `${comment}\ndata: {"x": 1}`, ...blocks.slice(at + 1)],
    'an unknown framing version': [...blocks.slice(0, at), comment.replace('receipt 2 ', 'receipt 3 '), ...blocks.slice(at + 1)],
    'a receipt comment that is not JSON': [...blocks.slice(0, at), ': llmseal-receipt 2 {"receipt":', ...blocks.slice(at + 1)],
  };
  const patterns = [/more than one receipt/, /after its receipt/, /after data: \[DONE\]/, /event of its own/, /framing 3 is not supported/, /not valid JSON/];
  for (const [i, [name, parts]] of Object.entries(bad).entries()) {
    const result = await verify(parts.join('\n\n'), { keys: keyset });
    assert.equal(result.status, 'error', name);
    assert.match(result.reasons[0], patterns[i], name);
  }
});

test('a comment that only mentions the tag is an ordinary comment', () => {
  const text = ': not an llmseal-receipt here\n\n' + framing2;
  assert.equal(readStream(text).receipt.framing, 2);
});
