// The verify page: reads #input, #keys / #keys-url and the optional boxes, runs
// verify() in the page, and shows the verdict in #result[data-status].
//
// Everything a receipt carries is shown with textContent, never parsed as markup,
// and the page's CSP lets no other script run. The only requests made are for the
// key-set and proof addresses the user gave (or a link's ?receipt=&keys=&proof=).
import { parseKeySet, revokedAsOf, verify, verifyBundle } from './js/index.js';
import { parseLenient, parseStrict } from './js/time.js';

const MAX_INPUT = 16 << 20; // characters; larger answers are for `llmseal verify`
// Browsers take seconds per megabyte to lay out a textarea (half a minute for
// 50 MB), so big pastes and files are kept in memory and the box shows a note.
const IN_BOX = 512 << 10;
const TEXT_FIELDS = ['input', 'prompt', 'output', 'keys', 'log-vkeys', 'witness-policy'];
const FETCH_TIMEOUT_MS = 15000;
const VALUE_LIMIT = 4000;
const $ = (id) => document.getElementById(id);

const VERDICTS = {
  valid: ['VALID', 'The signature verifies with the issuer’s key, the key was not revoked when the receipt was issued, and every piece of content you gave matches what was signed.'],
  tampered: ['TAMPERED', 'Something changed after signing: the signature does not verify, or the content you gave is not what the receipt covers.'],
  unknown_key: ['UNKNOWN KEY', 'The key that signed this receipt is not in the key set you gave, so nothing can be said about it.'],
  revoked: ['REVOKED', 'The issuer revoked the signing key before this receipt was issued (or first proven to exist). Do not trust it.'],
  error: ['CANNOT VERIFY', 'This input cannot be verified as it is:'],
};

// ---- reading the form -------------------------------------------------------

class PageError extends Error {}

async function fetchText(url, what) {
  let target;
  try {
    target = new URL(url, document.baseURI);
  } catch {
    throw new PageError(`the ${what} address is not a URL: ${url}`);
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new PageError(`the ${what} address must be http(s): ${url}`);
  let response;
  try {
    response = await fetch(target, { credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (error) {
    throw new PageError(`cannot fetch the ${what} from ${target.href}: ${error.message} (is it reachable, and does it allow cross-origin reads?)`);
  }
  if (!response.ok) throw new PageError(`the ${what} address ${target.href} answered HTTP ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_INPUT) throw new PageError(`the ${what} at ${target.href} is too large`);
  return text;
}

const held = new Map(); // field id -> text kept out of its box

function tooLarge(what, length) {
  return new PageError(`the ${what} is ${(length / 1e6).toFixed(1)} million characters; this page verifies up to ${MAX_INPUT >> 20} MiB (use \`llmseal verify\` for larger files)`);
}

// Put text in a field: in the box if it is small, in memory (with a note in the box) if not.
function put(id, text, source) {
  if (text.length > MAX_INPUT) throw tooLarge(source, text.length);
  if (text.length > IN_BOX) {
    held.set(id, text);
    $(id).value = `[${source}: ${text.length.toLocaleString('en')} characters, kept out of this box so the page stays responsive; they are verified as they are. Type here to replace them.]`;
  } else {
    held.delete(id);
    $(id).value = text;
  }
}

function value(id) {
  return held.get(id) ?? $(id).value;
}

function sized(id, what) {
  const text = value(id);
  if (text.length > MAX_INPUT) throw tooLarge(what, text.length);
  return text.trim() ? text : null;
}

async function readForm() {
  const input = sized('input', 'input');
  if (input === null) throw new PageError('paste or drop something to verify into the first box');
  const keysText = sized('keys', 'key set');
  const keysUrl = $('keys-url').value.trim();
  if (keysText === null && !keysUrl) throw new PageError('give the issuer’s key set: its address, or the JSON itself');
  const keys = keysText ?? (await fetchText(keysUrl, 'key set'));
  const options = { keys, prompt: sized('prompt', 'request'), output: sized('output', 'response') };
  const vkeys = value('log-vkeys').split('\n').map((line) => line.trim()).filter(Boolean);
  if (vkeys.length) options.logVkeys = vkeys;
  const policy = sized('witness-policy', 'witness policy');
  if (policy !== null) options.witnessPolicy = policy;
  const proofUrl = $('proof-url').value.trim();
  if (proofUrl) options.proof = await fetchText(proofUrl, 'proof');
  return { input, options };
}

// ---- showing the verdict ------------------------------------------------------

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function badge(status, text) {
  return el('span', text ?? status, `badge ${status}`);
}

function shown(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return text.length > VALUE_LIMIT ? `${text.slice(0, VALUE_LIMIT)}… (${text.length} characters)` : text;
}

function table(rows) {
  const t = el('table');
  const body = t.appendChild(el('tbody'));
  for (const [name, value] of rows) {
    const tr = body.appendChild(el('tr'));
    tr.appendChild(el('th', name)).scope = 'row';
    const cell = tr.appendChild(el('td'));
    if (value instanceof Node) cell.appendChild(value);
    else if (typeof value === 'string' && !value.includes('\n')) cell.appendChild(el('span', shown(value), 'mono'));
    else cell.appendChild(el('pre', shown(value)));
  }
  return t;
}

function section(parent, title) {
  parent.appendChild(el('h3', title));
  return parent;
}

function keySection(parent, result, keys) {
  const receipt = result.receipt;
  if (!receipt || !keys) return;
  section(parent, 'Signing key');
  const entry = keys.get(receipt.key_id);
  if (!entry) {
    parent.appendChild(el('p', `${receipt.key_id} is not in the key set (it lists: ${[...keys.keys()].join(', ') || 'nothing'}).`));
    return;
  }
  const issued = parseStrict(receipt.issued_at);
  const proven = result.log && result.log.proven_time ? Date.parse(result.log.proven_time) * 1000 : null;
  const at = proven === null ? issued : Math.max(proven, issued);
  const revoked = issued !== null && revokedAsOf(entry, at);
  const state = entry.status === 'active' ? badge('active', 'active') : badge(revoked ? 'revoked' : 'valid', revoked ? 'revoked when issued' : 'revoked later');
  parent.appendChild(table([
    ['key_id', entry.key_id],
    ['algorithm', entry.algorithm],
    ['status', state],
    ['created_at', entry.entry.created_at ?? '—'],
    ['rotated_at', entry.entry.rotated_at ?? '—'],
  ]));
}

function contentSection(parent, result) {
  section(parent, 'Content checked');
  const rows = ['prompt', 'output'].map((name) => [name === 'prompt' ? 'request (prompt_hash)' : 'response (output_hash)',
    result.content_checked.includes(name) ? (result.reasons.some((r) => r.includes(`supplied ${name}`)) ? 'does not match' : 'matches') : 'not supplied']);
  parent.appendChild(table(rows));
  if (result.status === 'valid' && !result.content_checked.includes('output')) {
    parent.appendChild(el('p', 'Only the receipt was checked: without the response it covers, this says nothing about the answer itself.', 'warn'));
  }
}

function logSection(parent, log) {
  if (!log) return;
  section(parent, 'Transparency log');
  const rows = [['included', log.verified ? badge('valid', 'proven') : badge('tampered', 'not proven')]];
  for (const name of ['origin', 'index', 'tree_size', 'root']) if (log[name] != null) rows.push([name, String(log[name])]);
  if (log.proven_time) rows.push(['proven to exist by', log.proven_time]);
  for (const c of log.cosignatures ?? []) rows.push([`cosigned by ${c.name}`, `verified, at ${new Date(c.time * 1000).toISOString()}`]);
  if (log.quorum != null) rows.push(['witness quorum', log.quorum ? 'met' : 'not met']);
  parent.appendChild(table(rows));
  if (log.reasons && log.reasons.length) parent.appendChild(list(log.reasons));
}

function list(items) {
  const ul = el('ul', null, 'reasons');
  for (const item of items) ul.appendChild(el('li', item));
  return ul;
}

function claimsSection(parent, receipt) {
  if (!receipt) return;
  section(parent, 'What the receipt claims');
  parent.appendChild(table(Object.entries(receipt)));
}

function render(result, keys, ms) {
  const box = $('result');
  const [word, explanation] = VERDICTS[result.status] ?? VERDICTS.error;
  const verdict = $('verdict');
  verdict.replaceChildren(badge(result.status, word), el('span', result.receipt ? `receipt ${result.receipt.receipt_id}` : ''));
  $('summary').textContent = explanation;
  const details = $('details');
  details.replaceChildren();
  if (result.reasons.length) details.appendChild(list(result.reasons));
  if (result.status !== 'error') contentSection(details, result);
  keySection(details, result, keys);
  logSection(details, result.log);
  claimsSection(details, result.receipt);
  if (ms !== null) details.appendChild(el('p', `Verified in this page in ${ms.toFixed(1)} ms.`, 'help'));
  box.hidden = false;
  box.dataset.status = result.status;
}

// ---- evidence bundles (docs/spec/bundle.md) -----------------------------------

const BUNDLE_FORMAT = 'llmseal-bundle/1';
// The status a failed bundle shows: its worst receipt, else (a link, a log proof,
// a disclosure or a carried report failed) tampered.
const WORST = ['unknown_key', 'revoked', 'tampered'];

function looksLikeBundle(text) {
  if (!text.includes(BUNDLE_FORMAT)) return false;
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === 'object' && value.bundle !== undefined;
  } catch {
    return false;
  }
}

function bundleStatus(result) {
  if (result.error) return 'error';
  if (result.ok) return 'valid';
  return WORST.find((s) => result.items.some((i) => i.status === s)) ?? 'tampered';
}

function renderBundle(result, ms) {
  const status = bundleStatus(result);
  const box = $('result');
  const [word] = VERDICTS[status];
  const count = result.items.length;
  $('verdict').replaceChildren(badge(status, word), el('span', result.error ? 'evidence bundle' : `bundle of ${count} receipt${count === 1 ? '' : 's'}`));
  $('summary').textContent = result.error ? VERDICTS.error[1]
    : result.ok ? 'Every receipt in the bundle verifies with the key set you gave, with the content, log proofs and disclosures it carries, and every link between the receipts holds.'
      : 'Something in the bundle does not hold:';
  const details = $('details');
  details.replaceChildren();
  if (result.failures.length) details.appendChild(list(result.failures));
  if (count) {
    section(details, 'Receipts');
    details.appendChild(table(result.items.map((i) => {
      const cell = el('span');
      cell.append(badge(i.status, i.status), el('span', `  ${i.key_source}${i.log ? (i.log.verified ? ', logged' : ', log proof not verified') : ''}${i.disclosed ? `, disclosed ${i.disclosed}` : ''}`));
      return [i.receipt_id + (i.receipt_id === result.subject ? ' (subject)' : ''), cell];
    })));
  }
  if (result.links.length) {
    section(details, 'Links');
    details.appendChild(table(result.links.map((l) => [`${l.child} → ${l.parent ?? 'missing'}`,
      `${l.relation}${l.ops.length ? ` (${l.ops.join(', ')})` : ''}: ${l.failures.length ? l.failures.join('; ') : 'holds'}`])));
  }
  if (ms !== null) details.appendChild(el('p', `Verified in this page in ${ms.toFixed(1)} ms.`, 'help'));
  box.hidden = false;
  box.dataset.status = status;
}

function fail(message) {
  render({ status: 'error', reasons: [message], receipt: null, content_checked: [], log: null }, null, null);
}

// ---- running ------------------------------------------------------------------

let running = false;

async function run() {
  if (running) return;
  running = true;
  const button = $('verify');
  const box = $('result');
  button.disabled = true;
  box.removeAttribute('data-status');
  box.setAttribute('aria-busy', 'true');
  try {
    const started = performance.now();
    const { input, options } = await readForm();
    if (looksLikeBundle(input)) {
      const result = await verifyBundle(input, options);
      renderBundle(result, performance.now() - started);
      return;
    }
    let keys = null;
    try {
      keys = parseKeySet(options.keys);
    } catch {
      keys = null; // verify() reports why
    }
    const result = await verify(input, options);
    render(result, keys, performance.now() - started);
  } catch (error) {
    fail(error instanceof PageError ? error.message : `unexpected problem: ${error.message}`);
  } finally {
    box.removeAttribute('aria-busy');
    button.disabled = false;
    running = false;
  }
}

// ---- files and links ----------------------------------------------------------

async function readFile(file) {
  if (file.size > MAX_INPUT) throw new PageError(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; this page verifies up to ${MAX_INPUT >> 20} MiB`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
  } catch {
    throw new PageError(`${file.name} is not UTF-8 text`);
  }
}

// An evidence sample is three files; anything else dropped alone is the input.
const SLOTS = { 'receipt.json': 'input', 'request.json': 'prompt', 'response.json': 'output', 'keys.json': 'keys' };

async function takeFiles(files, fallback) {
  try {
    const list = [...files];
    const sample = list.length > 1 && list.some((f) => f.name === 'receipt.json');
    for (const file of list) {
      if (file.name === 'manifest.json') continue;
      const slot = sample || file.name === 'keys.json' ? SLOTS[file.name] ?? fallback : fallback;
      put(slot, await readFile(file), file.name);
      if (slot === 'prompt' || slot === 'output') $('content').open = true;
    }
    showSize();
  } catch (error) {
    fail(error.message);
  }
}

function showSize() {
  const n = value('input').length;
  $('input-size').textContent = n > MAX_INPUT ? `${(n / 1e6).toFixed(1)} million characters: too large for this page` : n ? `${n.toLocaleString('en')} characters` : '';
}

async function fromLink() {
  const params = new URLSearchParams(location.search);
  const receiptUrl = params.get('receipt');
  if (params.get('keys')) $('keys-url').value = params.get('keys');
  if (params.get('proof')) {
    $('proof-url').value = params.get('proof');
    $('log').open = true;
  }
  if (!receiptUrl) return;
  try {
    put('input', await fetchText(receiptUrl, 'receipt'), receiptUrl);
    showSize();
  } catch (error) {
    fail(error.message);
    return;
  }
  if ($('keys-url').value) run();
}

function wire() {
  $('form').addEventListener('submit', (event) => {
    event.preventDefault();
    run();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  for (const id of TEXT_FIELDS) {
    const box = $(id);
    box.addEventListener('input', () => {
      held.delete(id); // typed over the note: the box is the input again
      if (id === 'input') showSize();
    });
    box.addEventListener('paste', (event) => {
      const text = event.clipboardData ? event.clipboardData.getData('text/plain') : '';
      if (text.length <= IN_BOX) return; // an ordinary paste
      event.preventDefault();
      try {
        put(id, text, 'pasted text');
        showSize();
      } catch (error) {
        fail(error.message);
      }
    });
  }
  $('input-file').addEventListener('change', (event) => takeFiles(event.target.files, 'input'));
  $('keys-file').addEventListener('change', (event) => takeFiles(event.target.files, 'keys'));
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('dragging');
    if (event.dataTransfer.files.length) takeFiles(event.dataTransfer.files, 'input');
  });
  $('keys').addEventListener('drop', (event) => {
    if (!event.dataTransfer.files.length) return;
    event.preventDefault();
    event.stopPropagation();
    takeFiles(event.dataTransfer.files, 'keys');
  });
}

// For the console and for tools driving the page: the same verify() the page uses.
globalThis.llmseal = Object.freeze({ verify, verifyBundle, parseKeySet, parseLenient });
wire();
fromLink();
