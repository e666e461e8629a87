// Transparency-log evidence: C2SP notes, vkeys, checkpoints and cosignatures on real
// peer artifacts (tests/vectors/tlog: a log Trillian Tessera wrote, a Sunlight
// witness cosignature, the C2SP signed-note example), and logged llmseal receipts
// with tlog-proofs and witness policies (tests/vectors/llmseal/logged.json).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { leafHash, verifyConsistency, verifyInclusion } from '../src/merkle.js';
import { consistencyPath, inclusionPath, mth } from './reference.js';
import { checkSignatures, keyId, loadVerifier, parseNote, parseVkey } from '../src/note.js';
import { parseCheckpoint, parsePolicy, parseProof, verify } from '../src/index.js';
import { VECTORS, readJson, readText } from './support.js';

const TESSERA_VKEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
const SUNLIGHT_WITNESS = 'witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN';
const tessera = (name) => readText('tlog', 'tessera-log', name);

async function openCheckpoint(text, vkey) {
  const note = parseNote(text);
  const good = await checkSignatures(note, [await loadVerifier(vkey)]);
  assert.equal(good.length, 1);
  return parseCheckpoint(note.text);
}

test('the C2SP signed-note example verifies, and an edited one does not', async () => {
  const note = readText('tlog', 'c2sp-signed-note', 'note');
  const vkey = readText('tlog', 'c2sp-signed-note', 'vkey');
  const verifier = await loadVerifier(vkey);
  assert.equal(verifier.keyId, 0x530d903a);
  assert.equal((await checkSignatures(parseNote(note), [verifier])).length, 1);
  await assert.rejects(checkSignatures(parseNote(note.replace('example', 'exemplary')), [verifier]), /does not verify/);
});

test('Tessera: every checkpoint 0..15 verifies and the entries rebuild the root', async () => {
  const bundle = new Uint8Array(readFileSync(join(VECTORS, 'tlog', 'tessera-log', 'tile', 'entries', '000.p', '15')));
  const entries = [];
  for (let at = 0; at < bundle.length;) {
    const n = (bundle[at] << 8) | bundle[at + 1];
    entries.push(bundle.slice(at + 2, at + 2 + n));
    at += 2 + n;
  }
  assert.equal(new TextDecoder().decode(entries[14]), 'fivten');
  const leaves = await Promise.all(entries.map(leafHash));
  const tile = new Uint8Array(readFileSync(join(VECTORS, 'tlog', 'tessera-log', 'tile', '0', '000.p', '15')));
  assert.deepEqual(Buffer.concat(leaves.map(Buffer.from)), Buffer.from(tile));
  const checkpoints = [];
  for (let size = 0; size <= 15; size++) {
    const cp = await openCheckpoint(tessera(`checkpoint.${size}`), TESSERA_VKEY);
    assert.equal(cp.size, size);
    assert.equal(cp.origin, 'example.com/log/testdata');
    if (size) assert.deepEqual(cp.root, await mth(leaves.slice(0, size)));
    checkpoints.push(cp);
  }
  // Inclusion of every entry in every tree that holds it; consistency of every pair.
  let proofs = 0;
  for (let size = 1; size <= 15; size++) {
    for (let i = 0; i < size; i++) {
      assert.ok(await verifyInclusion(leaves[i], i, size, await inclusionPath(leaves.slice(0, size), i), checkpoints[size].root));
      proofs++;
    }
    for (let old = 1; old < size; old++) {
      const proof = await consistencyPath(leaves.slice(0, size), old);
      assert.ok(await verifyConsistency(old, size, checkpoints[old].root, checkpoints[size].root, proof), `${old}->${size}`);
      assert.ok(!(await verifyConsistency(old, size, checkpoints[size].root, checkpoints[size].root, proof)));
      proofs++;
    }
  }
  assert.equal(proofs, 120 + 105);
});

test('Tessera: a checkpoint signed by a key we do not know, or edited, is refused', async () => {
  const cp = tessera('checkpoint');
  const other = parseVkey(TESSERA_VKEY);
  assert.deepEqual(await checkSignatures(parseNote(cp), [await loadVerifier(readText('tlog', 'c2sp-signed-note', 'vkey'))]), []);
  await assert.rejects(checkSignatures(parseNote(cp.replace('\n15\n', '\n16\n')), [await loadVerifier(other)]), /does not verify/);
});

test('Sunlight: the witness cosignature verifies with its time; the 0x05 log signature is ignored', async () => {
  const text = readText('tlog', 'sunlight-cosigned', 'checkpoint');
  const witness = await loadVerifier(SUNLIGHT_WITNESS);
  const good = await checkSignatures(parseNote(text), [witness]);
  assert.deepEqual(good.map((g) => [g.name, g.time]), [['witness.example.org', 1767139200]]);
  assert.equal(parseCheckpoint(parseNote(text).text).size, 300);
  await assert.rejects(checkSignatures(parseNote(text.replace('\n300\n', '\n301\n')), [witness]), /does not verify/);
});

test('vkeys and notes are parsed strictly', async () => {
  const vkey = parseVkey(TESSERA_VKEY);
  assert.equal(await keyId(vkey.name, vkey.type, vkey.publicKey), vkey.keyId);
  for (const bad of ['nope', 'a+123+AQ==', 'a+33D7B496+AeHT', 'a b+33d7b496+AQAA', `${TESSERA_VKEY.slice(0, -1)}!`]) {
    assert.throws(() => parseVkey(bad), undefined, bad);
  }
  await assert.rejects(loadVerifier(TESSERA_VKEY.replace('33d7b496', '33d7b497')), /key ID does not match/);
  const note = tessera('checkpoint');
  for (const bad of [note.trimEnd(), note.replace('\n\n', '\n'), note.replace('— ', '-- '), note.replace('=\n\n', '=\n\u0007\n\n'),
    note + '— x AAAAAA==\n', note.replace(/ (\S+)\n$/, ' $1=\n')]) {
    assert.throws(() => parseNote(bad));
  }
  assert.throws(() => parseCheckpoint('o\n01\nAAAA\n'), /decimal/);
  assert.throws(() => parseCheckpoint('o\n1\nAAAA\n'), /32 bytes/);
  assert.throws(() => parseCheckpoint('o\n99999999999999999999\n' + 'A'.repeat(43) + '=\n'), /decimal/);
});

test('tlog-proof text is parsed strictly', () => {
  const { proofs } = readJson('llmseal', 'logged.json');
  const good = parseProof(proofs.ok);
  assert.equal(good.index, 14);
  assert.equal(good.path.length, 4);
  for (const bad of [proofs.ok.replace('tlog-proof@v1', 'tlog-proof@v2'), proofs.ok.replace('index 14', 'index 014'),
    proofs.ok.replace('index 14\n', ''), proofs.ok.replace(/\n\n/, '\n'), proofs.ok.replace(/^(.{43})=$/m, '$1')]) {
    assert.throws(() => parseProof(bad));
  }
});

test('tlog-policy: logs, witnesses, groups and the quorum', () => {
  const p = parsePolicy('# a comment\nlog L+00000000+AQ==\n\twitness a A\nwitness b B  url\ngroup g 2 a b\ngroup h any g\nquorum h\n');
  assert.deepEqual(p.logs, ['L+00000000+AQ==']);
  assert.deepEqual(p.groups.get('g'), { k: 2, members: ['a', 'b'] });
  assert.equal(parsePolicy('quorum none').quorum, 'none');
  for (const bad of ['', 'quorum x', 'witness a A\nquorum a\nquorum a', 'witness a A\ngroup g 3 a\nquorum g',
    'group g all a\nquorum g', 'witness a A\nwitness a B\nquorum a', 'witness a A\ngroup g any a a\nquorum g', 'frobnicate\nquorum none',
    'witness a A\ngroup g 0 a\nquorum g', 'witness a A\ngroup g any none\nquorum g']) {
    assert.throws(() => parsePolicy(bad), undefined, bad);
  }
});

// ---- logged llmseal receipts ------------------------------------------------

const L = readJson('llmseal', 'logged.json');
const run = (name, options) => verify(L.receipts[name], { keys: L.keyset, output: JSON.stringify(L.response), ...options });

test('a logged receipt: its proof verifies under the log key, with its place in the tree', async () => {
  const response = { ...L.response, receipt: L.receipts.ok, receipt_evidence: { log: L.proofs.ok } };
  const result = await verify(JSON.stringify(response), { keys: L.keyset, logVkeys: [L.log_vkey] });
  assert.equal(result.status, 'valid');
  assert.deepEqual(result.content_checked, ['output']);
  assert.equal(result.log.verified, true, result.log.reasons.join('; '));
  assert.deepEqual([result.log.origin, result.log.index, result.log.tree_size], ['log.example.com/receipts', 14, 16]);
  assert.equal(result.log.quorum, null);
  assert.match(result.log.leaf_hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(result).sort(), ['content_checked', 'log', 'reasons', 'receipt', 'status']);
});

test('with the witness policy: quorum met, proven time, cosigners named', async () => {
  const result = await run('ok', { proof: L.proofs.ok, witnessPolicy: L.policy });
  assert.equal(result.status, 'valid');
  assert.equal(result.log.verified, true);
  assert.equal(result.log.quorum, true);
  assert.equal(result.log.proven_time, '2026-07-01T00:00:00Z');
  assert.deepEqual(result.log.cosignatures.map((c) => c.witness).sort(), ['w1', 'w2']);
});

test('backdating with a stolen, since-revoked key: revoked once the log proves when it existed', async () => {
  // Dated a month before the revocation, but first cosigned a month after it.
  const proven = await run('backdated', { proof: L.proofs.backdated, witnessPolicy: L.policy });
  assert.equal(proven.status, 'revoked');
  assert.match(proven.reasons[0], /revoked since 2026-06-01/);
  // Without the witnesses' word, only issued_at is known, and it predates the revocation.
  assert.equal((await run('backdated', {})).status, 'valid');
  assert.equal((await run('backdated', { proof: L.proofs.backdated, logVkeys: L.log_vkey })).status, 'valid');
  // A receipt proven before the revocation stays valid.
  const early = await run('early', { proof: L.proofs.early, witnessPolicy: L.policy });
  assert.equal(early.status, 'valid');
  assert.equal(early.log.proven_time, '2026-05-01T00:10:00Z');
});

test('a quorum not met proves no time: revocation falls back to issued_at', async () => {
  const result = await run('backdated', { proof: L.proofs['ok-one-witness'], witnessPolicy: L.policy });
  assert.equal(result.log.verified, false); // the proof is for another receipt
  const one = await run('ok', { proof: L.proofs['ok-one-witness'], witnessPolicy: L.policy });
  assert.equal(one.log.verified, true);
  assert.equal(one.log.quorum, false);
  assert.equal(one.log.proven_time, null);
  assert.match(one.log.reasons.join(), /not cosigned by the witness quorum/);
});

test('hostile and mismatched proofs never verify, and never change the receipt status', async () => {
  const flip = (text, at) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
  const pathAt = L.proofs.ok.indexOf('\n', L.proofs.ok.indexOf('index')) + 5;
  const witnessSig = L.proofs.ok.lastIndexOf('witness2.example.org') + 40;
  const cases = {
    'another receipt\'s proof': ['early', { proof: L.proofs.ok, logVkeys: L.log_vkey }, /does not lead/],
    'a path hash changed': ['ok', { proof: flip(L.proofs.ok, pathAt), logVkeys: L.log_vkey }, /does not lead|base64/],
    'a key of the same name we do not trust': ['ok', { proof: L.proofs.ok, logVkeys: L.other_log_vkey }, /not signed by the log/],
    'a log we were not told about': ['ok', { proof: L.proofs.ok, logVkeys: await newVkey('other.example/log') }, /which no given log key names/],
    'a witness cosignature changed': ['ok', { proof: flip(L.proofs.ok, witnessSig), witnessPolicy: L.policy }, /does not verify|base64/],
    'the tree size changed': ['ok', { proof: L.proofs.ok.replace('\n16\n', '\n17\n'), logVkeys: L.log_vkey }, /does not verify/],
    'an index past the tree': ['ok', { proof: L.proofs.ok.replace('index 14', 'index 16'), logVkeys: L.log_vkey }, /does not lead/],
    'no log key at all': ['ok', { proof: L.proofs.ok }, null],
    'a log key but no proof': ['ok', { logVkeys: L.log_vkey }, /no log proof/],
    'not a proof': ['ok', { proof: 'hello\n\nworld\n', logVkeys: L.log_vkey }, /not a tlog-proof/],
  };
  for (const [name, [receipt, options, pattern]] of Object.entries(cases)) {
    const result = await run(receipt, options);
    assert.equal(result.status, 'valid', name);
    if (pattern === null) {
      assert.match(result.log.reasons[0], /needs the log's verifier key/, name);
    } else {
      assert.equal(result.log.verified, false, name);
      assert.match(result.log.reasons.join('; '), pattern, name);
    }
  }
});

async function newVkey(name) {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const id = await keyId(name, 1, raw);
  return `${name}+${id.toString(16).padStart(8, '0')}+${Buffer.from([1, ...raw]).toString('base64')}`;
}
