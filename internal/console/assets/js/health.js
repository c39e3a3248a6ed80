// Endpoint health and status reasons, as every webhook carries them
// (api/openapi.yaml: Webhook.status_reason, Health). Shown by the core
// views: the webhooks list and a webhook's page.
import { el, time, badge } from './ui.js';

const circuitText = { closed: 'closed', open: 'open', half_open: 'half open' };

// circuitBadge is the circuit's state as a badge (s-closed, s-open,
// s-half_open).
export function circuitBadge(h) {
  if (!h) return el('span', { class: 'muted' }, '—');
  return badge(h.circuit, 'circuit ' + (circuitText[h.circuit] || h.circuit));
}

function failures(n) {
  return n === 1 ? '1 consecutive failure' : `${n} consecutive failures`;
}

// healthCell is a list row's health: the circuit and, when failing, how
// many failures since when; when open, the next probe.
export function healthCell(w) {
  const h = w.health;
  if (!h) return el('span', { class: 'muted' }, '—');
  const out = [circuitBadge(h)];
  if (h.consecutive_failures > 0) {
    out.push(el('div', { class: 'muted' }, failures(h.consecutive_failures), ' since ', time(h.failing_since, { relative: true })));
  }
  if (h.circuit === 'open' && h.next_probe_at) {
    out.push(el('div', { class: 'muted' }, 'next probe ', time(h.next_probe_at, { relative: true })));
  }
  return el('div', {}, out); // one child: a phone's row is a flex line
}

const reasons = {
  paused: 'paused by an operator (pause, or a change of status)',
  gone: 'its endpoint answered 410 Gone',
  auto_disabled: 'disabled automatically: its endpoint failed every attempt for too long',
};

// reasonText says why an inactive webhook is inactive.
export function reasonText(r) {
  return reasons[r] || r;
}

// healthList is a webhook page's health, every member of Health.
export function healthList(h) {
  const explain = {
    closed: 'Deliveries are sent as usual.',
    open: 'Nothing is sent until the next probe; deliveries wait without spending attempts.',
    half_open: 'One delivery is probing the endpoint: success closes the circuit, failure opens it again.',
  };
  return [
    ['Circuit', [circuitBadge(h), ' ', el('span', { class: 'muted' }, explain[h.circuit] || '')]],
    ['Consecutive failures', String(h.consecutive_failures)],
    ['Failing since', time(h.failing_since, { none: 'not failing' })],
    ['Last success', time(h.last_success_at, { none: 'never' })],
    ['Circuit opened', time(h.opened_at, { none: 'not open' })],
    ['Next probe', time(h.next_probe_at, { none: 'none scheduled' })],
  ];
}
