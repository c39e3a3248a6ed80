// Try an event against a webhook's payload filter
// (POST /webhooks/{id}/filter/test → {matches}). Nothing is sent or stored.
import { webhookSection } from './registry.js';
import { el } from './ui.js';
import { field, clearErrors, fieldError, eventBody } from './forms.js';
import { errorOf } from './api.js';

webhookSection({
  id: 'filter',
  title: 'Payload filter',
  async render(sec, w, ctx) {
    const events = await ctx.catalogue();
    sec.append(w.filter
      ? el('div', {}, el('p', {}, 'Only events matching this filter are delivered:'), el('pre', { id: 'filter-json' }, JSON.stringify(w.filter, null, 2)))
      : el('p', { class: 'muted' }, 'No filter: every event the webhook subscribes to is delivered. Edit the webhook to set one.'));
    const form = el('form', { novalidate: true, 'aria-label': 'Test the payload filter' });
    form.append(el('div', { class: 'form-error', tabindex: '-1' }));
    const event = el('select', { name: 'event' }, events.map((e) => el('option', { value: e.name, selected: e.name === w.events[0] }, e.name)));
    const data = el('textarea', { name: 'data', rows: 4, spellcheck: 'false' }, '{}');
    const metadata = el('textarea', { name: 'metadata', rows: 2, spellcheck: 'false' });
    const submit = el('button', { type: 'submit' }, 'Test filter');
    // Ids of their own: the page may show another form with these fields.
    const f = (name, label, control, hint) => {
      const node = field('ft.' + name, label, control, hint);
      control.dataset.field = name;
      return node;
    };
    form.append(el('h3', {}, 'Test an event'),
      f('event', 'Event', event), f('data', 'Data (JSON object)', data), f('metadata', 'Metadata (JSON object, optional)', metadata),
      el('div', { class: 'row' }, submit));
    const result = el('div', { role: 'status', 'aria-live': 'polite', id: 'filter-result' });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      ctx.busy(submit, async () => {
        clearErrors(form);
        result.replaceChildren();
        const body = eventBody(form, event.value, data.value, metadata.value);
        if (!body) return;
        const r = await ctx.api.filterTest(w.id, body);
        if (!r.ok) { fieldError(form, r.body?.error?.field, errorOf(r)); return; }
        result.replaceChildren(r.body.matches
          ? el('div', { class: 'panel ok' }, el('strong', {}, 'Matches'), ': an event like this is delivered to this webhook (when it is active and subscribes to the event).')
          : el('div', { class: 'panel bad' }, el('strong', {}, 'Does not match'), ': an event like this is not delivered to this webhook.'));
      });
    });
    sec.append(form, result);
  },
});
