// Evidence bundles the Python code built (tests/vectors/llmseal/bundles.json, written
// by tests/unit/js/bundle_vectors.py): verifyBundle must reach the Python verdict on
// each — ok or not, every receipt's status, and the same receipts named as failing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBundle, verifyBundle } from '../src/index.js';
import { readJson } from './support.js';

const data = readJson('llmseal', 'bundles.json');

function options(c) {
  return c.witnessed
    ? { keys: data.keys, witnessPolicy: data.witness_policy }
    : { keys: data.keys, logVkeys: [data.log_vkey] };
}

function failing(result) {
  const ids = new Set(result.items.filter((i) => !i.ok).map((i) => i.receipt_id));
  for (const l of result.links) if (l.failures.length) ids.add(l.child);
  return [...ids].sort();
}

for (const c of data.cases) {
  test(`${c.name}: ${c.error ? 'error' : c.ok ? 'ok' : 'fails'}`, async () => {
    const result = await verifyBundle(c.bundle, options(c));
    if (c.error) {
      assert.equal(result.ok, false);
      assert.ok(result.error, 'an unreadable bundle is an error');
      return;
    }
    assert.equal(result.error, null, result.error);
    assert.equal(result.ok, c.ok, result.failures.join('\n'));
    assert.deepEqual(Object.fromEntries(result.items.map((i) => [i.receipt_id, i.status])), c.statuses);
    assert.deepEqual(failing(result), c.failing);
    if (c.ok) assert.deepEqual(result.failures, []);
    else assert.ok(result.failures.length > 0);
  });
}

test('the cases include every kind of link and a disclosure', async () => {
  const relations = new Set();
  let disclosed = null;
  for (const c of data.cases.filter((x) => x.ok)) {
    const result = await verifyBundle(c.bundle, options(c));
    for (const l of result.links) relations.add(l.relation);
    disclosed ??= result.items.find((i) => i.disclosed)?.disclosed ?? null;
  }
  assert.deepEqual([...relations].sort(), ['input', 'previous', 'upstream']);
  assert.equal(disclosed, 'message(s) 1 of 3');
});

test('the undisclosed messages are not in the file', () => {
  const c = data.cases.find((x) => x.name === 'one message of three disclosed');
  assert.ok(!c.bundle.includes('margin floor') && c.bundle.includes('part 7731'));
});

test('without a pinned key set nothing is trusted', async () => {
  const c = data.cases[0];
  const result = await verifyBundle(c.bundle, {});
  assert.equal(result.ok, false);
  assert.match(result.error, /no key set/);
  const stranger = await verifyBundle(c.bundle, { keys: { keys: [] } });
  assert.equal(stranger.ok, false);
  assert.equal(stranger.items[0].status, 'unknown_key');
});

test('a carried audit report is not taken on trust', async () => {
  const c = data.cases[0];
  const bundle = JSON.parse(c.bundle);
  bundle.audits = [{ report_id: 'sha256:00', verdict: 'SAME' }];
  const result = await verifyBundle(JSON.stringify(bundle), options(c));
  assert.equal(result.ok, false);
  assert.match(result.failures.at(-1), /^audit report sha256:00: not re-checked/);
});

test('bytes, text and parsed objects read the same', async () => {
  const c = data.cases[0];
  const bytes = new TextEncoder().encode(c.bundle);
  assert.equal((await verifyBundle(bytes, options(c))).ok, true);
  assert.equal((await verifyBundle(JSON.parse(c.bundle), options(c))).ok, true);
  assert.throws(() => parseBundle('[]'), /a bundle is a JSON object/);
});

test('the command line verifies a bundle file: exit 0, 1 or 2', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'llmseal-bundle-'));
  writeFileSync(join(dir, 'keys.json'), JSON.stringify(data.keys));
  const bin = new URL('../bin/llmseal-verify.js', import.meta.url).pathname;
  const run = (c) => {
    writeFileSync(join(dir, 'b.json'), c.bundle);
    return spawnSync(process.execPath, [bin, '--bundle', join(dir, 'b.json'), '--keys', join(dir, 'keys.json'), '--log-vkey', data.log_vkey], { encoding: 'utf8' });
  };
  const good = run(data.cases.find((c) => c.ok && !c.witnessed));
  assert.equal(good.status, 0, good.stderr);
  assert.equal(JSON.parse(good.stdout).ok, true);
  assert.equal(run(data.cases.find((c) => c.ok === false && !c.witnessed)).status, 1);
  assert.equal(run(data.cases.find((c) => c.error)).status, 2);
});

test('hostile shapes anywhere in a bundle give a verdict, never a throw', async () => {
  const base = JSON.parse(data.cases.find((c) => c.name.startsWith('three hops: upstream')).bundle);
  const digest = base.items[1].receipt.parents[0].digest;
  const junk = [5, 'x', null, [], {}, [1], [null], [{}], [{ digest: 5 }], [{ relation: 'upstream', digest }],
    [{ relation: 'upstream', digest, transform: 5 }], [{ relation: 'upstream', digest, transform: { response: 'redact' } }],
    [{ relation: 'upstream', digest, transform: { response: { op: 'redact', paths: 'x' } } }],
    [{ relation: 'upstream', digest, transform: { response: { op: 'reserialize', preserves: ['no-slash', '/~2', '/0/9/x'] } } }],
    [{ relation: 'upstream', digest, transform: { response: { op: 'augment', added: ['', '/choices/0', '/choices/7'] } } }],
    [{ relation: 'input', digest }], [{ relation: 'previous', digest }], [{ relation: '__proto__', digest }],
    [{ signature: 'x', receipt_id: 'y' }]];
  const content = [(b, v) => { b.items[0].response = v; }, (b, v) => { b.items[1].request = v; }];
  const places = [
    (b, v) => { b.items[2].receipt.parents = v; },
    ...content,
    (b, v) => { b.items[0].disclosure = { messages: v }; },
    (b, v) => { b.items[0].evidence.log = typeof v === 'string' ? v : JSON.stringify(v); },
  ];
  let verdicts = 0;
  for (const place of places) {
    for (const value of junk) {
      const bundle = structuredClone(base);
      place(bundle, structuredClone(value));
      const result = await verifyBundle(JSON.stringify(bundle), options({ witnessed: false }));
      // Every change breaks a signature, a content hash, a proof or a disclosure;
      // null content is content left out: not checked, not a failure.
      const absent = value === null && content.includes(place);
      assert.equal(result.ok, absent, JSON.stringify(value));
      verdicts += 1;
    }
  }
  assert.equal(verdicts, places.length * junk.length);
});
