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

// Split an SSE text into events: [{event, data}] (WHATWG "server-sent events":
// lines end with CRLF, LF or CR; `data:` lines join with LF; one leading space
// after the colon is dropped). Comment-only and field-only events are skipped.
export function parseEvents(text) {
  const events = [];
  for (const block of text.split(/\r\n\r\n|\n\n|\r\r/)) {
    let kind = null;
    const data = [];
    for (const line of block.split(/\r\n|\n|\r/)) {
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') kind = value;
    }
    if (data.length) events.push({ event: kind, data: data.join('\n') });
  }
  return events;
}

// A sealed stream: the receipt travels in the last event whose JSON carries a
// `receipt` object; every JSON event before it is content. Earlier receipt-
// bearing events are content too (a chained gateway's inner receipt, which the
// outer receipt covers). Nothing may follow data: [DONE].
export function readStream(text) {
  const chunks = [];
  let held = null;
  let done = false;
  for (const { data } of parseEvents(text)) {
    if (data.trim() === '[DONE]') {
      done = true;
      continue;
    }
    if (done) throw new InputError('the stream continues after data: [DONE]');
    let value;
    try {
      value = parseJson(data);
    } catch (error) {
      throw new InputError(`the stream carries a non-JSON event: ${error.message}`);
    }
    if (held !== null) chunks.push(held);
    held = null;
    if (isObject(value) && isObject(value.receipt)) held = value;
    else chunks.push(value);
  }
  return { chunks, sealed: held };
}
