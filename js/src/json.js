// Strict JSON parsing for hashing (docs/spec/receipt.md §3).
//
// JSON.parse alone is not enough: it turns 12345678901234567891 into the same
// double as its neighbours, so a relay could change a big integer without
// changing the hash. The spec refuses integers beyond ±(2^53−1) and numbers that
// overflow, and so do we, before JSON.parse sees the text. The same pass bounds
// the nesting depth, so hostile input fails fast instead of exhausting the stack.
import { InputError } from './errors.js';

export const MAX_DEPTH = 1000;
const SAFE = 9007199254740991n;

export function parseJson(text) {
  if (typeof text !== 'string') throw new InputError('JSON input must be text');
  scan(text);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`not valid JSON: ${error.message}`);
  }
}

// One pass over the text outside strings (strings are skipped with indexOf).
// Invalid JSON may pass the scan; JSON.parse refuses it afterwards.
function scan(text) {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = stringEnd(text, i);
      if (i < 0) return;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) throw new InputError(`JSON nested deeper than ${MAX_DEPTH} levels`);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      i = number(text, i) - 1;
    }
  }
}

function stringEnd(text, start) {
  let i = start;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i < 0) return -1;
    let slashes = 0;
    for (let j = i - 1; text.charCodeAt(j) === 0x5c; j--) slashes++;
    if (slashes % 2 === 0) return i;
  }
}

function number(text, start) {
  let i = start;
  let integral = true;
  let digits = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e || c === 0x65 || c === 0x45) integral = false;
    else if (c !== 0x2d && c !== 0x2b) break;
  }
  const token = text.slice(start, i);
  if (integral) {
    if (digits > 15 && /^-?\d+$/.test(token)) {
      const value = BigInt(token);
      if (value > SAFE || value < -SAFE) {
        throw new InputError(`integer ${shorten(token)} is beyond ±(2^53−1); RFC 8785 cannot hash it exactly`);
      }
    }
  } else if (!Number.isFinite(Number(token)) && /^-?\d+(\.\d+)?[eE][+-]?\d+$/.test(token)) {
    throw new InputError(`number ${shorten(token)} overflows a double`);
  }
  return i;
}

function shorten(token) {
  return token.length > 24 ? `${token.slice(0, 20)}…` : token;
}
