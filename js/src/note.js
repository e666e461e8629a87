// C2SP signed notes and their keys (c2sp.org/signed-note), Ed25519 log signatures
// (type 0x01) and timestamped Ed25519 witness cosignatures (type 0x04,
// c2sp.org/tlog-cosignature). Everything parsed here is hostile input until a
// trusted key verified it; parsing is strict and bounded.
import { concatBytes, fromBase64, toBase64, utf8 } from './bytes.js';
import { sha256 } from './crypto.js';
import { InputError } from './errors.js';

export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE = 0x04;
export const MAX_NOTE_CHARS = 1 << 20;
export const MAX_SIGNATURES = 100;
const DASH = '\u2014 ';
const CONTROL = /[\x00-\x09\x0b-\x1f]/; // below U+0020, except LF
const HEX_ID = /^[0-9a-f]{8}$/;

// Standard padded base64 in its one canonical spelling; InputError otherwise.
export function canonicalBase64(text, what) {
  const raw = fromBase64(text);
  if (raw === null || toBase64(raw) !== text) throw new InputError(`${what} is not canonical base64`);
  return raw;
}

export function checkKeyName(name) {
  if (!name || name.includes('+') || /\s/u.test(name) || CONTROL.test(name)) {
    throw new InputError(`invalid key name ${JSON.stringify(name.slice(0, 80))}`);
  }
  return name;
}

// The C2SP key ID: SHA-256(name || LF || type || public key)[:4], as a uint32.
export async function keyId(name, type, publicKey) {
  const digest = await sha256(concatBytes(utf8(`${name}\n`), Uint8Array.of(type), publicKey));
  return ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0;
}

// vkey text `<name>+<8 hex key ID>+<base64(type || key)>`, split on the first two '+'.
export function parseVkey(text) {
  const trimmed = String(text).trim();
  const first = trimmed.indexOf('+');
  const second = trimmed.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new InputError('a verifier key is <name>+<hex key ID>+<base64 key>');
  const name = checkKeyName(trimmed.slice(0, first));
  const hex = trimmed.slice(first + 1, second);
  if (!HEX_ID.test(hex)) throw new InputError('a verifier key ID is 8 lowercase hex digits');
  const raw = canonicalBase64(trimmed.slice(second + 1), 'verifier key');
  if (raw.length < 2) throw new InputError('a verifier key has a type byte and key material');
  return { name, keyId: parseInt(hex, 16), type: raw[0], publicKey: raw.slice(1), text: trimmed };
}

async function ed25519Key(raw) {
  return globalThis.crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
}

// A verifier for a vkey: {name, keyId, type, verify(textBytes, sigBytes) -> {ok, time?}}.
// The key ID must be the one derived from the key (as Go's note package requires).
export async function loadVerifier(vkey) {
  const parsed = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
  if (parsed.type !== SIG_ED25519 && parsed.type !== SIG_COSIGNATURE) {
    throw new InputError(`verifier key ${parsed.name}: unsupported type 0x${parsed.type.toString(16).padStart(2, '0')}`);
  }
  if (parsed.publicKey.length !== 32) throw new InputError(`verifier key ${parsed.name}: an Ed25519 key is 32 bytes`);
  if ((await keyId(parsed.name, parsed.type, parsed.publicKey)) !== parsed.keyId) {
    throw new InputError(`verifier key ${parsed.name}: key ID does not match the key`);
  }
  const key = await ed25519Key(parsed.publicKey);
  const subtle = globalThis.crypto.subtle;
  const verify = parsed.type === SIG_ED25519
    ? async (text, sig) => ({ ok: sig.length === 64 && (await subtle.verify({ name: 'Ed25519' }, key, sig, text)) })
    : async (text, sig) => {
      // timestamped_signature: u64 big-endian POSIX time, then 64 bytes of Ed25519
      // over "cosignature/v1\ntime <t>\n" + the note text (c2sp.org/tlog-cosignature).
      if (sig.length !== 72) return { ok: false };
      let time = 0n;
      for (let i = 0; i < 8; i++) time = (time << 8n) | BigInt(sig[i]);
      if (time > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false };
      const message = concatBytes(utf8(`cosignature/v1\ntime ${time}\n`), text);
      return { ok: await subtle.verify({ name: 'Ed25519' }, key, sig.slice(8), message), time: Number(time) };
    };
  return { name: parsed.name, keyId: parsed.keyId, type: parsed.type, vkey: parsed.text, verify };
}

export function parseNote(text) {
  if (typeof text !== 'string') throw new InputError('a signed note is text');
  if (text.length > MAX_NOTE_CHARS) throw new InputError('note is too large');
  if (!text.endsWith('\n')) throw new InputError('note text must end with a newline');
  if (CONTROL.test(text)) throw new InputError('note contains a control character');
  if (!text.isWellFormed()) throw new InputError('note is not valid Unicode');
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw new InputError('note has no blank line before its signatures');
  const body = text.slice(0, split + 1);
  const lines = text.slice(split + 2).split('\n').slice(0, -1);
  if (!lines.length) throw new InputError('note has no signature lines');
  if (lines.length > MAX_SIGNATURES) throw new InputError(`note has more than ${MAX_SIGNATURES} signatures`);
  return { text: body, signatures: lines.map(parseSignatureLine) };
}

function parseSignatureLine(line) {
  if (!line.startsWith(DASH)) throw new InputError('note signature line does not start with an em dash and a space');
  const parts = line.slice(DASH.length).split(' ');
  if (parts.length !== 2) throw new InputError("note signature line is not '— <name> <base64>'");
  const name = checkKeyName(parts[0]);
  const blob = canonicalBase64(parts[1], 'note signature');
  if (blob.length < 5) throw new InputError('note signature is shorter than a key ID and one byte');
  const id = ((blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3]) >>> 0;
  return { name, keyId: id, signature: blob.slice(4) };
}

// Check a note against trusted verifiers (signed-note, "Signatures"): a line whose
// (name, key ID) matches no verifier is ignored; one that matches MUST verify, or
// the whole note is rejected. Returns [{name, keyId, type, time?}] for each good one.
export async function checkSignatures(note, verifiers) {
  const known = new Map(verifiers.map((v) => [`${v.name}\n${v.keyId}`, v]));
  const text = utf8(note.text);
  const good = [];
  for (const sig of note.signatures) {
    const verifier = known.get(`${sig.name}\n${sig.keyId}`);
    if (!verifier) continue;
    const { ok, time } = await verifier.verify(text, sig.signature);
    if (!ok) throw new InputError(`the signature by ${sig.name}+${sig.keyId.toString(16).padStart(8, '0')} does not verify`);
    if (!good.some((g) => g.name === sig.name && g.keyId === sig.keyId)) good.push({ name: sig.name, keyId: sig.keyId, type: verifier.type, time });
  }
  return good;
}
