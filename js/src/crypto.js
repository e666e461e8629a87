// SHA-256, Ed25519 and ECDSA P-256 through WebCrypto (the same code in Chromium and Node).
import { fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { InputError } from './errors.js';

// The P-256 group order. (r, s) and (r, n − s) both verify; llmseal signers emit
// and its verifiers accept only the low-s form, so a signature has one spelling.
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_ORDER = P256_ORDER >> 1n;
const SIGNATURE_LENGTH = 64;
const keyCache = new Map();
const KEY_CACHE_SIZE = 64;

function subtle() {
  const api = globalThis.crypto && globalThis.crypto.subtle;
  if (!api) throw new Error('WebCrypto is not available here (browsers offer it only on https:// pages, localhost and files)');
  return api;
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

export async function sha256Hex(text) {
  return toHex(await sha256(typeof text === 'string' ? utf8(text) : text));
}

// The receipt signature in its one accepted spelling (spec §2): 88 characters of
// padded standard base64, or 86 of unpadded base64url; 64 bytes; null otherwise.
export function decodeSignature(text) {
  let raw = null;
  let again = null;
  if (typeof text === 'string' && text.length === 88) {
    raw = fromBase64(text);
    again = raw && toBase64(raw);
  } else if (typeof text === 'string' && text.length === 86 && !text.includes('=')) {
    raw = fromBase64(text, { url: true });
    again = raw && toBase64(raw, { url: true });
  }
  if (raw === null || raw.length !== SIGNATURE_LENGTH || again !== text) return null;
  return raw;
}

// CryptoKey for an entry of a parsed key set (cached by algorithm and key bytes).
export async function importKey(algorithm, raw) {
  const id = `${algorithm}:${toBase64(raw)}`;
  let key = keyCache.get(id);
  if (!key) {
    const params = algorithm === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
    key = subtle().importKey('raw', raw, params, false, ['verify']);
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value);
    keyCache.set(id, key);
    key.catch(() => keyCache.delete(id));
  }
  return key;
}

// True iff `signature` (64 bytes) is valid for `data` under the entry's key.
export async function verifySignature(entry, signature, data) {
  if (signature.length !== SIGNATURE_LENGTH) return false;
  let key;
  try {
    key = await importKey(entry.algorithm, entry.raw);
  } catch {
    // Bytes of the right length that are not a point on the curve: the key set
    // is unusable (the Python verifier refuses it as a whole, too).
    throw new InputError(`key '${entry.key_id}': invalid ${entry.algorithm} public key`);
  }
  if (entry.algorithm === 'ed25519') {
    return subtle().verify({ name: 'Ed25519' }, key, signature, data);
  }
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(signature[i]);
  if (s > HALF_ORDER) return false; // the high-s twin of a valid signature
  return subtle().verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, data);
}
