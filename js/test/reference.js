// RFC 9162's definitions written out recursively (§2.1.1 MTH, §2.1.3.1 PATH,
// §2.1.4.1 SUBPROOF), over leaf hashes: proofs built independently of the verifier.
import { nodeHash } from '../src/merkle.js';

const split = (n) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

export async function mth(hashes) {
  if (hashes.length === 1) return hashes[0];
  const k = split(hashes.length);
  return nodeHash(await mth(hashes.slice(0, k)), await mth(hashes.slice(k)));
}

export async function inclusionPath(hashes, index) {
  if (hashes.length === 1) return [];
  const k = split(hashes.length);
  return index < k
    ? [...(await inclusionPath(hashes.slice(0, k), index)), await mth(hashes.slice(k))]
    : [...(await inclusionPath(hashes.slice(k), index - k)), await mth(hashes.slice(0, k))];
}

export async function consistencyPath(hashes, m, complete = true) {
  const n = hashes.length;
  if (m === n) return complete ? [] : [await mth(hashes)];
  const k = split(n);
  return m <= k
    ? [...(await consistencyPath(hashes.slice(0, k), m, complete)), await mth(hashes.slice(k))]
    : [...(await consistencyPath(hashes.slice(k), m - k, false)), await mth(hashes.slice(0, k))];
}
