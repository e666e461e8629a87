// RFC 9162 proofs: every transparency-dev vector in tests/vectors/merkle, positive and negative.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { leafHash, verifyConsistency, verifyInclusion } from '../src/merkle.js';
import { inclusionPath, mth } from './reference.js';
import { VECTORS, filesUnder } from './support.js';

const b64 = (text) => new Uint8Array(Buffer.from(text ?? '', 'base64'));
const MERKLE = join(VECTORS, 'merkle');

for (const kind of ['inclusion', 'consistency']) {
  const files = filesUnder(join(MERKLE, kind), '.json');
  test(`${kind}: the whole vector set is present`, () => assert.ok(files.length > 40, String(files.length)));
  for (const file of files) {
    const c = JSON.parse(readFileSync(file, 'utf8'));
    test(`${kind} ${relative(MERKLE, file)}: ${c.wantErr ? 'refused' : 'verifies'}`, async () => {
      const proof = (c.proof ?? []).map(b64);
      const ok = kind === 'inclusion'
        ? await verifyInclusion(b64(c.leafHash), c.leafIdx, c.treeSize, proof, b64(c.root))
        : await verifyConsistency(c.size1, c.size2, b64(c.root1), b64(c.root2), proof);
      assert.equal(ok, !c.wantErr);
    });
  }
}

test('inclusion proofs of every leaf of trees of 1..20 leaves, and off-by-one indices fail', async () => {
  let checked = 0;
  for (let size = 1; size <= 20; size++) {
    const leaves = await Promise.all(Array.from({ length: size }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`))));
    const root = await mth(leaves);
    for (let i = 0; i < size; i++) {
      const proof = await inclusionPath(leaves, i);
      const leaf = leaves[i];
      assert.ok(await verifyInclusion(leaf, i, size, proof, root), `${i}/${size}`);
      if (size > 1) assert.ok(!(await verifyInclusion(leaf, (i + 1) % size, size, proof, root)));
      checked++;
    }
  }
  assert.equal(checked, 210);
});
