// Content hashes (spec §3): what prompt_hash and output_hash are computed over.
//
// * request:  sha256(JCS(request body));
// * response: sha256(JCS(response body without the members a gateway adds));
// * stream:   sha256(JCS([chunk_1, …, chunk_n])) over the parsed `data:` objects,
//             without [DONE], comments and the receipt event.
import { InputError } from './errors.js';
import { canonicalize } from './jcs.js';
import { parseJson } from './json.js';
import { isObject } from './receipt.js';
import { sha256Hex } from './crypto.js';

export const GATEWAY_MEMBERS = ['receipt', 'receipt_evidence', 'llm_sign'];

export function hashJson(value) {
  return sha256Hex(canonicalize(value));
}

export function stripGatewayMembers(body) {
  if (!isObject(body) || !GATEWAY_MEMBERS.some((name) => Object.hasOwn(body, name))) return body;
  const out = Object.create(null);
  for (const key of Object.keys(body)) if (!GATEWAY_MEMBERS.includes(key)) out[key] = body[key];
  return out;
}

export function hashResponse(body) {
  return hashJson(stripGatewayMembers(body));
}

// Text that is a server-sent event stream rather than JSON.
export function isEventStream(text) {
  return /^\s*(?:data|event|id|retry)?:/.test(text) && !/^\s*[[{"]/.test(text);
}

// Split an SSE text into events (WHATWG "server-sent events": events end at a
// blank line; lines end with CRLF, LF or CR). A last event without its blank
// line (a file cut after its last line break) still counts.
function events(text) {
  const blocks = text.split(/\r\n\r\n|\n\n|\r\r/);
  return blocks.filter((block, i) => i < blocks.length - 1 || block.trim() !== '');
}

// An event's data: its `data:` lines joined with LF, one leading space dropped;
// null for comment-only and field-only events.
function eventData(block) {
  const data = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line.startsWith('data:')) data.push(line.startsWith('data: ') ? line.slice(6) : line.slice(5));
    else if (line === 'data') data.push('');
  }
  return data.length ? data.join('\n') : null;
}

export const FRAMING = 2;
const TAG = 'llmseal-receipt';
const COMMENT = /^:[ ]?llmseal-receipt (\d{1,4}) ([^\r\n]*)$/;
const DONE = /^[ \t\n\r\f\v]*\[DONE\][ \t\n\r\f\v]*$/;
const LEGACY_OPENAI = ['id', 'object', 'created', 'model', 'choices', 'receipt', 'receipt_evidence'];
const LEGACY_ANTHROPIC = ['type', 'receipt', 'receipt_evidence'];

// Framing 2 (docs/spec/stream.md §2): the receipt is one comment line, an event of
// its own: `: llmseal-receipt 2 {"receipt": {...}, "receipt_evidence": {...}}`.
function commentReceipt(block) {
  if (!block.includes(TAG)) return null;
  const lines = block.split(/\r\n|\n|\r/).filter(Boolean);
  const tagged = lines.map((line) => COMMENT.exec(line)).filter(Boolean);
  if (!tagged.length) return null;
  if (lines.length !== 1) throw new InputError('a receipt comment must be an event of its own');
  const version = Number(tagged[0][1]);
  if (version !== FRAMING) throw new InputError(`receipt framing ${version} is not supported (this verifier reads ${FRAMING})`);
  const value = parseJson(tagged[0][2]);
  if (!isObject(value) || !isObject(value.receipt)) throw new InputError('a receipt comment must hold {"receipt": {...}}');
  const evidence = value.receipt_evidence ?? null;
  if (evidence !== null && !isObject(evidence)) throw new InputError('receipt_evidence must be a JSON object');
  return { receipt: value.receipt, evidence, framing: FRAMING };
}

// Framing 1 (§3, round 1: verified, never sent): the last data event, only in the
// exact shape a round-1 gateway sent, so no content can hide in a "receipt chunk".
function legacyReceipt(chunk) {
  if (!isObject(chunk) || !isObject(chunk.receipt)) return null;
  const members = Object.keys(chunk);
  const openai = Array.isArray(chunk.choices) && chunk.choices.length === 0 && members.every((m) => LEGACY_OPENAI.includes(m));
  const anthropic = chunk.type === 'ping' && members.every((m) => LEGACY_ANTHROPIC.includes(m));
  if (!openai && !anthropic) return null;
  return { receipt: chunk.receipt, evidence: isObject(chunk.receipt_evidence) ? chunk.receipt_evidence : null, framing: 1 };
}

// A saved stream (`curl -N … > answer.sse`) as a verifier sees it: the hashed
// chunks — the parsed data of every event but [DONE] — and its receipt (or null).
// Throws InputError for a stream no gateway could have sealed.
export function readStream(text) {
  const chunks = [];
  let found = null;
  let done = false;
  for (const block of events(text)) {
    const receipt = commentReceipt(block);
    if (receipt !== null) {
      if (found !== null) throw new InputError('the stream carries more than one receipt');
      found = receipt;
      continue;
    }
    const data = eventData(block);
    if (data === null) continue;
    if (done) throw new InputError('the stream continues after data: [DONE]');
    if (DONE.test(data)) {
      done = true;
      continue;
    }
    if (found !== null) throw new InputError('the stream continues after its receipt');
    try {
      chunks.push(parseJson(data));
    } catch (error) {
      throw new InputError(`the stream carries a non-JSON event: ${error.message}`);
    }
  }
  if (found === null && chunks.length) {
    found = legacyReceipt(chunks[chunks.length - 1]);
    if (found !== null) chunks.pop();
  }
  return { chunks, receipt: found };
}

// ---- NDJSON streams (Ollama's native API, docs/spec/stream.md §4) ---------------

const RECEIPT_MARK = 'llmseal_receipt';
const LINE_MEMBERS = [RECEIPT_MARK, 'message', 'response', 'receipt', 'receipt_evidence'];

function ndjsonLines(text) {
  return text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line)).filter((line) => line.trim());
}

// Two or more lines, the first two JSON objects: a saved NDJSON stream (as the
// Python verifier decides; a single JSON document is read as JSON first).
export function isNdjson(text) {
  const lines = ndjsonLines(text);
  if (lines.length < 2) return false;
  try {
    return lines.slice(0, 2).every((line) => isObject(parseJson(line)));
  } catch {
    return false;
  }
}

// The receipt a parsed line carries, null for a content line; InputError for a
// line that names itself a receipt line in any shape but the one (so no content
// can hide in it).
function lineReceipt(value) {
  if (!isObject(value) || !Object.hasOwn(value, RECEIPT_MARK)) return null;
  const version = value[RECEIPT_MARK];
  if (version !== FRAMING) throw new InputError(`receipt line framing ${JSON.stringify(version)} is not supported (this verifier reads ${FRAMING})`);
  const extra = Object.keys(value).filter((k) => !LINE_MEMBERS.includes(k)).sort();
  if (extra.length) throw new InputError(`a receipt line carries other members: [${extra.map((k) => `'${k}'`).join(', ')}]`);
  const message = Object.hasOwn(value, 'message') ? value.message : { role: 'assistant', content: '' };
  const emptyMessage = isObject(message) && Object.keys(message).length === 2 && message.role === 'assistant' && message.content === '';
  if (!emptyMessage || (Object.hasOwn(value, 'response') && value.response !== '')) throw new InputError('a receipt line must carry no content');
  if (!isObject(value.receipt)) throw new InputError('a receipt line must hold "receipt": {...}');
  const evidence = value.receipt_evidence ?? null;
  if (evidence !== null && !isObject(evidence)) throw new InputError('receipt_evidence must be a JSON object');
  return { receipt: value.receipt, evidence, framing: FRAMING };
}

// A saved NDJSON stream (`curl -N … > answer.ndjson`): the hashed lines, parsed,
// and its receipt (or null). Throws InputError for a stream no gateway sealed.
export function readNdjson(text) {
  const chunks = [];
  let found = null;
  for (const line of ndjsonLines(text)) {
    let value;
    try {
      value = parseJson(line);
    } catch (error) {
      throw new InputError(`the stream carries a non-JSON line: ${error.message}`);
    }
    const receipt = lineReceipt(value);
    if (receipt !== null) {
      if (found !== null) throw new InputError('the stream carries more than one receipt');
      found = receipt;
    } else if (found !== null) {
      throw new InputError('the stream continues after its receipt');
    } else {
      chunks.push(value);
    }
  }
  return { chunks, receipt: found };
}
