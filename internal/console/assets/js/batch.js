// Trigger up to 100 events in one request (POST /events/batch): each
// event is accepted or refused on its own, and its answer is shown in
// its row (items[i] answers events[i]).
import { route } from './registry.js';
import { el } from './ui.js';
import { field, clearErrors, fieldError } from './forms.js';
import { errorOf } from './api.js';

const example = `[
  { "event": "custom", "data": { "message": "one" } },
  { "event": "custom", "data": { "message": "two" }, "idempotency_key": "two-1" }
]`;

route({
  pattern: /^\/trigger\/batch$/,
  render(root, m, ctx) {
    document.title = 'Trigger a batch · Webhooks console';
    root.append(el('div', { class: 'row spread', id: 'heading' }, el('h1', { tabindex: '-1' }, 'Trigger a batch')),
      el('p', { class: 'muted' }, el('a', { href: '#/trigger' }, '← One event')));
    const form = el('form', { novalidate: true, 'aria-label': 'Trigger a batch of events' });
    form.append(el('div', { class: 'form-error', tabindex: '-1' }));
    const events = el('textarea', { name: 'events', rows: 10, spellcheck: 'false' }, example);
    const submit = el('button', { type: 'submit', class: 'primary' }, 'Trigger all');
    form.append(field('events', 'Events (JSON array, 1 to 100)', events,
      'Each is {event, data?, metadata?, idempotency_key?}, as one trigger’s body; each is accepted or refused on its own.'),
    el('div', { class: 'row' }, submit));
    const result = el('div', { role: 'status', 'aria-live': 'polite', id: 'batch-result' });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      try {
        clearErrors(form);
        result.replaceChildren();
        let list;
        try { list = JSON.parse(events.value); } catch (e) { fieldError(form, 'events', 'events is not valid JSON: ' + e.message); return; }
        if (!Array.isArray(list)) { fieldError(form, 'events', 'events must be a JSON array'); return; }
        const r = await ctx.api.triggerBatch({ events: list });
        if (!r.ok) { fieldError(form, r.body?.error?.field, errorOf(r)); return; }
        result.replaceChildren(answer(list, r.body.items));
      } finally {
        submit.disabled = false;
      }
    });
    root.append(form, result);
  },
});

function answer(list, items) {
  const ok = items.filter((i) => !i.error).length;
  return el('div', { class: 'panel' },
    el('strong', {}, `${ok} of ${items.length} accepted`),
    el('table', { class: 'responsive', id: 'batch-items' },
      el('caption', { class: 'sr-only' }, 'Each event’s answer, in request order'),
      el('thead', {}, el('tr', {}, ['#', 'Event', 'Answer'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, items.map((it, i) => el('tr', { class: it.error ? 'bad' : 'ok' },
        el('td', { 'data-label': '#' }, String(i)),
        el('td', { 'data-label': 'Event' }, el('code', {}, String(list[i]?.event ?? ''))),
        el('td', { 'data-label': 'Answer' }, it.error
          ? el('span', { class: 'error' }, `${it.error.field ? it.error.field + ': ' : ''}${it.error.message}`)
          : el('span', {}, el('code', {}, it.event_id), `, ${it.deliveries} ${it.deliveries === 1 ? 'delivery' : 'deliveries'} queued`)))))));
}
