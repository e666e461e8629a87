// RFC 8785: the cyberphone/json-canonicalization vectors (tests/vectors/jcs),
// the ES6 number sequence, and what the spec refuses (§3 of docs/spec/receipt.md).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { canonicalize, parseJson } from '../src/index.js';
import { VECTORS } from './support.js';

const JCS = join(VECTORS, 'jcs');
const CASES = ['arrays', 'french', 'structures', 'unicode', 'values', 'weird'];

for (const name of CASES) {
  test(`JCS vector ${name}`, () => {
    const input = readFileSync(join(JCS, 'input', `${name}.json`), 'utf8');
    const expected = readFileSync(join(JCS, 'output', `${name}.json`));
    const hex = readFileSync(join(JCS, 'outhex', `${name}.txt`), 'utf8').split(/\s+/).join('');
    const out = Buffer.from(canonicalize(parseJson(input)), 'utf8');
    assert.equal(out.toString('hex'), expected.toString('hex'));
    assert.equal(out.toString('hex'), hex);
  });
}

// The number sequence of cyberphone's numgen: the static list, 2000 subnormal
// neighbours, then doubles drawn from a SHA-256 chain (as tests/unit/core/test_canonical.py).
function* es6Sequence() {
  for (const hex of readFileSync(join(JCS, 'es6_static_u64.txt'), 'utf8').split(/\s+/).filter(Boolean)) yield BigInt(`0x${hex}`);
  for (let i = 0n; i < 2000n; i++) yield 0x0010000000000000n + i;
  let block = Buffer.alloc(32);
  for (;;) {
    block = createHash('sha256').update(block).digest();
    for (let i = 0; i < 4; i++) {
      const value = block.readDoubleLE(i * 8);
      if (value !== 0 && Number.isFinite(value)) yield block.readBigUInt64LE(i * 8);
    }
  }
}

for (const [lines, digest] of [
  [1000, 'be18b62b6f69cdab33a7e0dae0d9cfa869fda80ddc712221570f9f40a5878687'],
  [100000, '22776e6d4b49fa294a0d0f349268e5c28808fe7e0cb2bcbe28f63894e494d4c7'],
]) {
  test(`ES6 number serialization: the published hash of the first ${lines} lines`, () => {
    const sha = createHash('sha256');
    const view = new DataView(new ArrayBuffer(8));
    let n = 0;
    for (const bits of es6Sequence()) {
      if (n++ === lines) break;
      view.setBigUint64(0, bits);
      const text = canonicalize([view.getFloat64(0)]).slice(1, -1);
      sha.update(`${bits.toString(16)},${text}\n`);
    }
    assert.equal(sha.digest('hex'), digest);
  });
}

test('numbers in ECMAScript form', () => {
  assert.equal(canonicalize(parseJson('[1.0, 1e-7, 1E21, -0, 0.1e1, 100000000000000000000.0, 9007199254740991]')),
    '[1,1e-7,1e+21,0,1,100000000000000000000,9007199254740991]');
});

test('minimal escaping: only " \\\\ and U+0000–U+001F; <, >, &, U+2028 and non-ASCII pass', () => {
  assert.equal(canonicalize(['"\\\b\f\n\r\t\u0000\u001f\u007f', '<>&\u2028é😀']), '["\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\u007f","<>&\u2028é😀"]');
});

test('members sorted by UTF-16 code units, not code points', () => {
  // U+FF61 sorts before U+1F600 in code points, after it in UTF-16 (0xD83D < 0xFF61).
  assert.equal(canonicalize({ '\uff61': 1, '😀': 2, a: 3, '': 4 }), '{"":4,"a":3,"😀":2,"｡":1}');
});

test('integers beyond ±(2^53−1) are refused, not rounded', () => {
  for (const text of ['9007199254740992', '-9007199254740992', '12345678901234567891', '[1,{"a":123456789012345678901234567890}]']) {
    assert.throws(() => parseJson(text), /beyond/, text);
  }
  assert.equal(canonicalize(parseJson('[9007199254740991,-9007199254740991,9007199254740992.0,1e300]')), '[9007199254740991,-9007199254740991,9007199254740992,1e+300]');
  assert.equal(canonicalize(parseJson('{"big":"12345678901234567891"}')), '{"big":"12345678901234567891"}');
});

test('NaN, infinities and lone surrogates have no JCS form', () => {
  assert.throws(() => parseJson('1e400'), /overflows/);
  assert.throws(() => parseJson('[-1E+999]'), /overflows/);
  assert.throws(() => canonicalize([NaN]), /NaN/);
  assert.throws(() => canonicalize(parseJson('"\\ud800"')), /lone surrogate/);
  assert.throws(() => canonicalize({ a: undefined }), /not a JSON value/);
  assert.equal(canonicalize(parseJson('"\\ud83d\\ude00"')), '"😀"');
});

test('depth is bounded before parsing, so hostile nesting fails fast', () => {
  const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
  assert.throws(() => parseJson(deep), /nested deeper than 1000/);
  const ok = '['.repeat(1000) + ']'.repeat(1000);
  assert.equal(canonicalize(parseJson(ok)), ok);
  assert.throws(() => canonicalize(parseJson('['.repeat(1001) + ']'.repeat(1001))), /nested/);
  const brackets = JSON.stringify({ s: '['.repeat(5000) });
  assert.equal(canonicalize(parseJson(brackets)), brackets);
});

test('a "__proto__" member is an ordinary member', () => {
  assert.equal(canonicalize(parseJson('{"b":1,"__proto__":{"x":1}}')), '{"__proto__":{"x":1},"b":1}');
});
