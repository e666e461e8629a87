// verify(input, options): one status in the v0.3 precedence, plus every finding.
//
// Spec §4, first match wins: unknown_key > revoked (as of issuance) > tampered
// (bad signature, or supplied content that hashes differently) > valid. Every
// check still runs once the status is decided, so `reasons` lists all that is
// wrong. Input the verifier cannot use is the status "error", never a throw.
import { fromUtf8, sameText, utf8 } from './bytes.js';
import { decodeSignature, sha256Hex, verifySignature } from './crypto.js';
import { hashJson, hashResponse, isEventStream, isNdjson, readNdjson, readStream } from './content.js';
import { InputError } from './errors.js';
import { parseJson } from './json.js';
import { quote, parseKeySet, revokedAsOf } from './keyset.js';
import { checkReceipt, isObject, looksLikeReceipt, signingText } from './receipt.js';
import { parseStrict } from './time.js';
import { verifyLogEvidence } from './tlog.js';

export async function verify(input, options = {}) {
  let receipt = null;
  try {
    const found = locate(input);
    receipt = found.receipt;
    return await check(found, options);
  } catch (error) {
    const message = error instanceof InputError ? error.message : `cannot verify: ${error.message}`;
    return { status: 'error', reasons: [message], receipt, content_checked: [], log: null };
  }
}

// What the input holds: the receipt, the content it came with, its evidence.
export function locate(input) {
  let value = input;
  if (value instanceof ArrayBuffer) value = new Uint8Array(value);
  if (value instanceof Uint8Array) value = fromUtf8(value);
  if (typeof value === 'string') {
    if (isEventStream(value)) return fromStream(readStream(value));
    try {
      value = parseJson(value);
    } catch (error) {
      // Not one JSON document: maybe a saved NDJSON stream (Ollama's native API).
      if (error instanceof InputError && isNdjson(value)) return fromStream(readNdjson(value));
      throw error;
    }
  }
  if (looksLikeReceipt(value)) return { receipt: value, output: undefined, evidence: null, kind: 'receipt' };
  if (isObject(value) && isObject(value.receipt)) {
    if (isEvidenceRecord(value)) {
      return { receipt: value.receipt, output: undefined, evidence: value.receipt_evidence ?? null, kind: 'evidence' };
    }
    return { receipt: value.receipt, output: value, evidence: value.receipt_evidence ?? null, kind: 'response' };
  }
  throw new InputError('the input holds no receipt (expected a sealed response, a stream, a receipt or an evidence record)');
}

function fromStream({ chunks, receipt }) {
  if (receipt === null) throw new InputError('the stream carries no receipt');
  return { receipt: receipt.receipt, output: chunks, evidence: receipt.evidence, kind: 'stream' };
}

// `llmseal evidence show` prints what the client recorded: the receipt, no content.
function isEvidenceRecord(value) {
  return ['verified_at', 'endpoint', 'prompt_hash', 'output_hash'].every((name) => Object.hasOwn(value, name));
}

async function check(found, options) {
  const receipt = checkReceipt(found.receipt);
  if (options.keys == null) throw new InputError('no key set given');
  const keys = parseKeySet(options.keys);
  const entry = keys.get(receipt.key_id);
  // The signature, the content hashes and the log proof are independent: run them
  // together (each WebCrypto call is a trip to another thread in a browser).
  const signature = entry ? signatureCheck(receipt, entry) : null;
  const raw = options.raw === true;
  const output = options.output == null ? found.output : options.output;
  const [promptHash, outputHash, logged] = await Promise.all([
    options.prompt == null ? null : contentHash(options.prompt, false, raw),
    output === undefined ? null : contentHash(output, true, raw && options.output != null),
    verifyLogEvidence(receipt, found.evidence, options),
  ]);
  const { result: log, provenMicros } = logged;
  if (!entry) {
    return result('unknown_key', [`key_id ${quote(receipt.key_id)} is not in the key set`], receipt, [], log);
  }
  const reasons = [];
  const issued = parseStrict(receipt.issued_at);
  // Revocation is judged at the time a witness quorum proved the receipt existed,
  // when there is one (never earlier than issued_at); else at issued_at.
  const at = provenMicros === null ? issued : Math.max(provenMicros, issued);
  const revoked = revokedAsOf(entry, at);
  if (revoked) reasons.push(`key ${quote(entry.key_id)} is revoked since ${entry.rotated_at === null ? 'an unknown time' : isoformat(entry.rotated_at)}`);
  const signed = await signature;
  if (signed.error) throw signed.error;
  if (signed.reason) reasons.push(signed.reason);
  let tampered = !signed.ok;
  const checked = [];
  for (const [name, expected] of [['prompt', promptHash], ['output', outputHash]]) {
    if (expected === null) continue;
    checked.push(name);
    if (!sameText(expected, receipt[`${name}_hash`])) {
      tampered = true;
      reasons.push(`the supplied ${name} does not match ${name}_hash`);
    }
  }
  if (entry.created_at !== null && issued < entry.created_at) reasons.push('issued_at is before the key was created');
  const status = revoked ? 'revoked' : tampered ? 'tampered' : 'valid';
  return result(status, reasons, receipt, checked, log);
}

function result(status, reasons, receipt, contentChecked, log) {
  return { status, reasons, receipt, content_checked: contentChecked, log };
}

// {ok, reason} for the signature; {error} if the key itself is unusable. Never
// rejects, so it can run while the content is hashed.
async function signatureCheck(receipt, entry) {
  try {
    const signature = decodeSignature(receipt.signature);
    if (signature === null) return { ok: false, reason: 'signature is not a canonical base64 encoding of 64 bytes' };
    if (await verifySignature(entry, signature, utf8(signingText(receipt)))) return { ok: true };
    return { ok: false, reason: `signature does not verify with key ${quote(entry.key_id)}` };
  } catch (error) {
    return { ok: false, error };
  }
}

// Hash content the way the issuer did: JSON text is parsed and canonicalized
// (formatting and member order do not matter), a saved stream is hashed from its
// chunks, `raw` hashes text as its UTF-8 bytes instead.
export async function contentHash(content, response, raw = false) {
  if (raw) {
    if (typeof content === 'string') return sha256Hex(utf8(content));
    if (content instanceof Uint8Array) return sha256Hex(content);
    throw new InputError('raw hashing needs the content as text or bytes');
  }
  let value = content instanceof Uint8Array ? fromUtf8(content) : content;
  if (typeof value === 'string') {
    if (response && isEventStream(value)) return hashJson(readStream(value).chunks);
    try {
      value = parseJson(value);
    } catch (error) {
      if (response && error instanceof InputError && isNdjson(value)) return hashJson(readNdjson(value).chunks);
      throw error;
    }
  }
  return response ? hashResponse(value) : hashJson(value);
}

// Python's datetime.isoformat() for UTC, so reasons match the Python verifier's.
function isoformat(us) {
  const text = new Date(Math.floor(us / 1000)).toISOString().slice(0, 19);
  const fraction = us % 1000000;
  return `${text}${fraction ? `.${String(fraction).padStart(6, '0')}` : ''}+00:00`;
}
