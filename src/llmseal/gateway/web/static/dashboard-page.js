// The issuer dashboard: polls this gateway's /metrics (Prometheus text) and
// /dashboard/state (keys, recent receipts, log), and shows them. Read-only; every
// value is set with textContent.

const METRICS_EVERY_MS = 2000;
const STATE_EVERY_MS = 5000;
const SPARK_POINTS = 60;
const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

// ---- Prometheus text exposition (format 0.0.4), just the lines we need --------

export function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) samples.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return samples;
}

function sum(samples, prefix) {
  let total = 0;
  for (const [name, value] of samples) if (name === prefix || name.startsWith(`${prefix}{`)) total += value;
  return total;
}

function matching(samples, prefix, label) {
  let total = 0;
  for (const [name, value] of samples) if (name.startsWith(`${prefix}{`) && name.includes(label)) total += value;
  return total;
}

function buckets(samples, name) {
  const out = [];
  for (const [key, value] of samples) {
    const m = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`).exec(key);
    if (m) out.push([m[1] === '+Inf' ? Infinity : Number(m[1]), value]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

// The q-quantile of the observations between two scrapes, interpolated inside
// the bucket it falls in (as Prometheus' histogram_quantile does).
export function quantile(q, now, before) {
  const delta = now.map(([le, count], i) => [le, count - (before ? before[i][1] : 0)]);
  const total = delta.length ? delta[delta.length - 1][1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of delta) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      return lower + (le - lower) * ((rank - below) / Math.max(count - below, 1e-9));
    }
    lower = le;
    below = count;
  }
  return lower;
}

function seconds(value) {
  if (value === null) return '—';
  if (value < 0.001) return `${(value * 1e6).toFixed(0)} µs`;
  if (value < 1) return `${(value * 1e3).toFixed(1)} ms`;
  return `${value.toFixed(2)} s`;
}

// ---- polling -------------------------------------------------------------------

let previous = null;
const history = [];

async function pollMetrics() {
  const response = await fetch('/metrics', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/metrics answered HTTP ${response.status}`);
  const samples = parseMetrics(await response.text());
  const sample = {
    at: performance.now(),
    receipts: sum(samples, 'llmseal_receipts_total'),
    sealed: matching(samples, 'llmseal_requests_total', 'route="signed"'),
    c4: matching(samples, 'llmseal_requests_total', 'status="4xx"'),
    c5: matching(samples, 'llmseal_requests_total', 'status="5xx"'),
    upstream: sum(samples, 'llmseal_upstream_errors_total'),
    store: sum(samples, 'llmseal_store_errors_total'),
    sign: buckets(samples, 'llmseal_signing_seconds'),
    exchange: buckets(samples, 'llmseal_sealed_request_seconds'),
  };
  $('receipts-total').textContent = sample.receipts.toLocaleString('en');
  $('errors').textContent = `${sample.c4} / ${sample.c5} / ${sample.upstream} / ${sample.store}`;
  if (previous) {
    const dt = (sample.at - previous.at) / 1000;
    const rate = Math.max(0, (sample.receipts - previous.receipts) / dt);
    $('receipts-rate').textContent = rate.toFixed(rate < 10 ? 1 : 0);
    $('sealed-rate').textContent = Math.max(0, (sample.sealed - previous.sealed) / dt).toFixed(1);
    history.push(rate);
    if (history.length > SPARK_POINTS) history.shift();
    spark();
  }
  // Over the last interval when there was traffic, else over the whole run.
  const since = previous && sample.sign.length && sample.sign.at(-1)[1] > previous.sign.at(-1)[1] ? previous : null;
  $('sign-latency').textContent = `${seconds(quantile(0.5, sample.sign, since?.sign))} / ${seconds(quantile(0.99, sample.sign, since?.sign))}`;
  const exchangeWindow = since && sample.exchange.length === since.exchange.length ? since.exchange : null;
  $('sealed-latency').textContent = `${seconds(quantile(0.5, sample.exchange, exchangeWindow))} / ${seconds(quantile(0.99, sample.exchange, exchangeWindow))}`;
  previous = sample;
  document.body.dataset.samples = String(Number(document.body.dataset.samples ?? 0) + 1);
}

function spark() {
  const top = Math.max(1, ...history);
  const points = history.map((value, i) => `${(i * 120) / (SPARK_POINTS - 1)},${30 - (value / top) * 28}`);
  $('spark-line').setAttribute('points', points.join(' '));
}

function link(href, text) {
  const a = el('a', text);
  a.href = href;
  return a;
}

function cells(row, values) {
  for (const value of values) {
    const td = row.appendChild(el('td'));
    if (value instanceof Node) td.appendChild(value);
    else td.textContent = value ?? '—';
  }
}

function showState(state) {
  $('issuer').textContent = state.issuer ? `· ${state.issuer}` : '';
  const recent = $('recent');
  recent.replaceChildren();
  for (const r of state.recent) {
    const id = encodeURIComponent(r.receipt_id);
    const check = el('span');
    check.append(link(`/verify?receipt=/v1/receipts/${id}&keys=/v1/receipts/keys`, 'verify'), ' · ', link(`/v1/receipts/${id}`, 'JSON'));
    cells(recent.appendChild(el('tr')), [r.issued_at, el('span', r.receipt_id, 'mono'), r.model_id, r.key_id, check]);
  }
  $('recent-empty').hidden = state.recent.length > 0;
  const keys = $('keys');
  keys.replaceChildren();
  for (const k of state.keys) {
    const label = k.signing ? 'signing' : k.status === 'revoked' ? (k.revoked_now ? 'revoked' : 'revoked later') : 'active';
    const badge = el('span', label, `badge ${k.status === 'revoked' ? 'revoked' : 'active'}`);
    cells(keys.appendChild(el('tr')), [el('span', k.key_id, 'mono'), badge, k.algorithm, k.created_at, k.rotated_at, el('span', k.fingerprint, 'mono')]);
  }
  showLog(state.log);
  document.body.dataset.state = 'loaded';
}

function showLog(log) {
  $('log-section').hidden = !log;
  if (!log) return;
  const box = $('log');
  box.replaceChildren();
  if (log.error) {
    box.appendChild(el('p', log.error, 'warn'));
    return;
  }
  const table = box.appendChild(el('table'));
  const rows = [['origin', log.origin], ['tree size', log.size.toLocaleString('en')], ['root hash', log.root], ['log key', log.vkey]];
  for (const c of log.cosignatures) rows.push([`cosigned by ${c.name}`, c.time ? `${new Date(c.time * 1000).toISOString()} (as claimed; a witness policy judges it)` : 'not a timestamped cosignature']);
  if (!log.cosignatures.length) rows.push(['witness cosignatures', 'none yet']);
  for (const [name, value] of rows) {
    const tr = table.appendChild(el('tr'));
    tr.appendChild(el('th', name)).scope = 'row';
    tr.appendChild(el('td', value, 'mono'));
  }
  if (log.checkpoint) box.appendChild(el('pre', log.checkpoint));
}

async function pollState() {
  const response = await fetch('/dashboard/state', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/dashboard/state answered HTTP ${response.status}`);
  showState(await response.json());
}

function every(ms, task) {
  const tick = async () => {
    try {
      await task();
      $('updated').textContent = `Updated ${new Date().toLocaleTimeString()}.`;
    } catch (error) {
      $('updated').textContent = `Cannot update: ${error.message}`;
    }
    setTimeout(tick, ms);
  };
  tick();
}

every(METRICS_EVERY_MS, pollMetrics);
every(STATE_EVERY_MS, pollState);
