// Transparency-log evidence: C2SP checkpoints (c2sp.org/tlog-checkpoint), the
// offline proof of one entry (c2sp.org/tlog-proof, v1) and witness policies
// (c2sp.org/tlog-policy). For llmseal the entry is the RFC 8785 bytes of the whole
// receipt, signature included (docs/spec/log.md §1).
import { toBase64, toHex, utf8 } from './bytes.js';
import { InputError } from './errors.js';
import { canonicalize } from './jcs.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { SIG_COSIGNATURE, SIG_ED25519, canonicalBase64, checkSignatures, loadVerifier, parseNote, parseVkey } from './note.js';

export const PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
export const MAX_ENTRY_BYTES = 65535;
const MAX_PATH = 63;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const INDEX = /^index (0|[1-9][0-9]{0,15})$/;

// The checkpoint a note carries (parse only: verify the note first).
export function parseCheckpoint(text) {
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || !text.endsWith('\n')) throw new InputError('a checkpoint has an origin, a size and a root hash line');
  const [origin, size, root, ...extensions] = lines;
  if (!origin) throw new InputError('a checkpoint origin is one non-empty line');
  if (!DECIMAL.test(size) || !Number.isSafeInteger(Number(size))) throw new InputError('checkpoint tree size is not a decimal this verifier can hold');
  const hash = canonicalBase64(root, 'checkpoint root hash');
  if (hash.length !== 32) throw new InputError('checkpoint root hash is not 32 bytes');
  if (extensions.some((line) => !line)) throw new InputError('checkpoint extension lines are non-empty');
  return { origin, size: Number(size), root: hash, extensions };
}

export function parseProof(text) {
  if (typeof text !== 'string') throw new InputError('a tlog-proof is text');
  const split = text.indexOf('\n\n');
  if (split < 0) throw new InputError('tlog-proof has no empty line before its checkpoint');
  const lines = text.slice(0, split).split('\n');
  if (lines[0] !== PROOF_HEADER) throw new InputError(`not a tlog-proof (first line must be ${PROOF_HEADER})`);
  let at = 1;
  let extra = null;
  if (lines[at] !== undefined && lines[at].startsWith('extra ')) extra = canonicalBase64(lines[at++].slice(6), 'tlog-proof extra data');
  const m = lines[at] === undefined ? null : INDEX.exec(lines[at]);
  if (!m) throw new InputError("tlog-proof needs an 'index <decimal>' line");
  const hashes = lines.slice(at + 1);
  if (hashes.length > MAX_PATH) throw new InputError('tlog-proof path is longer than 63 hashes');
  const path = hashes.map((h) => canonicalBase64(h, 'tlog-proof hash'));
  if (path.some((h) => h.length !== 32)) throw new InputError('tlog-proof hashes are 32 bytes');
  return { index: Number(m[1]), path, checkpoint: text.slice(split + 2), extra };
}

// ---- witness policy (c2sp.org/tlog-policy) ------------------------------------

export function parsePolicy(text) {
  const logs = [];
  const witnesses = new Map();
  const groups = new Map();
  let quorum;
  for (const raw of String(text).split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(raw)) throw new InputError('witness policy: control character');
    const [kind, ...args] = line.split(/[ \t]+/);
    const defined = (name) => name === 'none' || witnesses.has(name) || groups.has(name);
    if (kind === 'log' && (args.length === 1 || args.length === 2)) {
      logs.push(args[0]);
    } else if (kind === 'witness' && (args.length === 2 || args.length === 3)) {
      if (defined(args[0])) throw new InputError(`witness policy: ${args[0]} is defined twice`);
      witnesses.set(args[0], args[1]);
    } else if (kind === 'group' && args.length >= 3) {
      const [name, threshold, ...members] = args;
      if (defined(name)) throw new InputError(`witness policy: ${name} is defined twice`);
      if (new Set(members).size !== members.length) throw new InputError(`witness policy: group ${name} lists a member twice`);
      for (const member of members) {
        if (member === 'none' || !defined(member)) throw new InputError(`witness policy: group ${name} names ${member} before it is defined`);
      }
      const k = threshold === 'all' ? members.length : threshold === 'any' ? 1 : /^[1-9][0-9]*$/.test(threshold) ? Number(threshold) : 0;
      if (k < 1 || k > members.length) throw new InputError(`witness policy: group ${name} needs 1 <= k <= ${members.length}`);
      groups.set(name, { k, members });
    } else if (kind === 'quorum' && args.length === 1) {
      if (quorum !== undefined) throw new InputError('witness policy: more than one quorum line');
      if (!defined(args[0])) throw new InputError(`witness policy: quorum ${args[0]} is not defined above it`);
      quorum = args[0];
    } else {
      throw new InputError(`witness policy: cannot read line ${JSON.stringify(line.slice(0, 80))}`);
    }
  }
  if (quorum === undefined) throw new InputError('witness policy: no quorum line');
  return { logs, witnesses, groups, quorum };
}

function satisfied(policy, name, cosigned) {
  if (name === 'none') return true;
  if (policy.witnesses.has(name)) return cosigned.has(name);
  const group = policy.groups.get(name);
  return group.members.filter((m) => satisfied(policy, m, cosigned)).length >= group.k;
}

// The earliest time by which cosignatures met the quorum (seconds), or null.
function quorumTime(policy, cosignatures) {
  const sorted = cosignatures.filter((c) => c.verified).sort((a, b) => a.time - b.time);
  const cosigned = new Set();
  for (const c of sorted) {
    cosigned.add(c.witness);
    if (satisfied(policy, policy.quorum, cosigned)) return c.time;
  }
  return null;
}

// ---- the receipt's log evidence -------------------------------------------------

function lines(value) {
  if (value == null) return [];
  const list = Array.isArray(value) ? value : String(value).split('\n');
  return list.map((v) => String(v).trim()).filter(Boolean);
}

// Verify the tlog-proof beside a receipt (receipt_evidence.log, or options.proof)
// against the log keys (options.logVkeys, the policy's `log` lines) and the witness
// policy. Returns {result, provenMicros}; result is null when there is no proof.
// A bad proof is a log finding, not a receipt status: it never throws.
export async function verifyLogEvidence(receipt, evidence, options) {
  const proofText = options.proof ?? (evidence && typeof evidence.log === 'string' ? evidence.log : null);
  if (proofText == null && !options.logVkeys && !options.witnessPolicy) return { result: null, provenMicros: null };
  const result = { verified: false, origin: null, index: null, tree_size: null, root: null, leaf_hash: null,
    cosignatures: [], quorum: null, proven_time: null, reasons: [] };
  let provenMicros = null;
  try {
    if (proofText == null) throw new InputError('no log proof: the receipt carries none and none was given');
    const policy = options.witnessPolicy == null ? null : typeof options.witnessPolicy === 'string' ? parsePolicy(options.witnessPolicy) : options.witnessPolicy;
    const logKeys = [...lines(options.logVkeys), ...(policy ? policy.logs : [])];
    if (!logKeys.length) throw new InputError('a log proof needs the log\'s verifier key (logVkeys) to be checked');
    const proof = parseProof(proofText);
    const note = parseNote(proof.checkpoint);
    const claimed = parseCheckpoint(note.text).origin;
    const verifiers = [];
    for (const vkey of logKeys) {
      const parsed = parseVkey(vkey);
      if (parsed.type !== SIG_ED25519) throw new InputError(`log key ${parsed.name} is not an Ed25519 (0x01) key`);
      if (parsed.name === claimed) verifiers.push(await loadVerifier(parsed));
    }
    if (!verifiers.length) throw new InputError(`the checkpoint is for log ${JSON.stringify(claimed)}, which no given log key names`);
    if (!(await checkSignatures(note, verifiers)).length) throw new InputError(`the checkpoint is not signed by the log ${claimed}`);
    const checkpoint = parseCheckpoint(note.text);
    Object.assign(result, { origin: checkpoint.origin, index: proof.index, tree_size: checkpoint.size, root: toBase64(checkpoint.root) });
    const entry = utf8(canonicalize(receipt));
    if (entry.length > MAX_ENTRY_BYTES) throw new InputError('the receipt is larger than a log entry can be');
    const leaf = await leafHash(entry);
    result.leaf_hash = toHex(leaf);
    if (!(await verifyInclusion(leaf, proof.index, checkpoint.size, proof.path, checkpoint.root))) {
      throw new InputError('the inclusion proof does not lead from this receipt to the checkpoint root');
    }
    result.verified = true;
    if (policy) provenMicros = await judgeWitnesses(note, policy, result);
  } catch (error) {
    result.verified = false;
    result.reasons.push(error instanceof InputError ? error.message : `cannot check the log proof: ${error.message}`);
  }
  return { result, provenMicros: result.verified ? provenMicros : null };
}

async function judgeWitnesses(note, policy, result) {
  const byName = new Map();
  for (const [witness, vkey] of policy.witnesses) {
    const parsed = parseVkey(vkey);
    if (parsed.type !== SIG_COSIGNATURE) throw new InputError(`witness ${witness}: key type 0x${parsed.type.toString(16)} is not a cosignature (0x04) key`);
    byName.set(`${parsed.name}\n${parsed.keyId}`, { witness, verifier: await loadVerifier(parsed) });
  }
  const good = await checkSignatures(note, [...byName.values()].map((w) => w.verifier));
  result.cosignatures = good.map((g) => ({ witness: byName.get(`${g.name}\n${g.keyId}`).witness, name: g.name,
    key_id: g.keyId.toString(16).padStart(8, '0'), time: g.time, verified: true }));
  const seconds = quorumTime(policy, result.cosignatures);
  result.quorum = policy.quorum === 'none' || seconds !== null;
  if (!result.quorum) result.reasons.push('the checkpoint is not cosigned by the witness quorum');
  if (seconds === null) return null;
  result.proven_time = `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;
  return seconds * 1e6;
}
