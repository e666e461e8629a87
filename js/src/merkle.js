// RFC 9162 Merkle tree hashes and proof verification (§2.1.1, §2.1.3.2, §2.1.4.2).
// Tree sizes and indices are Numbers (exact below 2^53); halving is done with
// arithmetic because JavaScript's bit operators work on 32 bits.
import { concatBytes, sameBytes } from './bytes.js';
import { sha256 } from './crypto.js';

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

export function leafHash(entry) {
  return sha256(concatBytes(LEAF, entry));
}

export function nodeHash(left, right) {
  return sha256(concatBytes(NODE, left, right));
}

const odd = (n) => n % 2 === 1;
const half = (n) => Math.floor(n / 2);
const isHash = (h) => h instanceof Uint8Array && h.length === 32;
const isSize = (n) => Number.isSafeInteger(n) && n >= 0;

// True iff `proof` places `leaf` (a leaf hash) at `index` in the tree of `size` with `root`.
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  if (!isSize(index) || !isSize(size) || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && sameBytes(r, root);
}

// True iff the tree of `size1` with `root1` is a prefix of the tree of `size2`
// with `root2`. A proof from the empty tree proves nothing and is refused.
export async function verifyConsistency(size1, size2, root1, root2, proof) {
  if (!isSize(size1) || !isSize(size2) || size1 === 0 || size1 > size2 || !Array.isArray(proof)) return false;
  if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) return false;
  if (size1 === size2) return proof.length === 0 && sameBytes(root1, root2);
  if (!isHash(root1) || !isHash(root2) || !proof.every(isHash)) return false;
  // A first tree that is a power of two is itself a complete subtree of the second.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && sameBytes(fr, root1) && sameBytes(sr, root2);
}

function isPowerOfTwo(n) {
  while (n > 1 && !odd(n)) n = half(n);
  return n === 1;
}
