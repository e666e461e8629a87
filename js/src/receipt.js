// The receipt object (spec §1) and the bytes its signature covers (§2).
import { InputError } from './errors.js';
import { canonicalize } from './jcs.js';
import { parseStrict } from './time.js';

export const CORE_MEMBERS = ['receipt_id', 'model_id', 'prompt_hash', 'output_hash', 'issued_at', 'nonce', 'key_id', 'signature'];
const HEX64 = /^[0-9a-f]{64}$/;
// base64url of exactly 16 bytes, unpadded: the last of 22 characters carries two
// data bits and four zero bits, so only A, Q, g and w are canonical there.
const NONCE = /^[A-Za-z0-9_-]{21}[AQgw]$/;
const CONTROL = /[\x00-\x1f\x7f]/;
const MAX_ID = 1024;

export function looksLikeReceipt(value) {
  return isObject(value) && typeof value.signature === 'string' && Object.hasOwn(value, 'key_id') && Object.hasOwn(value, 'receipt_id');
}

// Validate strictly; throws InputError naming the first problem ("not a receipt").
export function checkReceipt(value) {
  if (!isObject(value)) throw new InputError('a receipt must be a JSON object');
  for (const name of CORE_MEMBERS) {
    if (!Object.hasOwn(value, name)) throw new InputError(`receipt member '${name}' is missing`);
    if (typeof value[name] !== 'string') throw new InputError(`receipt member '${name}' must be a string`);
  }
  for (const name of ['receipt_id', 'model_id', 'key_id']) {
    const text = value[name];
    const length = [...text].length; // code points, as the spec counts characters
    if (!length || length > MAX_ID || CONTROL.test(text)) {
      throw new InputError(`receipt member '${name}' must be 1-${MAX_ID} characters without control characters`);
    }
  }
  const hashes = ['prompt_hash', 'output_hash'];
  if (Object.hasOwn(value, 'weight_hash')) {
    if (typeof value.weight_hash !== 'string') throw new InputError("receipt member 'weight_hash' must be a string");
    hashes.push('weight_hash');
  }
  for (const name of hashes) {
    if (!HEX64.test(value[name])) throw new InputError(`receipt member '${name}' must be 64 lowercase hex digits`);
  }
  if (!NONCE.test(value.nonce)) throw new InputError("receipt member 'nonce' must be base64url of 16 bytes");
  if (parseStrict(value.issued_at) === null) {
    throw new InputError(`receipt member 'issued_at': not an RFC 3339 UTC timestamp with second precision: ${JSON.stringify(value.issued_at)}`);
  }
  return value;
}

// UTF-8 of JCS(receipt without "signature"): what the signature covers.
export function signingText(receipt) {
  const unsigned = Object.create(null); // so a "__proto__" claim stays a member
  for (const key of Object.keys(receipt)) if (key !== 'signature') unsigned[key] = receipt[key];
  return canonicalize(unsigned);
}

export function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
