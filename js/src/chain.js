// Receipt chains inside an evidence bundle (docs/spec/bundle.md, "Chains"): every
// `parents` link of every receipt, checked against the content the bundle holds.
// The same rules as llmseal.bundle.chain and llmseal.bundle._transform.
import { canonicalize } from './jcs.js';
import { hashJson, hashResponse } from './content.js';
import { isObject } from './receipt.js';

export const REDACTED = '[redacted]';
export const RELATIONS = ['upstream', 'input', 'previous'];
export const TRANSFORMS = ['identity', 'reserialize', 'redact', 'augment'];
const MISSING = Symbol('missing');

export function isReceiptObject(value) {
  return isObject(value) && Object.hasOwn(value, 'signature') && Object.hasOwn(value, 'receipt_id');
}

// The upstream receipts a receipt's `parents` claim embeds whole (a chained gateway).
export function embedded(receipt) {
  const value = receipt.parents;
  return Array.isArray(value) ? value.filter(isReceiptObject) : [];
}

// `links`: [{child, parent, relation, ops, failures, notes}], in the Python order.
// `items`: the bundle's items ({receipt, request, response, digest}) in file order;
// `disclosed`: receipt_id -> Map(index -> message) a disclosure proved.
export async function checkLinks(items, disclosed, digestOf) {
  const byDigest = new Map(items.map((item) => [item.digest, item]));
  const order = new Map(items.map((item, n) => [item.receipt.receipt_id, n]));
  const links = [];
  for (const item of items) {
    const child = item.receipt.receipt_id;
    const raw = item.receipt.parents;
    if (raw === undefined || raw === null) continue; // as Python reads a null claim
    if (!Array.isArray(raw) || !raw.every(isObject)) {
      links.push(link(child, null, '?', ["the 'parents' claim is not a list of objects"]));
      continue;
    }
    for (const entry of raw) {
      const spec = isReceiptObject(entry)
        ? { digest: await digestOf(entry), relation: 'upstream', transform: {} }
        : entry;
      const relation = spec.relation;
      const parent = typeof spec.digest === 'string' ? byDigest.get(spec.digest) : undefined;
      if (!RELATIONS.includes(relation)) {
        links.push(link(child, null, String(relation), [`unknown relation ${pyRepr(relation)}`]));
      } else if (parent === undefined) {
        links.push(link(child, null, relation, [`its ${relation} parent ${String(spec.digest).slice(0, 16)}... is not in the bundle`]));
      } else {
        links.push(await check(item, parent, spec, disclosed, order));
      }
    }
  }
  return links;
}

function link(child, parent, relation, failures, notes = [], ops = []) {
  return { child, parent, relation, ops, failures, notes };
}

async function check(child, parent, spec, disclosed, order) {
  const cid = child.receipt.receipt_id;
  const pid = parent.receipt.receipt_id;
  const failures = [];
  const notes = [];
  let ops = [];
  if (spec.relation === 'upstream') {
    ops = await upstream(child, parent, spec.transform, failures, notes);
  } else if (spec.relation === 'input') {
    inputLink(child, parent, disclosed.get(cid) ?? new Map(), failures);
  } else {
    if (order.get(pid) > order.get(cid)) failures.push(`turn ${cid} is listed before its previous turn ${pid}`);
    previous(child, parent, failures);
  }
  return link(cid, pid, spec.relation, failures, notes, ops);
}

async function upstream(child, parent, transform, failures, notes) {
  const spec = isObject(transform) ? transform : {};
  const ops = [];
  const sides = [
    ['request', child.request, parent.request, [child.receipt.prompt_hash, parent.receipt.prompt_hash]],
    ['response', parent.response, child.response, [parent.receipt.output_hash, child.receipt.output_hash]],
  ];
  for (const [side, before, after, hashes] of sides) {
    const one = Object.hasOwn(spec, side) ? spec[side] : { op: 'identity' };
    const op = isObject(one) ? one.op : undefined;
    if (!TRANSFORMS.includes(op)) {
      failures.push(`the ${side} transform ${pyRepr(op)} is not one of ['augment', 'identity', 'redact', 'reserialize']`);
      continue;
    }
    ops.push(op);
    if (op === 'identity') {
      if (hashes[0] !== hashes[1]) failures.push(`the ${side} changed between the hops, but the transform is identity`);
      continue;
    }
    if (before == null || after == null) {
      notes.push(`${side} transform ${op} declared by the hop, not recomputed (content absent)`);
      continue;
    }
    const problem = await applyTransform(op, one, before, after, side === 'response');
    if (problem) failures.push(`the ${side} is not the declared ${op} of the other hop's: ${problem}`);
  }
  return ops;
}

// null if `after` is the declared transform of `before`, else what differs.
export async function applyTransform(op, spec, before, after, response) {
  const pointers = spec[{ reserialize: 'preserves', redact: 'paths', augment: 'added' }[op]] ?? [];
  if (!Array.isArray(pointers) || !pointers.every((p) => typeof p === 'string')) return 'its pointers are not a list of JSON pointers';
  if (op === 'reserialize') {
    const changed = [];
    for (const p of pointers) if (!(await same(get(before, p), get(after, p)))) changed.push(p);
    return changed.length ? `${pyList(changed)} differ` : null;
  }
  let edited = before;
  let target = after;
  for (const p of pointers) {
    if (op === 'redact') edited = put(edited, p, REDACTED);
    else target = put(target, p, MISSING);
  }
  const digest = response ? hashResponse : hashJson;
  return (await digest(edited)) === (await digest(target)) ? null : 'other members differ too';
}

async function same(a, b) {
  if (a === MISSING || b === MISSING) return false;
  return (await hashJson(a)) === (await hashJson(b));
}

function tokens(pointer) {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return null;
  return pointer.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

const isIndex = (token, list) => /^[0-9]+$/.test(token) && Number(token) < list.length;

function get(value, pointer) {
  const parts = tokens(pointer);
  if (parts === null) return MISSING;
  let at = value;
  for (const token of parts) {
    if (isObject(at)) at = Object.hasOwn(at, token) ? at[token] : MISSING;
    else if (Array.isArray(at) && isIndex(token, at)) at = at[Number(token)];
    else return MISSING;
    if (at === MISSING) return MISSING;
  }
  return at;
}

// A copy of `value` with `pointer` set to `replacement` (removed for MISSING).
function put(value, pointer, replacement) {
  const parts = tokens(pointer);
  if (parts === null || !parts.length) return value;
  const [head, ...tail] = parts;
  const rest = `/${tail.map((t) => t.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;
  if (isObject(value) && Object.hasOwn(value, head)) {
    const copy = Object.assign(Object.create(null), value);
    if (parts.length === 1) {
      if (replacement === MISSING) delete copy[head];
      else copy[head] = replacement;
    } else {
      copy[head] = put(value[head], rest, replacement);
    }
    return copy;
  }
  if (Array.isArray(value) && isIndex(head, value)) {
    const items = [...value];
    const i = Number(head);
    items[i] = parts.length === 1 && replacement !== MISSING ? replacement : put(items[i], rest, replacement);
    return items;
  }
  return value;
}

// The answer text of a chat or completion response (each choice).
export function outputTexts(response) {
  const choices = isObject(response) ? response.choices : undefined;
  const texts = [];
  for (const choice of Array.isArray(choices) ? choices : []) {
    if (!isObject(choice)) continue;
    const message = choice.message;
    const text = isObject(message) ? message.content : choice.text;
    if (typeof text === 'string' && text) texts.push(text);
  }
  return texts;
}

function messageTexts(messages) {
  const texts = [];
  for (const message of messages) {
    const content = isObject(message) ? message.content : undefined;
    if (typeof content === 'string') texts.push(content);
    else if (Array.isArray(content)) {
      for (const part of content) if (isObject(part) && typeof part.text === 'string') texts.push(part.text);
    }
  }
  return texts;
}

function inputLink(child, parent, disclosed, failures) {
  const answers = outputTexts(parent.response);
  if (parent.response == null || !answers.length) {
    failures.push(`the output of input ${parent.receipt.receipt_id} is not in the bundle`);
    return;
  }
  const messages = isObject(child.request) ? child.request.messages : undefined;
  const shown = Array.isArray(messages) ? messages : [...disclosed.values()];
  if (!shown.length) {
    failures.push(`the request of ${child.receipt.receipt_id} is not in the bundle`);
    return;
  }
  const texts = messageTexts(shown);
  if (!answers.some((answer) => texts.some((text) => text.includes(answer)))) {
    failures.push(`the output of input ${parent.receipt.receipt_id} does not appear in the signed prompt of ${child.receipt.receipt_id}`);
  }
}

function previous(child, parent, failures) {
  const mine = isObject(child.request) ? child.request.messages : undefined;
  const theirs = isObject(parent.request) ? parent.request.messages : undefined;
  const answers = outputTexts(parent.response);
  const cid = child.receipt.receipt_id;
  if (!Array.isArray(mine) || !Array.isArray(theirs) || !answers.length) {
    failures.push(`turn ${cid}: the transcript content is not in the bundle`);
    return;
  }
  const n = theirs.length;
  // Compared as JSON (RFC 8785), so `true` and `1` differ.
  if (mine.length < n || canonicalize(mine.slice(0, n)) !== canonicalize(theirs)) {
    failures.push(`turn ${cid} does not continue the messages of its previous turn`);
    return;
  }
  const reply = mine[n];
  if (!isObject(reply) || reply.role !== 'assistant' || reply.content !== answers[0]) {
    failures.push(`turn ${cid} does not carry its previous turn's answer as signed`);
  }
}

// Python's repr for the few values a reason quotes (None, strings, numbers).
export function pyRepr(value) {
  if (value === undefined || value === null) return 'None';
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}

function pyList(values) {
  return `[${values.map(pyRepr).join(', ')}]`;
}
