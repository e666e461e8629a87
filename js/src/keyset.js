// The issuer's key set (spec §5): {"keys": [...]} or the bare array of entries.
// Parsed as strictly as the Python verifier does: one bad entry makes the whole
// key set unusable, rather than silently dropping a key.
import { fromBase64 } from './bytes.js';
import { InputError } from './errors.js';
import { parseJson } from './json.js';
import { isObject } from './receipt.js';
import { parseLenient } from './time.js';

const RAW_LENGTH = { ed25519: 32, 'ecdsa-p256': 65 };

// Returns Map(key_id -> entry). Accepts JSON text, an object or an array.
export function parseKeySet(input) {
  let data = typeof input === 'string' ? parseKeySetText(input) : input;
  if (isObject(data)) {
    if (!Object.hasOwn(data, 'keys')) throw new InputError("a key set object must have a 'keys' member");
    data = data.keys;
  }
  if (!Array.isArray(data)) throw new InputError("a key set is an object with a 'keys' array, or an array");
  const entries = new Map();
  for (const item of data) {
    const entry = parseEntry(item);
    if (entries.has(entry.key_id)) throw new InputError(`key set lists key_id ${quote(entry.key_id)} twice`);
    entries.set(entry.key_id, entry);
  }
  return entries;
}

function parseKeySetText(text) {
  try {
    return parseJson(text);
  } catch (error) {
    throw new InputError(`key set is ${error.message}`);
  }
}

function parseEntry(item) {
  if (!isObject(item)) throw new InputError('each key-set entry must be a JSON object');
  const keyId = item.key_id;
  if (typeof keyId !== 'string' || !keyId) throw new InputError('key-set entry without a string key_id');
  const where = `key ${quote(keyId)}`;
  if (typeof item.public_key !== 'string') throw new InputError(`${where}: public_key must be a base64 string`);
  const algorithm = Object.hasOwn(item, 'algorithm') ? item.algorithm : 'ed25519';
  if (typeof algorithm !== 'string') throw new InputError(`${where}: algorithm must be a string`);
  if (!Object.hasOwn(RAW_LENGTH, algorithm)) throw new InputError(`${where}: unsupported key algorithm ${quote(algorithm)}`);
  const status = Object.hasOwn(item, 'status') ? item.status : 'active';
  if (status !== 'active' && status !== 'revoked') throw new InputError(`${where}: status must be 'active' or 'revoked'`);
  const raw = fromBase64(item.public_key);
  if (raw === null) throw new InputError(`${where}: public_key is not standard base64`);
  if (raw.length !== RAW_LENGTH[algorithm]) {
    throw new InputError(`${where}: ${algorithm} public key must be ${RAW_LENGTH[algorithm]} bytes`);
  }
  if (algorithm === 'ecdsa-p256' && raw[0] !== 4) throw new InputError(`${where}: invalid ecdsa-p256 public key (not an uncompressed point)`);
  return {
    key_id: keyId,
    algorithm,
    raw,
    status,
    created_at: optionalTime(item, 'created_at', where),
    rotated_at: optionalTime(item, 'rotated_at', where),
    entry: item,
  };
}

function optionalTime(item, name, where) {
  const value = item[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InputError(`${where}: ${name} must be an RFC 3339 string or null`);
  const us = parseLenient(value);
  if (us === null) throw new InputError(`${where}: not an RFC 3339 timestamp: ${JSON.stringify(value)}`);
  return us;
}

// Revoked for a receipt issued at `at` (µs): status "revoked" and at >= rotated_at;
// a revoked entry without rotated_at is revoked for every receipt (spec §4).
export function revokedAsOf(entry, at) {
  return entry.status === 'revoked' && (entry.rotated_at === null || at >= entry.rotated_at);
}

// Python-style quoting, so reasons read the same in both verifiers.
export function quote(text) {
  return text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replaceAll("'", "\\'")}'`;
}
