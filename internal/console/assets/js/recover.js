// Bulk recovery (POST /webhooks/{id}/recover, then
// GET /webhooks/{id}/recoveries/{rid} until done): re-send every failed
// delivery of a window. The recovery's id is kept in the page's address
// (?recovery=), so a refresh of the page goes on showing its progress.
import { webhookSection } from './registry.js';
import { el, time, badge } from './ui.js';
import { kv, field, clearErrors, fieldError } from './forms.js';
import { errorOf } from './api.js';

const pollMs = 1000;

// localInput is a Date as a datetime-local input's value (local time, to
// the second).
function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function hashParams() {
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  return { path, params: new URLSearchParams(query || '') };
}

function remember(rid) {
  const { path, params } = hashParams();
  params.set('recovery', rid);
  history.replaceState(null, '', '#' + path + '?' + params.toString()); // no hashchange: no redraw
}

webhookSection({
  id: 'recover',
  title: 'Recover failed deliveries',
  render(sec, w, ctx) {
    const form = el('form', { novalidate: true, 'aria-label': 'Recover failed deliveries' });
    form.append(el('div', { class: 'form-error', tabindex: '-1' }));
    const since = el('input', { type: 'datetime-local', name: 'since', step: 1, value: localInput(new Date(Date.now() - 24 * 3600 * 1000)) });
    const until = el('input', { type: 'datetime-local', name: 'until', step: 1 });
    const submit = el('button', { type: 'submit' }, 'Recover');
    form.append(el('p', { class: 'muted' }, 'Every failed delivery whose event time is in the window is sent again, once, under the current retry policy. Times are in your time zone.'),
      el('div', { class: 'grid2' },
        field('since', 'Since', since, 'Start of the window, included.'),
        field('until', 'Until (optional)', until, 'End of the window, included; empty for now.')),
      el('div', { class: 'row' }, submit));
    const progress = el('div', { role: 'status', 'aria-live': 'polite', id: 'recovery' });
    const toISO = (v) => (v ? new Date(v).toISOString() : undefined);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      ctx.busy(submit, async () => {
        clearErrors(form);
        if (!since.value) { fieldError(form, 'since', 'Give the start of the window.'); return; }
        const body = { since: toISO(since.value) };
        if (until.value) body.until = toISO(until.value);
        const r = await ctx.api.recover(w.id, body);
        if (!r.ok) { fieldError(form, r.body?.error?.field, errorOf(r)); return; }
        remember(r.body.id);
        follow(r.body);
      });
    });
    sec.append(form, progress);

    // follow shows a recovery and polls it until done, while this section
    // is on the page.
    const follow = async (rec) => {
      progress.replaceChildren(recoveryView(rec));
      while (rec.status !== 'done') {
        await new Promise((res) => setTimeout(res, pollMs));
        if (!sec.isConnected) return;
        const r = await ctx.api.recovery(w.id, rec.id);
        if (!sec.isConnected) return;
        if (!r.ok) { progress.replaceChildren(el('div', { class: 'panel bad', role: 'alert' }, 'The recovery’s progress could not be read: ' + errorOf(r))); return; }
        rec = r.body;
        progress.replaceChildren(recoveryView(rec));
      }
    };
    const rid = hashParams().params.get('recovery');
    if (rid) {
      ctx.api.recovery(w.id, rid).then((r) => {
        if (r.ok) follow(r.body);
        else progress.replaceChildren(el('div', { class: 'panel bad', role: 'alert' }, 'The recovery could not be read: ' + errorOf(r)));
      });
    }
  },
});

function recoveryView(r) {
  const done = r.status === 'done';
  return el('div', { class: `panel ${done ? 'ok' : ''}`, 'data-status': r.status },
    el('div', { class: 'row' }, el('strong', {}, done ? 'Recovery done' : 'Recovery running…'), badge(r.status)),
    el('p', { class: 'progress' }, `${r.scanned} read, ${r.queued} re-queued, ${r.skipped} skipped`),
    kv([
      ['Recovery', el('code', {}, r.id)],
      ['Window', [time(r.since), ' to ', time(r.until)]],
      r.requested_since !== r.since && ['Asked since', [time(r.requested_since), ' (before retention: the window starts at the oldest delivery kept)']],
      ['Started', time(r.created_at)],
      ['Finished', time(r.completed_at, { none: 'not yet' })],
    ]));
}
