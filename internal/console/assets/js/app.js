// The console: a hash-routed page over the JSON API. Views render into
// <main>; every answer of the API that a person acted on is shown where
// they acted.
import { api, errorOf } from './api.js';
import { el, time, badge, pct, ms, empty, spark, deliveriesChart, latencyChart, legend, confirmDialog } from './ui.js';
import { healthCell, healthList, reasonText } from './health.js';
import { kv, field, clearErrors, fieldError, parseJSONField, canon, eventBody } from './forms.js';
import { registry } from './registry.js';
import './extensions.js';

const main = document.getElementById('main');
const flashBox = document.getElementById('flash');
let eventTypes = null; // the catalogue, read once

async function catalogue() {
  if (!eventTypes) {
    const r = await api.eventTypes();
    eventTypes = r.ok ? r.body.items : [];
  }
  return eventTypes;
}

function flash(kind, ...content) {
  flashBox.replaceChildren(content.length ? el('div', { class: `panel ${kind}` }, ...content) : '');
}

// flashNext shows a message on the page the next navigation draws.
let pending = null;
function flashNext(kind, text) {
  pending = [kind, text];
}

// answerBox shows an API answer next to the control that asked for it.
function answerBox() {
  return el('div', { class: 'answer', role: 'status', 'aria-live': 'polite' });
}
function showAnswer(box, res, okText) {
  if (res.ok) box.replaceChildren(el('div', { class: 'panel ok' }, okText));
  else box.replaceChildren(el('div', { class: 'panel bad', role: 'alert' }, errorOf(res)));
}

function setTitle(text) {
  document.title = `${text} · Webhooks console`;
}

function heading(text, ...extra) {
  setTitle(text);
  return el('div', { class: 'row spread', id: 'heading' }, el('h1', { tabindex: '-1' }, text), ...extra);
}

function failure(res, what) {
  return el('div', { class: 'panel bad', role: 'alert' }, `${what}: ${errorOf(res)}`);
}

async function busy(button, fn) {
  button.disabled = true;
  try { return await fn(); } finally { button.disabled = false; }
}

// ---- routing -------------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query] = raw.split('?');
  return { path, params: new URLSearchParams(query || '') };
}

export function go(path, params) {
  const q = params && [...params].length ? '?' + params.toString() : '';
  location.hash = '#' + path + q;
}

const routes = [
  [/^\/$/, (m, p) => viewWebhooks(p)],
  [/^\/new$/, () => viewForm(null)],
  [/^\/trigger$/, (m, p) => viewTrigger(p)],
  [/^\/events$/, () => viewEvents()],
  [/^\/webhooks\/([^/]+)$/, (m, p) => viewWebhook(decodeURIComponent(m[1]), p)],
  [/^\/webhooks\/([^/]+)\/edit$/, (m) => viewForm(decodeURIComponent(m[1]))],
  [/^\/webhooks\/([^/]+)\/deliveries\/([^/]+)$/, (m) => viewDelivery(decodeURIComponent(m[1]), decodeURIComponent(m[2]))],
];

let renderSeq = 0;
async function render(keepFlash) {
  const seq = ++renderSeq;
  const { path, params } = parseHash();
  if (pending) { flash(...pending); pending = null; } else if (!keepFlash) flash();
  for (const a of document.querySelectorAll('[data-nav]')) {
    const on = (a.dataset.nav === 'webhooks' && (path === '/' || path.startsWith('/webhooks'))) || '/' + a.dataset.nav === path;
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  let node;
  const ext = registry.routes.find((r) => r.pattern.test(path));
  try {
    if (ext) {
      node = el('div');
      await ext.render(node, path.match(ext.pattern), { api, go, rerender: render });
    } else {
      const r = routes.find(([re]) => re.test(path));
      node = r ? await r[1](path.match(r[0]), params) : notFound();
    }
  } catch (e) {
    node = el('div', { class: 'panel bad', role: 'alert' }, 'The console failed to show this page: ' + e.message);
  }
  if (seq !== renderSeq) return; // a later navigation won
  main.replaceChildren(node);
  const h1 = main.querySelector('h1');
  if (h1 && !keepFlash) h1.focus({ preventScroll: true });
}

function notFound() {
  return el('div', {}, heading('Not found'), el('p', {}, 'No such page. ', el('a', { href: '#/' }, 'Back to the webhooks')));
}

window.addEventListener('hashchange', () => render());
render(); // a module runs once the document is parsed

// ---- webhooks list -------------------------------------------------------

async function viewWebhooks(params) {
  const status = params.get('status') || '', event = params.get('event') || '', cursor = params.get('cursor') || '';
  const [res, events] = await Promise.all([api.listWebhooks({ status, event, cursor }), catalogue()]);
  const root = el('div', {}, heading('Webhooks', el('a', { class: 'button primary', href: '#/new' }, 'New webhook')));

  const statusSel = el('select', { id: 'f-status', name: 'status' },
    el('option', { value: '' }, 'any'), ['active', 'inactive'].map((s) => el('option', { value: s, selected: s === status }, s)));
  const eventSel = el('select', { id: 'f-event', name: 'event' },
    el('option', { value: '' }, 'any'), events.map((e) => el('option', { value: e.name, selected: e.name === event }, e.name)));
  const apply = () => {
    const p = new URLSearchParams();
    if (statusSel.value) p.set('status', statusSel.value);
    if (eventSel.value) p.set('event', eventSel.value);
    go('/', p);
  };
  statusSel.addEventListener('change', apply);
  eventSel.addEventListener('change', apply);
  root.append(el('div', { class: 'filters', role: 'search', 'aria-label': 'Filter webhooks' },
    el('div', {}, el('label', { for: 'f-status' }, 'Status'), statusSel),
    el('div', {}, el('label', { for: 'f-event' }, 'Event'), eventSel)));

  if (!res.ok) {
    root.append(failure(res, 'The webhooks could not be listed'));
    return root;
  }
  const items = res.body.items;
  if (!items.length) {
    root.append(empty(status || event ? 'No webhook matches these filters.' : 'No webhooks yet — ',
      status || event ? '' : el('a', { href: '#/new' }, 'create one')));
    return root;
  }
  const cols = registry.webhookColumns;
  const table = el('table', { class: 'responsive', id: 'webhooks' },
    el('caption', { class: 'sr-only' }, 'Webhooks, with their last 24 hours'),
    el('thead', {}, el('tr', {}, ['Name', 'URL', 'Events', 'Status', 'Health', '24 h success', '24 h deliveries', ...cols.map((c) => c.label)]
      .map((h, i) => el('th', { scope: 'col', class: i === 5 ? 'num' : '' }, h)))));
  const body = el('tbody');
  table.append(body);
  for (const w of items) {
    const rate = el('td', { class: 'num', 'data-label': '24 h success' }, '…');
    const chart = el('td', { 'data-label': '24 h deliveries' }, '…');
    body.append(el('tr', { 'data-id': w.id },
      el('td', { 'data-label': 'Name' }, el('a', { href: `#/webhooks/${encodeURIComponent(w.id)}` }, w.name || w.id)),
      el('td', { class: 'cell-url', 'data-label': 'URL' }, w.url),
      el('td', { class: 'wrap', 'data-label': 'Events' }, w.events.join(', ')),
      el('td', { 'data-label': 'Status' }, el('div', {}, badge(w.status), w.status_reason ? el('div', { class: 'muted', title: reasonText(w.status_reason) }, w.status_reason.replace(/_/g, ' ')) : '')),
      el('td', { 'data-label': 'Health', class: 'health' }, healthCell(w)),
      rate, chart, cols.map((c) => el('td', { 'data-label': c.label }, c.cell(w)))));
    api.stats(w.id, '24h').then((s) => {
      if (!s.ok) { rate.replaceChildren(el('span', { class: 'muted', title: errorOf(s) }, '?')); chart.replaceChildren(''); return; }
      const b = s.body.buckets || [];
      const ok = b.reduce((n, x) => n + x.succeeded, 0), bad = b.reduce((n, x) => n + x.failed, 0);
      rate.replaceChildren(ok + bad ? pct(ok / (ok + bad)) : el('span', { class: 'muted' }, '—'));
      chart.replaceChildren(spark(b, `${w.name}: ${ok} succeeded, ${bad} failed in the last 24 hours`));
    });
  }
  root.append(table);
  if (res.body.next_cursor) {
    const p = new URLSearchParams(params);
    p.set('cursor', res.body.next_cursor);
    root.append(el('p', {}, el('a', { class: 'button', href: '#/?' + p.toString() }, 'More webhooks')));
  }
  return root;
}

// ---- one webhook -----------------------------------------------------------


function credentialsView(w) {
  const c = w.auth_credentials || {};
  const keys = Object.keys(c);
  if (!keys.length) return el('span', { class: 'muted' }, 'none');
  // The API answers them masked; shown as answered.
  return el('span', {}, keys.map((k, i) => [i ? ', ' : '', `${k}: `, el('code', {}, c[k])]));
}

async function viewWebhook(id, params) {
  const res = await api.getWebhook(id);
  if (!res.ok) return el('div', {}, heading('Webhook'), failure(res, 'The webhook could not be read'));
  const w = res.body;
  const reload = () => render(true);
  const root = el('div', {}, heading(w.name || w.id, badge(w.status)));
  root.append(el('p', { class: 'muted' }, el('a', { href: '#/' }, '← Webhooks')));
  if (w.status_reason) root.append(el('p', { id: 'status-reason' }, 'Inactive: ', reasonText(w.status_reason),
    w.hold ? ', holding deliveries until resumed' : '', '.'));

  // Actions, their answers shown beside them.
  const answer = answerBox();
  const actions = el('div', { class: 'row', role: 'group', 'aria-label': 'Actions' });
  actions.append(el('a', { class: 'button', href: `#/webhooks/${encodeURIComponent(id)}/edit` }, 'Edit'));
  const toggle = el('button', { type: 'button' }, w.status === 'active' ? 'Pause' : 'Resume');
  toggle.addEventListener('click', () => busy(toggle, async () => {
    const r = w.status === 'active' ? await api.pause(id) : await api.resume(id);
    if (r.ok) { flash('ok', r.body.status === 'active' ? 'Resumed: the webhook receives events again.' : 'Paused: no new deliveries until resumed.'); reload(); }
    else showAnswer(answer, r);
  }));
  const testBtn = el('button', { type: 'button' }, 'Send test');
  testBtn.addEventListener('click', () => busy(testBtn, async () => {
    answer.replaceChildren(el('p', { class: 'muted' }, 'Sending a test delivery…'));
    const r = await api.test(id);
    if (!r.ok) return showAnswer(answer, r);
    answer.replaceChildren(testResult(r.body, id));
  }));
  const del = el('button', { type: 'button', class: 'danger' }, 'Delete');
  del.addEventListener('click', async () => {
    if (!(await confirmDialog('Delete this webhook?', `“${w.name}” and its statistics are deleted; its deliveries stay until retention removes them. This cannot be undone.`, 'Delete webhook'))) return;
    const r = await api.deleteWebhook(id, w.version);
    if (r.ok) { flashNext('ok', `Deleted “${w.name}”.`); go('/'); } else showAnswer(answer, r);
  });
  actions.append(toggle);
  if (w.status === 'active') {
    const hold = el('button', { type: 'button', title: 'Events while paused are kept as held deliveries and delivered on resume' }, 'Pause and hold');
    hold.addEventListener('click', () => busy(hold, async () => {
      const r = await api.pause(id, true);
      if (r.ok) { flash('ok', 'Paused with hold: new events are kept as held deliveries and delivered on resume.'); reload(); }
      else showAnswer(answer, r);
    }));
    actions.append(hold);
  }
  actions.append(testBtn);
  const ctx = { api, reload, go, answer, showAnswer, flash, busy, catalogue };
  for (const a of registry.webhookActions) {
    if (a.when && !a.when(w)) continue;
    const b = el('button', { type: 'button' }, a.label);
    b.addEventListener('click', () => busy(b, async () => { const r = await a.run(w, ctx); if (r) showAnswer(answer, r, a.done || 'Done.'); }));
    actions.append(b);
  }
  actions.append(del);
  root.append(actions, answer);

  if (w.health) {
    root.append(el('section', { 'aria-labelledby': 'health-h', id: 'health' }, el('h2', { id: 'health-h' }, 'Endpoint health'), kv(healthList(w.health))));
  }
  root.append(el('h2', { id: 'config-h' }, 'Configuration'), Object.assign(kv([
    ['ID', el('code', {}, w.id)],
    ['URL', w.url],
    ['Method', w.method],
    ['Events', w.events.join(', ')],
    ['Auth', `${w.auth_type}`],
    ['Credentials', credentialsView(w)],
    w.previous_secret_expires_at && ['Previous secret', ['still signs until ', time(w.previous_secret_expires_at)]],
    ['Filter', w.filter ? el('code', { class: 'wrap' }, JSON.stringify(w.filter)) : el('span', { class: 'muted' }, 'none: every subscribed event is delivered')],
    ['Headers', Object.keys(w.headers || {}).length ? Object.entries(w.headers).map(([k, v]) => el('div', {}, el('code', {}, `${k}: ${v}`))) : el('span', { class: 'muted' }, 'none')],
    ['Retry', `${w.retry.strategy}, at most ${w.retry.max_attempts} attempts, ${ms(w.retry.initial_delay_ms)} to ${ms(w.retry.max_delay_ms)}`],
    ['Timeout', ms(w.timeout_ms)],
    ['Version', String(w.version)],
    ['Created', time(w.created_at)],
    ['Updated', time(w.updated_at)],
  ]), { id: 'config' }));

  root.append(await statsSection(id, params.get('window') === '7d' ? '7d' : '24h'));
  root.append(await deliveriesSection(w, params));
  for (const s of registry.webhookSections) {
    if (s.when && !s.when(w)) continue;
    const hid = 'sec-' + s.id + '-h';
    const sec = el('section', { id: 'sec-' + s.id, 'aria-labelledby': hid }, el('h2', { id: hid }, s.title));
    await s.render(sec, w, ctx);
    root.append(sec);
  }
  return root;
}

function testResult(t, id) {
  const d = t.delivery;
  return el('div', { class: `panel ${t.success ? 'ok' : 'bad'}` },
    el('strong', {}, t.success ? 'Test delivered' : 'Test failed'),
    kv([
      ['Status code', t.status_code ? String(t.status_code) : '—'],
      ['Duration', ms(t.duration_ms)],
      d.attempts[0] && d.attempts[0].timings && ['Split', timings(d.attempts[0].timings) || el('span', { class: 'muted' }, 'not recorded')],
      t.error && ['Error', t.error],
      ['Delivery', el('a', { href: `#/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(d.id)}` }, d.id)],
    ]),
    headersAndBody(t.response_headers, t.response_body));
}

function headersAndBody(headers, body) {
  const out = [];
  if (headers && Object.keys(headers).length) {
    out.push(el('details', {}, el('summary', {}, 'Response headers'),
      el('pre', {}, Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n'))));
  }
  if (body) out.push(el('details', { open: true }, el('summary', {}, 'Response excerpt'), el('pre', {}, body)));
  return out;
}

async function statsSection(id, window) {
  const sec = el('section', { 'aria-labelledby': 'stats-h' }, el('h2', { id: 'stats-h' }, 'Statistics'));
  const res = await api.stats(id, window);
  if (!res.ok) { sec.append(failure(res, 'The statistics could not be read')); return sec; }
  const s = res.body;
  sec.append(el('div', { class: 'stats' },
    ...[['Deliveries', s.total_deliveries], ['Succeeded', s.successful], ['Failed', s.failed],
      ['Success rate', s.total_deliveries ? pct(s.success_rate) : '—'], ['Average response', ms(s.avg_response_ms)]]
      .map(([k, v]) => el('div', {}, el('strong', {}, String(v)), k)),
    el('div', {}, el('strong', {}, time(s.last_delivery_at, { relative: true, none: 'never' })), 'Last delivery')));
  const tabs = el('div', { class: 'tabs', role: 'group', 'aria-label': 'Chart window' });
  for (const [w, label] of [['24h', 'Last 24 hours'], ['7d', 'Last 7 days']]) {
    const b = el('button', { type: 'button', 'aria-pressed': String(w === window) }, label);
    b.addEventListener('click', () => {
      const { path, params } = parseHash();
      params.set('window', w);
      go(path, params);
    });
    tabs.append(b);
  }
  const buckets = s.buckets || [];
  const label = window === '7d' ? 'the last 7 days' : 'the last 24 hours';
  const sums = ['succeeded', 'failed', 'retrying'].map((k) => buckets.reduce((n, b) => n + b[k], 0));
  sec.append(tabs,
    el('h3', {}, 'Deliveries per hour'),
    legend([['ok', 'succeeded'], ['bad', 'failed'], ['warn', 'retrying']]),
    deliveriesChart(buckets, `Deliveries per hour over ${label}: ${sums[0]} succeeded, ${sums[1]} failed, ${sums[2]} retries`),
    el('h3', {}, 'Response time per hour'),
    legend([['p50', 'p50', true], ['p90', 'p90', true], ['p99', 'p99', true]]),
    latencyChart(buckets, `Response time percentiles per hour over ${label}`));
  if (!buckets.some((b) => b.attempts)) sec.append(el('p', { class: 'muted' }, `No attempts in ${label}.`));
  return sec;
}

const deliveryStatuses = ['pending', 'retrying', 'held', 'succeeded', 'failed'];

async function deliveriesSection(w, params) {
  const status = params.get('dstatus') || '', cursor = params.get('cursor') || '';
  const sec = el('section', { 'aria-labelledby': 'dlv-h' }, el('h2', { id: 'dlv-h' }, 'Deliveries'));
  const sel = el('select', { id: 'd-status' }, el('option', { value: '' }, 'any'),
    deliveryStatuses.map((s) => el('option', { value: s, selected: s === status }, s)));
  sel.addEventListener('change', () => {
    const { path, params: p } = parseHash();
    p.delete('cursor');
    if (sel.value) p.set('dstatus', sel.value); else p.delete('dstatus');
    go(path, p);
  });
  const refresh = el('button', { type: 'button', id: 'refresh' }, 'Refresh');
  refresh.addEventListener('click', () => render(true));
  sec.append(el('div', { class: 'filters' }, el('div', {}, el('label', { for: 'd-status' }, 'Status'), sel), refresh));
  const res = await api.deliveries(w.id, { status, cursor });
  if (!res.ok) { sec.append(failure(res, 'The deliveries could not be listed')); return sec; }
  const items = res.body.items;
  if (!items.length) {
    sec.append(empty(status ? `No ${status} deliveries.` : ['No deliveries yet — ',
      el('a', { href: `#/trigger?event=${encodeURIComponent(w.events[0] || '')}` }, 'trigger one'), '.']));
    return sec;
  }
  const table = el('table', { class: 'responsive', id: 'deliveries' },
    el('caption', { class: 'sr-only' }, 'Deliveries, newest first'),
    el('thead', {}, el('tr', {}, ['Delivery', 'Event', 'Status', 'Attempts', 'Created', 'Next attempt'].map((h) => el('th', { scope: 'col' }, h)))));
  const body = el('tbody');
  for (const d of items) {
    body.append(el('tr', { 'data-id': d.id },
      el('td', { 'data-label': 'Delivery' }, el('a', { href: `#/webhooks/${encodeURIComponent(w.id)}/deliveries/${encodeURIComponent(d.id)}` }, d.id), d.test ? ' (test)' : ''),
      el('td', { 'data-label': 'Event' }, d.event),
      el('td', { 'data-label': 'Status' }, badge(d.status)),
      el('td', { class: 'num', 'data-label': 'Attempts' }, String(d.attempts.length)),
      el('td', { 'data-label': 'Created' }, time(d.created_at)),
      el('td', { 'data-label': 'Next attempt' }, time(d.next_attempt_at))));
  }
  table.append(body);
  sec.append(table);
  const nav = el('div', { class: 'row' });
  if (cursor) {
    const { path, params: p } = parseHash();
    p.delete('cursor');
    nav.append(el('a', { class: 'button', href: '#' + path + (p.toString() ? '?' + p : '') }, 'Newest'));
  }
  if (res.body.next_cursor) {
    const { path, params: p } = parseHash();
    p.set('cursor', res.body.next_cursor);
    nav.append(el('a', { class: 'button', href: '#' + path + '?' + p }, 'Older deliveries'));
  }
  sec.append(nav);
  return sec;
}

// ---- one delivery ----------------------------------------------------------

async function viewDelivery(id, did) {
  const [res, wres] = await Promise.all([api.delivery(id, did), api.getWebhook(id)]);
  const back = el('p', { class: 'muted' }, el('a', { href: `#/webhooks/${encodeURIComponent(id)}` }, '← ' + (wres.ok ? wres.body.name : 'Webhook')));
  if (!res.ok) return el('div', {}, heading('Delivery'), back, failure(res, 'The delivery could not be read'));
  const d = res.body, w = wres.ok ? wres.body : { id };
  const root = el('div', {}, heading('Delivery ' + d.id, badge(d.status)), back);
  const answer = answerBox();
  const actions = el('div', { class: 'row', role: 'group', 'aria-label': 'Actions' });
  const refresh = el('button', { type: 'button', id: 'refresh' }, 'Refresh');
  refresh.addEventListener('click', () => render(true));
  actions.append(refresh);
  if (d.status === 'failed') {
    const retry = el('button', { type: 'button', class: 'primary' }, 'Retry');
    retry.addEventListener('click', () => busy(retry, async () => {
      const r = await api.retry(id, did);
      if (r.ok) { flash('ok', 'Retry queued: the delivery is pending again.'); render(true); } else showAnswer(answer, r);
    }));
    actions.append(retry);
  }
  const ctx = { api, reload: () => render(true), go, answer, showAnswer };
  for (const a of registry.deliveryActions) {
    if (a.when && !a.when(d, w)) continue;
    const b = el('button', { type: 'button' }, a.label);
    b.addEventListener('click', () => busy(b, async () => { const r = await a.run(d, w, ctx); if (r) showAnswer(answer, r, a.done || 'Done.'); }));
    actions.append(b);
  }
  root.append(actions, answer, kv([
    ['Event', d.event + (d.test ? ' (test)' : '')],
    d.event_id && ['Event ID', el('code', {}, d.event_id)],
    ['Created', time(d.created_at)],
    ['Completed', time(d.completed_at, { none: 'not yet' })],
    ['Next attempt', time(d.next_attempt_at, { none: 'none scheduled' })],
  ]));
  root.append(el('h2', {}, 'Attempts'));
  if (!d.attempts.length && !d.next_attempt_at) {
    root.append(empty('No attempt yet: the delivery is queued.'));
    return root;
  }
  const tl = el('ol', { class: 'timeline', id: 'timeline' });
  for (const a of d.attempts) {
    const ok = a.status_code >= 200 && a.status_code < 300 && !a.error;
    tl.append(el('li', { class: ok ? 'ok' : 'bad' },
      el('div', { class: 'row' }, el('strong', {}, `Attempt ${a.attempt}`), time(a.started_at),
        el('span', { class: `badge s-${ok ? 'succeeded' : 'failed'}` }, a.status_code ? `HTTP ${a.status_code}` : 'no response'),
        el('span', {}, ms(a.duration_ms))),
      timings(a.timings),
      a.error ? el('p', { class: 'error' }, a.error) : '',
      headersAndBody(null, a.response_body)));
  }
  if (d.next_attempt_at) {
    tl.append(el('li', { class: 'next' }, el('div', { class: 'row' }, el('strong', {}, 'Next attempt'), time(d.next_attempt_at),
      el('span', { class: 'muted' }, '(', time(d.next_attempt_at, { relative: true }), ')'))));
  }
  root.append(tl);
  return root;
}

// timings shows where an attempt's duration went (Attempt.timings): DNS,
// connect, TLS and first byte; a phase that did not happen is null
// (a reused connection has no DNS, connect or TLS; http no TLS).
const phases = [['dns_ms', 'DNS'], ['connect_ms', 'Connect'], ['tls_ms', 'TLS'], ['first_byte_ms', 'First byte']];
function timings(t) {
  if (!t || phases.every(([k]) => t[k] === null || t[k] === undefined)) return '';
  return el('ul', { class: 'timings', 'aria-label': 'Split timings' }, phases.map(([k, label]) =>
    el('li', { title: t[k] === null ? 'did not happen in this attempt' : '' }, label, ' ', el('strong', {}, t[k] === null ? '—' : ms(t[k])))));
}

// ---- create / edit ---------------------------------------------------------

const authTypes = ['hmac', 'bearer', 'basic', 'api-key', 'oauth2', 'none'];
// Each auth type's credentials (api/openapi.yaml Credentials,
// OAuth2Credentials): [key, label, hint, kind]. Secret kinds are
// write-only (reads mask them); the others read back as they are.
const credFields = {
  hmac: [['secret', 'Secret', 'Leave empty to have one generated (shown once).', 'secret']],
  bearer: [['token', 'Token', '', 'secret']],
  basic: [['username', 'Username'], ['password', 'Password', '', 'secret']],
  'api-key': [['api_key', 'API key', '', 'secret'], ['header_name', 'Header name', 'Default X-API-Key.']],
  oauth2: [
    ['token_url', 'Token URL', 'The token endpoint (client credentials grant): an absolute http(s) URL.', 'url'],
    ['client_id', 'Client ID'],
    ['client_secret', 'Client secret', '', 'secret'],
    ['scope', 'Scope (optional)', 'Scope tokens separated by single spaces.'],
    ['audience', 'Audience (optional)'],
    ['auth_style', 'Client authentication', 'How the client authenticates to the token endpoint.', 'style'],
  ],
  none: [],
};
const authStyles = [['basic', 'HTTP Basic (default)'], ['body', 'client_id and client_secret in the form body']];

async function viewForm(id) {
  const events = await catalogue();
  let w = null;
  if (id) {
    const r = await api.getWebhook(id);
    if (!r.ok) return el('div', {}, heading('Edit webhook'), failure(r, 'The webhook could not be read'));
    w = r.body;
  }
  const root = el('div', {}, heading(w ? `Edit ${w.name}` : 'New webhook'));
  if (w) root.append(el('p', { class: 'muted' }, el('a', { href: `#/webhooks/${encodeURIComponent(w.id)}` }, '← ' + w.name)));
  const form = el('form', { novalidate: true, 'aria-label': w ? 'Edit webhook' : 'New webhook' });
  form.append(el('div', { class: 'form-error', tabindex: '-1' }));
  const name = el('input', { type: 'text', name: 'name', value: w ? w.name : '', autocomplete: 'off' });
  const url = el('input', { type: 'text', name: 'url', value: w ? w.url : '', inputmode: 'url', placeholder: 'https://example.com/hooks', autocomplete: 'off' });
  const method = el('select', { name: 'method' }, ['POST', 'PUT', 'PATCH'].map((m) => el('option', { value: m, selected: w ? w.method === m : m === 'POST' }, m)));
  const evSet = el('fieldset', { class: 'checks', 'data-field': 'events', id: 'fld-events', tabindex: '-1', 'aria-describedby': 'fld-events-err' },
    el('legend', {}, 'Events'),
    events.map((e) => el('label', { title: e.description }, el('input', { type: 'checkbox', name: 'events', value: e.name, checked: w ? w.events.includes(e.name) : false }), e.name)),
    el('p', { class: 'error', id: 'fld-events-err', hidden: true }));
  const auth = el('select', { name: 'auth_type' }, authTypes.map((a) => el('option', { value: a, selected: w ? w.auth_type === a : a === 'hmac' }, a)));
  const creds = el('fieldset', { 'data-field': 'auth_credentials', id: 'fld-auth_credentials', tabindex: '-1' }, el('legend', {}, 'Credentials'));
  const drawCreds = () => {
    creds.replaceChildren(el('legend', {}, 'Credentials'));
    const fs = credFields[auth.value];
    if (!fs.length) creds.append(el('p', { class: 'muted' }, 'None for this auth type.'));
    const same = w && w.auth_type === auth.value;
    const cur = same ? w.auth_credentials || {} : {};
    for (const [k, label, hint, kind] of fs) {
      let input;
      if (kind === 'style') {
        input = el('select', { name: 'cred-' + k }, authStyles.map(([v, t]) => el('option', { value: v, selected: (cur[k] || 'basic') === v }, t)));
      } else {
        // Values the API reads back as they are are shown for editing; secrets never are.
        input = el('input', { type: kind === 'secret' ? 'password' : 'text', name: 'cred-' + k, autocomplete: 'off',
          value: kind === 'secret' ? '' : cur[k] || '', inputmode: kind === 'url' ? 'url' : undefined });
      }
      const h = same && kind === 'secret' ? [hint, 'Leave empty to keep the current credentials; to change any of them, give this too.'].filter(Boolean).join(' ') : hint;
      creds.append(field('auth_credentials.' + k, label, input, h));
    }
    creds.append(el('p', { class: 'error', id: 'fld-auth_credentials-err', hidden: true }));
  };
  auth.addEventListener('change', drawCreds);
  drawCreds();
  const headers = el('textarea', { name: 'headers', rows: 3, spellcheck: 'false' }, w && Object.keys(w.headers || {}).length ? JSON.stringify(w.headers, null, 2) : '');
  const filter = el('textarea', { name: 'filter', rows: 4, spellcheck: 'false' }, w && w.filter ? JSON.stringify(w.filter, null, 2) : '');
  const strategy = el('select', { name: 'retry.strategy' }, ['exponential', 'linear', 'fixed'].map((s) => el('option', { value: s, selected: w ? w.retry.strategy === s : s === 'exponential' }, s)));
  const num = (n, v) => el('input', { type: 'number', name: n, value: v ?? '', min: 0, inputmode: 'numeric' });
  const maxAttempts = num('retry.max_attempts', w?.retry.max_attempts);
  const initial = num('retry.initial_delay_ms', w?.retry.initial_delay_ms);
  const maxDelay = num('retry.max_delay_ms', w?.retry.max_delay_ms);
  const timeout = num('timeout_ms', w?.timeout_ms);
  form.append(
    field('name', 'Name', name),
    field('url', 'URL', url, 'Where deliveries are sent: an absolute http(s) URL.'),
    evSet,
    field('method', 'Method', method),
    field('auth_type', 'Auth type', auth),
    creds,
    field('headers', 'Headers (JSON object)', headers, 'Extra request headers, e.g. {"X-Team": "ops"}.'),
    field('filter', 'Payload filter (JSON object, optional)', filter, 'Only events matching it are delivered, e.g. {"data": {"amount": {"$gt": 100}}}. Empty for none.'),
    el('fieldset', { 'data-field': 'retry', id: 'fld-retry', tabindex: '-1' }, el('legend', {}, 'Retries'),
      el('div', { class: 'grid2' },
        field('retry.strategy', 'Strategy', strategy),
        field('retry.max_attempts', 'Max attempts', maxAttempts),
        field('retry.initial_delay_ms', 'Initial delay (ms)', initial),
        field('retry.max_delay_ms', 'Max delay (ms)', maxDelay)),
      el('p', { class: 'error', id: 'fld-retry-err', hidden: true })),
    field('timeout_ms', 'Timeout (ms)', timeout, w ? '' : 'Empty for the service default.'));
  const submit = el('button', { type: 'submit', class: 'primary' }, w ? 'Save changes' : 'Create webhook');
  form.append(el('div', { class: 'row' }, submit, el('a', { href: w ? `#/webhooks/${encodeURIComponent(w.id)}` : '#/' }, 'Cancel')));
  const result = el('div', { role: 'status', 'aria-live': 'polite' });

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      clearErrors(form);
      result.replaceChildren();
      const h = parseJSONField(form, 'headers', headers.value, 'object');
      if (h.bad) return;
      const f = parseJSONField(form, 'filter', filter.value, 'object');
      if (f.bad) return;
      const body = {};
      const put = (k, v, old) => { if (v !== undefined && (old === undefined || canon(v) !== canon(old))) body[k] = v; };
      put('name', name.value, w?.name);
      put('url', url.value, w?.url);
      put('method', method.value, w?.method);
      put('events', [...form.querySelectorAll('input[name=events]:checked')].map((c) => c.value), w?.events);
      // auth_credentials is replaced whole: sent when any of them changed.
      const c = {};
      let changed = false;
      const cur = w && auth.value === w.auth_type ? w.auth_credentials || {} : {};
      for (const [k, , , kind] of credFields[auth.value]) {
        const v = form.querySelector(`[name="cred-${k}"]`).value;
        if (kind === 'style' && v === 'basic' && !cur[k]) continue; // the default
        if (v !== '') c[k] = v;
        if (v !== '' && (kind === 'secret' || v !== (cur[k] || ''))) changed = true;
        if (v === '' && kind !== 'secret' && cur[k]) changed = true;
      }
      if (!w || auth.value !== w.auth_type) {
        body.auth_type = auth.value;
        if (Object.keys(c).length) body.auth_credentials = c;
      } else if (changed) {
        body.auth_credentials = c;
      }
      put('headers', h.value === undefined ? (w ? {} : undefined) : h.value, w?.headers);
      const retry = {};
      const n = (inp) => (inp.value === '' ? undefined : Number(inp.value));
      for (const [k, v] of [['strategy', strategy.value], ['max_attempts', n(maxAttempts)], ['initial_delay_ms', n(initial)], ['max_delay_ms', n(maxDelay)]]) {
        if (v !== undefined && (!w || w.retry[k] !== v)) retry[k] = v;
      }
      if (!w && retry.strategy === 'exponential' && Object.keys(retry).length === 1) delete retry.strategy;
      if (Object.keys(retry).length) body.retry = retry;
      put('timeout_ms', n(timeout), w?.timeout_ms);
      // null removes a filter; the API answers it canonical (members sorted).
      put('filter', f.value === undefined ? (w ? null : undefined) : f.value, w ? w.filter : undefined);

      const r = w ? await api.patchWebhook(w.id, body, w.version) : await api.createWebhook(body);
      if (!r.ok) {
        const e = r.body && r.body.error;
        fieldError(form, e && e.field, errorOf(r));
        return;
      }
      const saved = r.body;
      if (!w || revealed(saved)) {
        // A generated secret is in this answer only: show it before leaving.
        form.remove();
        result.append(created(saved, !!w));
      } else {
        flashNext('ok', 'Saved.');
        go(`/webhooks/${encodeURIComponent(saved.id)}`);
      }
    });
  });
  root.append(form, result);
  return root;
}

const secretKeys = ['secret', 'token', 'password', 'api_key'];

// revealed says whether an answer carries a credential whole (the API
// masks them as "****" and a tail on every other read).
function revealed(w) {
  const c = w.auth_credentials || {};
  return secretKeys.some((k) => typeof c[k] === 'string' && c[k] !== '' && !c[k].startsWith('****'));
}

// created is the answer to a create (or to a change that generated a
// secret): the only time a secret is shown whole.
function created(w, changed) {
  const c = w.auth_credentials || {};
  const secret = revealed(w);
  return el('div', { class: 'panel ok', id: 'created' },
    el('h2', { tabindex: '-1' }, `${changed ? 'Saved' : 'Created'} “${w.name}”`),
    secret ? [el('p', {}, el('strong', {}, 'Copy the credentials now: they are not shown again.')),
      Object.entries(c).map(([k, v]) => el('div', {}, el('label', {}, k), el('code', { class: 'secret' }, v)))] : '',
    el('p', {}, el('a', { class: 'button primary', href: `#/webhooks/${encodeURIComponent(w.id)}` }, 'Open the webhook')));
}

// ---- events and trigger ----------------------------------------------------

async function viewEvents() {
  const res = await api.eventTypes();
  const root = el('div', {}, heading('Event catalogue'));
  if (!res.ok) { root.append(failure(res, 'The catalogue could not be read')); return root; }
  if (!res.body.items.length) { root.append(empty('The catalogue is empty.')); return root; }
  root.append(el('table', { class: 'responsive' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Event'), el('th', { scope: 'col' }, 'Description'), el('th', { scope: 'col' }, ''))),
    el('tbody', {}, res.body.items.map((e) => el('tr', {},
      el('td', { 'data-label': 'Event' }, el('code', {}, e.name)),
      el('td', { 'data-label': 'Description' }, e.description),
      el('td', { 'data-label': '' }, el('a', { href: `#/trigger?event=${encodeURIComponent(e.name)}` }, 'Trigger'), ' · ',
        el('a', { href: `#/?event=${encodeURIComponent(e.name)}` }, 'Subscribers')))))));
  return root;
}

async function viewTrigger(params) {
  const events = await catalogue();
  const root = el('div', {}, heading('Trigger an event'));
  const form = el('form', { novalidate: true, 'aria-label': 'Trigger an event' });
  form.append(el('div', { class: 'form-error', tabindex: '-1' }));
  const event = el('select', { name: 'event' }, events.map((e) => el('option', { value: e.name, selected: e.name === params.get('event') }, e.name)));
  const data = el('textarea', { name: 'data', rows: 6, spellcheck: 'false' }, '{\n  "message": "hello"\n}');
  const metadata = el('textarea', { name: 'metadata', rows: 3, spellcheck: 'false' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Trigger');
  form.append(field('event', 'Event', event), field('data', 'Data (JSON object)', data, 'Delivered as the payload’s data.'),
    field('metadata', 'Metadata (JSON object, optional)', metadata), el('div', { class: 'row' }, submit));
  const result = el('div', { role: 'status', 'aria-live': 'polite', id: 'trigger-result' });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      clearErrors(form);
      result.replaceChildren();
      const body = eventBody(form, event.value, data.value, metadata.value);
      if (!body) return;
      const r = await api.trigger(body);
      if (!r.ok) { fieldError(form, r.body?.error?.field, errorOf(r)); return; }
      result.replaceChildren(el('div', { class: 'panel ok' },
        el('strong', {}, `Triggered ${body.event}`),
        kv([['Event ID', el('code', {}, r.body.event_id)], ['Deliveries queued', String(r.body.deliveries)]]),
        r.body.deliveries ? el('p', {}, el('a', { href: `#/?event=${encodeURIComponent(body.event)}` }, 'See its subscribers')) : el('p', { class: 'muted' }, 'No active webhook subscribes to this event.')));
    });
  });
  root.append(form, result, el('p', {}, el('a', { href: '#/trigger/batch' }, 'Trigger several events at once')));
  return root;
}
