// DOM helpers, times and charts (SVG drawn here, no library).

export function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  setAttrs(n, attrs);
  append(n, children);
  return n;
}

function setAttrs(n, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') n.className = v;
    else if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(n, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}, ...children) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) n.setAttribute(k, String(v));
  append(n, children);
  return n;
}

// time shows one of the API's times (RFC 3339, UTC, milliseconds) in the
// browser's time zone; the absolute time, to the millisecond in UTC and in
// local time, is on hover and in datetime for screen readers.
export function time(iso, opts = {}) {
  if (!iso) return el('span', { class: 'muted' }, opts.none || '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return el('span', {}, iso);
  const local = d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return el('time', { datetime: iso, title: absolute(d) }, opts.relative ? relative(d) : local);
}

// absolute is a time in full: UTC as the API gives it, then local.
export function absolute(d) {
  const local = d.toLocaleString(undefined, { year: 'numeric', month: 'long', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, timeZoneName: 'short' });
  return `${d.toISOString()} (UTC) · ${local}`;
}

export function relative(d) {
  const s = Math.round((d.getTime() - Date.now()) / 1000);
  const abs = Math.abs(s);
  const fmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (abs < 60) return fmt.format(s, 'second');
  if (abs < 3600) return fmt.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return fmt.format(Math.round(s / 3600), 'hour');
  return fmt.format(Math.round(s / 86400), 'day');
}

export function badge(status, text) {
  return el('span', { class: `badge s-${status}` }, text || status);
}

export function pct(x) {
  return (Math.round(x * 1000) / 10).toString() + ' %';
}

export function ms(x) {
  if (x === null || x === undefined) return '—';
  return x >= 1000 ? (Math.round(x / 100) / 10) + ' s' : Math.round(x * 10) / 10 + ' ms';
}

export function empty(...children) {
  return el('div', { class: 'empty' }, ...children);
}

// spark is a row's small chart: deliveries per hour, stacked succeeded
// over failed, bars scaled to the busiest hour.
export function spark(buckets, label) {
  const w = 120, h = 28, n = buckets.length || 1, bw = w / n;
  const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed + b.retrying));
  const s = svg('svg', { class: 'spark', viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': label });
  s.append(svg('title', {}, label));
  buckets.forEach((b, i) => {
    const ok = (b.succeeded / max) * h, bad = ((b.failed + b.retrying) / max) * h;
    if (bad > 0) s.append(svg('rect', { class: 'bad', x: i * bw, y: h - bad, width: Math.max(bw - 1, 1), height: bad }));
    if (ok > 0) s.append(svg('rect', { class: 'ok', x: i * bw, y: h - bad - ok, width: Math.max(bw - 1, 1), height: ok }));
  });
  return s;
}

function hourLabel(iso, long) {
  const d = new Date(iso);
  return long ? d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' }) : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

// deliveriesChart is a stacked bar per hour: succeeded, failed, retrying.
export function deliveriesChart(buckets, title) {
  const W = 720, H = 200, L = 36, B = 22, n = buckets.length, bw = (W - L) / n;
  const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed + b.retrying));
  const s = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  s.append(svg('title', {}, title));
  s.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W, y2: H - B }));
  s.append(svg('text', { x: 2, y: 12 }, String(max)), svg('text', { x: 2, y: H - B }, '0'));
  const long = n > 48;
  buckets.forEach((b, i) => {
    const x = L + i * bw, scale = (H - B - 8) / max;
    let y = H - B;
    for (const [cls, v, name] of [['ok', b.succeeded, 'succeeded'], ['bad', b.failed, 'failed'], ['warn', b.retrying, 'retrying']]) {
      if (!v) continue;
      const hh = v * scale;
      y -= hh;
      const r = svg('rect', { class: cls, x, y, width: Math.max(bw - 1, 1), height: hh });
      r.append(svg('title', {}, `${hourLabel(b.start, true)} ${hourLabel(b.start)}: ${v} ${name}`));
      s.append(r);
    }
    const every = long ? 24 : 4;
    if (i % every === 0) s.append(svg('text', { x, y: H - 6 }, hourLabel(b.start, long)));
  });
  return s;
}

// latencyChart draws p50, p90 and p99 per hour (hours without attempts
// break the lines), on a log scale.
export function latencyChart(buckets, title) {
  const W = 720, H = 180, L = 48, B = 22, n = buckets.length, step = (W - L - 6) / Math.max(n - 1, 1);
  const vals = buckets.flatMap((b) => [b.p50_ms, b.p90_ms, b.p99_ms]).filter((v) => v !== null && v !== undefined);
  const max = Math.max(2, ...vals);
  const top = Math.log10(max + 1);
  const y = (v) => H - B - (Math.log10(v + 1) / top) * (H - B - 8);
  const s = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  s.append(svg('title', {}, title));
  s.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W, y2: H - B }));
  s.append(svg('text', { x: 2, y: 12 }, ms(max)), svg('text', { x: 2, y: H - B }, '0'));
  for (const key of ['p50_ms', 'p90_ms', 'p99_ms']) {
    let d = '';
    let pen = false;
    buckets.forEach((b, i) => {
      const v = b[key];
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${(L + i * step).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    });
    if (d) s.append(svg('path', { class: key.slice(0, 3), d, 'stroke-linecap': 'round' }));
    buckets.forEach((b, i) => {
      const v = b[key];
      if (v === null || v === undefined) return;
      const c = svg('circle', { class: 'dot-' + key.slice(0, 3), cx: (L + i * step).toFixed(1), cy: y(v).toFixed(1), r: 3 });
      c.append(svg('title', {}, `${hourLabel(b.start, true)} ${hourLabel(b.start)}: ${key.slice(0, 3)} ≤ ${ms(v)} (${b.attempts} attempts)`));
      s.append(c);
    });
  }
  const long = n > 48;
  buckets.forEach((b, i) => {
    if (i % (long ? 24 : 4) === 0) s.append(svg('text', { x: L + i * step, y: H - 6 }, hourLabel(b.start, long)));
  });
  return s;
}

export function legend(items) {
  return el('div', { class: 'legend', 'aria-hidden': 'true' }, items.map(([cls, text, line]) =>
    el('span', {}, line
      ? svg('svg', { width: 18, height: 10, class: 'key' }, svg('line', { class: cls, x1: 0, y1: 5, x2: 18, y2: 5 }))
      : svg('svg', { width: 10, height: 10 }, svg('rect', { class: cls, width: 10, height: 10 })), ' ', text)));
}

// confirmDialog asks before something that cannot be undone; resolves true
// on confirm. A real <dialog>: focus moves in, Escape cancels.
export function confirmDialog(title, text, action) {
  return new Promise((resolve) => {
    const d = el('dialog', { 'aria-labelledby': 'dlg-title' },
      el('h2', { id: 'dlg-title' }, title), el('p', {}, text));
    const no = el('button', { type: 'button', onclick: () => d.close('no') }, 'Cancel');
    const yes = el('button', { type: 'button', class: 'danger primary', onclick: () => d.close('yes') }, action);
    d.append(el('div', { class: 'row' }, no, yes));
    d.addEventListener('close', () => { d.remove(); resolve(d.returnValue === 'yes'); });
    document.body.append(d);
    d.showModal();
    no.focus();
  });
}
