// verifyBundle(input, options): an llmseal evidence bundle (docs/spec/bundle.md)
// verified offline, with the same verdicts as `llmseal bundle verify`.
//
// What it checks: every receipt against the verifier's pinned key set (a key-set
// snapshot in the bundle must agree with it; a revocation in either counts, the
// earliest wins), the content beside it, its log proof against the verifier's log
// keys and witness policy (the proven time is when revocation is judged), salted
// commitments and disclosed messages, and every parent link (hops, pipeline
// inputs, conversation turns). What it does not: X.509 chains, DNSSEC chains and
// audit reports — an item keyed only by those is `unknown_key`, and a bundle that
// carries audit reports is not ok here (the Python verifier re-checks them).
import { fromBase64, fromUtf8, utf8 } from './bytes.js';
import { sha256Hex } from './crypto.js';
import { checkLinks, embedded } from './chain.js';
import { InputError } from './errors.js';
import { canonicalize } from './jcs.js';
import { parseJson } from './json.js';
import { parseKeySet, quote } from './keyset.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { checkReceipt, isObject } from './receipt.js';
import { formatMicros, parseStrict } from './time.js';
import { verify } from './verify.js';

export const FORMAT = 'llmseal-bundle/1';
export const SCHEME = 'llmseal-salted-merkle/1';
const MAX_ITEMS = 256;
const MAX_MESSAGES = 4096;
const TOP = ['bundle', 'created_at', 'subject', 'items', 'audits'];
const ITEM = ['receipt', 'request', 'response', 'disclosure', 'evidence'];
const EVIDENCE = ['keyset', 'x5c', 'crls', 'dnssec', 'log'];

export async function verifyBundle(input, options = {}) {
  let bundle;
  try {
    bundle = parseBundle(input);
    if (options.keys == null) throw new InputError('no key set given');
    parseKeySet(options.keys);
  } catch (error) {
    const message = error instanceof InputError ? error.message : `cannot read the bundle: ${error.message}`;
    return { ok: false, error: message, subject: null, items: [], links: [], failures: [message] };
  }
  const items = await withEmbedded(bundle.items);
  const pinned = parseKeySet(options.keys);
  const results = [];
  for (const item of items) results.push(await verifyItem(item, pinned, options));
  const disclosed = new Map(results.filter((r) => r.disclosedMessages).map((r) => [r.receipt_id, r.disclosedMessages]));
  const links = await checkLinks(items, disclosed, digestOf);
  const failures = [];
  for (const r of results) {
    if (r.status !== 'valid') failures.push(...r.reasons.map((why) => `${r.receipt_id}: ${r.status}: ${why}`));
    failures.push(...r.failures.map((why) => `${r.receipt_id}: ${why}`));
    delete r.disclosedMessages;
  }
  for (const l of links) failures.push(...l.failures.map((why) => `${l.child}: ${why}`));
  const audits = bundle.audits.map((a) => ({ report_id: typeof a.report_id === 'string' ? a.report_id : '?', ok: false,
    failures: ['not re-checked: this verifier does not re-check audit reports (use llmseal bundle verify)'] }));
  for (const a of audits) failures.push(...a.failures.map((why) => `audit report ${a.report_id}: ${why}`));
  const ok = results.every((r) => r.ok) && links.every((l) => !l.failures.length) && !audits.length;
  return { ok, error: null, subject: bundle.subject, items: results, links, audits, failures };
}

// ---- the file -------------------------------------------------------------------

export function parseBundle(input) {
  let value = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  if (value instanceof Uint8Array) value = fromUtf8(value);
  if (typeof value === 'string') value = parseJson(value);
  if (!isObject(value)) throw new InputError('a bundle is a JSON object');
  if (value.bundle !== FORMAT) throw new InputError(`not an evidence bundle of format '${FORMAT}'`);
  refuseUnknown(value, TOP, 'bundle');
  if (!Array.isArray(value.items)) throw new InputError("bundle 'items' must be an array");
  if (typeof value.created_at !== 'string' || parseStrict(value.created_at) === null) {
    throw new InputError("bundle 'created_at' must be an RFC 3339 UTC time");
  }
  if (typeof value.subject !== 'string') throw new InputError("bundle 'subject' must be a receipt_id");
  const audits = Object.hasOwn(value, 'audits') ? value.audits : [];
  if (!Array.isArray(audits) || !audits.every(isObject)) throw new InputError("bundle 'audits' must be an array of objects");
  if (!value.items.length) throw new InputError('a bundle holds at least one receipt');
  if (value.items.length > MAX_ITEMS) throw new InputError(`a bundle holds at most ${MAX_ITEMS} receipts`);
  const items = value.items.map(parseItem);
  const ids = items.map((item) => item.receipt.receipt_id);
  if (new Set(ids).size !== ids.length) throw new InputError('a bundle lists the same receipt_id twice');
  if (!ids.includes(value.subject)) throw new InputError(`the bundle's subject ${quote(value.subject)} is none of its receipts`);
  return { subject: value.subject, created_at: value.created_at, items, audits };
}

function parseItem(data, index) {
  const where = `bundle item ${index}`;
  if (!isObject(data)) throw new InputError(`${where} is not a JSON object`);
  refuseUnknown(data, ITEM, where);
  try {
    checkReceipt(data.receipt);
  } catch (error) {
    throw new InputError(`${where}: ${error.message}`);
  }
  if (data.disclosure != null && !isObject(data.disclosure)) throw new InputError(`${where}: disclosure must be an object`);
  const evidence = Object.hasOwn(data, 'evidence') ? data.evidence : {};
  if (!isObject(evidence)) throw new InputError(`${where}: evidence must be an object`);
  refuseUnknown(evidence, EVIDENCE, `${where} evidence`);
  for (const name of ['x5c', 'crls']) {
    const list = Object.hasOwn(evidence, name) ? evidence[name] : [];
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) throw new InputError(`${where}: evidence '${name}' must be an array of PEM strings`);
  }
  if (Object.hasOwn(evidence, 'log') && typeof evidence.log !== 'string') throw new InputError(`${where}: evidence 'log' must be a tlog-proof text`);
  for (const name of ['keyset', 'dnssec']) {
    if (Object.hasOwn(evidence, name) && !isObject(evidence[name])) throw new InputError(`${where}: evidence '${name}' must be an object`);
  }
  return { receipt: data.receipt, request: data.request ?? null, response: data.response ?? null,
    disclosure: data.disclosure ?? null, evidence };
}

function refuseUnknown(value, known, where) {
  const unknown = Object.keys(value).filter((k) => !known.includes(k)).sort();
  // A member this version does not define could be evidence silently skipped.
  if (unknown.length) throw new InputError(`${where}: unknown member(s) [${unknown.map((k) => `'${k}'`).join(', ')}]`);
}

// SHA-256 of the receipt's RFC 8785 bytes, signature included: how parents are named.
export function digestOf(receipt) {
  return sha256Hex(canonicalize(receipt));
}

// The items plus, without content of their own, the upstream receipts they embed
// (each verified like any other: its key must be pinned too).
async function withEmbedded(listed) {
  const items = [];
  for (const item of listed) items.push({ ...item, digest: await digestOf(item.receipt) });
  const known = new Set(items.map((i) => i.digest));
  const ids = new Set(items.map((i) => i.receipt.receipt_id));
  const extra = [];
  for (const item of items) {
    for (const data of embedded(item.receipt)) {
      try {
        checkReceipt(data);
      } catch {
        continue; // not a receipt after all: its link reports it missing
      }
      const digest = await digestOf(data);
      if (known.has(digest) || ids.has(data.receipt_id)) continue;
      if (items.length + extra.length >= MAX_ITEMS) continue;
      const request = data.prompt_hash === item.receipt.prompt_hash ? item.request : null;
      const response = data.output_hash === item.receipt.output_hash ? item.response : null;
      known.add(digest);
      ids.add(data.receipt_id);
      extra.push({ receipt: data, request, response, disclosure: null, evidence: {}, digest });
    }
  }
  return [...extra, ...items];
}

// ---- one receipt ----------------------------------------------------------------

async function verifyItem(item, pinned, options) {
  const receipt = item.receipt;
  const failures = [];
  const key = resolveKey(receipt.key_id, pinned, item.evidence.keyset);
  const proof = typeof item.evidence.log === 'string' ? item.evidence.log : undefined;
  const hasLogKeys = options.logVkeys != null || options.witnessPolicy != null;
  const result = await verify(receipt, {
    keys: key.entry ? [key.entry] : [], prompt: item.request ?? undefined, output: item.response ?? undefined,
    ...(proof !== undefined && hasLogKeys ? { proof, logVkeys: options.logVkeys, witnessPolicy: options.witnessPolicy } : {}),
  });
  let { status, reasons } = result;
  if (key.reason) [status, reasons] = ['unknown_key', [key.reason]];
  if (status === 'error') [status, reasons] = ['tampered', reasons];
  let log = result.log;
  if (proof !== undefined && !hasLogKeys) log = { verified: false, reasons: ['no log key to check it against'] };
  if (log && proof !== undefined && hasLogKeys && !log.verified) failures.push(`its log proof does not verify: ${log.reasons.join('; ')}`);
  let disclosed = null;
  let disclosedMessages = null;
  if (item.disclosure !== null && status === 'valid') {
    try {
      disclosedMessages = await checkDisclosure(receipt, item.disclosure);
      disclosed = `message(s) ${[...disclosedMessages.keys()].sort((a, b) => a - b).join(', ')} of ${receipt.commitments.count}`;
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      failures.push(error.message);
    }
  }
  return { receipt_id: receipt.receipt_id, ok: status === 'valid' && !failures.length, status, reasons,
    content_checked: result.content_checked, key_source: key.entry ? 'keyset' : 'none', log, failures,
    disclosed, disclosedMessages };
}

// The pinned entry for `keyId`, checked against the bundle's snapshot: {entry} (a
// key-set entry object for verify()), or {reason} when the key is not trusted.
function resolveKey(keyId, pinned, snapshotData) {
  const entry = pinned.get(keyId);
  if (entry === undefined) return { entry: null, reason: null }; // verify() says "not in the key set"
  if (!isObject(snapshotData) || !Object.keys(snapshotData).length) return { entry: entry.entry, reason: null };
  let snapshot;
  try {
    snapshot = parseKeySet(snapshotData);
  } catch (error) {
    return { entry: null, reason: `the bundle's key-set snapshot is not a key set: ${error.message}` };
  }
  const seen = snapshot.get(keyId);
  if (seen === undefined) return { entry: entry.entry, reason: null };
  if (seen.algorithm !== entry.algorithm || seen.raw.length !== entry.raw.length || !seen.raw.every((b, i) => b === entry.raw[i])) {
    return { entry: null, reason: `[snapshot_mismatch] the bundle's key-set snapshot gives key ${quote(keyId)} another public key than the verifier's pinned key set` };
  }
  const revoked = [entry, seen].filter((e) => e.status === 'revoked');
  if (!revoked.length) return { entry: entry.entry, reason: null };
  const times = revoked.map((e) => e.rotated_at);
  const rotated = times.includes(null) ? null : formatMicros(Math.min(...times));
  return { entry: { ...entry.entry, status: 'revoked', rotated_at: rotated }, reason: null };
}

// Map(index -> message) of the disclosed messages, each proven against the
// receipt's signed `commitments` root; InputError naming the first that is not.
export async function checkDisclosure(receipt, disclosure) {
  const claim = receipt.commitments;
  if (!isObject(claim) || claim.scheme !== SCHEME) throw new InputError(`the receipt carries no ${SCHEME} commitment to disclose against`);
  const { count, messages: root } = claim;
  if (!Number.isInteger(count) || count < 1 || count > MAX_MESSAGES || typeof root !== 'string') {
    throw new InputError("the receipt's commitment has no usable count and root");
  }
  const opened = disclosure.messages;
  if (!Array.isArray(opened) || !opened.length) throw new InputError('a disclosure opens at least one message');
  const rootBytes = /^[0-9a-fA-F]{64}$/.test(root) ? Uint8Array.from(root.match(/../g), (h) => parseInt(h, 16)) : null;
  const found = new Map();
  for (const one of opened) {
    if (!isObject(one)) throw new InputError('each disclosed message is an object');
    const { index, salt, path } = one;
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new InputError(`a disclosed message index must be 0..${count - 1}`);
    if (typeof salt !== 'string' || !Array.isArray(path) || !Object.hasOwn(one, 'message')) {
      throw new InputError(`disclosed message ${index} needs message, salt and path`);
    }
    const hashes = path.map((h) => (typeof h === 'string' ? fromBase64(h) : null));
    if (hashes.some((h) => h === null)) throw new InputError(`disclosed message ${index}: path hashes must be base64`);
    const leaf = await leafHash(utf8(canonicalize({ index, message: one.message, salt })));
    if (rootBytes === null || !(await verifyInclusion(leaf, index, count, hashes, rootBytes))) {
      throw new InputError(`disclosed message ${index} is not the message the receipt committed to`);
    }
    found.set(index, one.message);
  }
  return found;
}
