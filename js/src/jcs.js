// RFC 8785 JSON Canonicalization Scheme over parsed JSON values.
//
// §3.2.2: strings and numbers are serialized exactly as ECMAScript's
// JSON.stringify does (minimal escaping, Number::toString), so the engine's own
// serializer is the reference here. §3.2.3: object members sorted by their
// names' UTF-16 code units, which is what Array.prototype.sort compares.
import { InputError } from './errors.js';
import { MAX_DEPTH } from './json.js';

export function canonicalize(value) {
  const out = [];
  write(value, out, 0);
  return out.join('');
}

function write(value, out, depth) {
  if (value === null || value === true || value === false) {
    out.push(String(value));
  } else if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new InputError('a string holds a lone surrogate; RFC 8785 cannot encode it');
    out.push(JSON.stringify(value));
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InputError('NaN and Infinity have no JSON form');
    out.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) throw new InputError(`JSON nested deeper than ${MAX_DEPTH} levels`);
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i) out.push(',');
      write(value[i], out, depth + 1);
    }
    out.push(']');
  } else if (typeof value === 'object' && isPlain(value)) {
    if (depth >= MAX_DEPTH) throw new InputError(`JSON nested deeper than ${MAX_DEPTH} levels`);
    const keys = Object.keys(value).sort();
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      if (i) out.push(',');
      write(keys[i], out, depth + 1);
      out.push(':');
      write(value[keys[i]], out, depth + 1);
    }
    out.push('}');
  } else {
    throw new InputError(`a ${typeof value} is not a JSON value`);
  }
}

function isPlain(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
