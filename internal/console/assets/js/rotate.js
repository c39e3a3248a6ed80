// Rotate an hmac webhook's secret (POST /webhooks/{id}/rotate-secret): the
// new secret is shown in full this once; the previous one keeps signing
// until previous_secret_expires_at.
import { webhookSection } from './registry.js';
import { el, time, confirmDialog } from './ui.js';
import { kv, field, clearErrors, fieldError } from './forms.js';
import { errorOf } from './api.js';

webhookSection({
  id: 'rotate',
  title: 'Signing secret',
  when: (w) => w.auth_type === 'hmac',
  render(sec, w, ctx) {
    const expiry = el('div', { id: 'rotate-overlap' }, overlap(w));
    const form = el('form', { novalidate: true, 'aria-label': 'Rotate the signing secret' });
    form.append(el('div', { class: 'form-error', tabindex: '-1' }));
    const hours = el('input', { type: 'number', name: 'previous_valid_for_ms', min: 0, max: 168, step: 'any', value: 24, inputmode: 'decimal' });
    const submit = el('button', { type: 'submit' }, 'Rotate secret');
    form.append(field('previous_valid_for_ms', 'Previous secret keeps signing for (hours)', hours,
      'Receivers holding either secret verify deliveries meanwhile; 0 ends the old secret at once; at most 168 (7 days).'),
    el('div', { class: 'row' }, submit));
    const result = el('div', { role: 'status', 'aria-live': 'polite', id: 'rotate-result' });
    let version = w.version;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      ctx.busy(submit, async () => {
        clearErrors(form);
        result.replaceChildren();
        const h = Number(hours.value);
        if (hours.value === '' || !Number.isFinite(h) || h < 0) {
          fieldError(form, 'previous_valid_for_ms', 'Give a number of hours from 0 to 168.');
          return;
        }
        const ok = await confirmDialog('Rotate the signing secret?',
          h > 0 ? `A new secret signs every delivery from now on; the current one also signs for ${h} h. Give receivers the new secret before then.`
            : 'A new secret signs every delivery from now on and the current one stops at once: receivers that hold only the current secret fail to verify.',
          'Rotate secret');
        if (!ok) return;
        const r = await ctx.api.rotateSecret(w.id, { previous_valid_for_ms: Math.round(h * 3600000) }, version);
        if (!r.ok) { fieldError(form, r.body?.error?.field, errorOf(r)); return; }
        version = r.body.version;
        expiry.replaceChildren(overlap(r.body));
        // The one answer that carries the secret whole; reads mask it.
        result.replaceChildren(el('div', { class: 'panel ok', id: 'rotated' },
          el('strong', {}, 'Secret rotated. Copy the new secret now: it is not shown again.'),
          el('p', { id: 'new-secret-label' }, 'New secret:'),
          el('code', { class: 'secret', id: 'new-secret', tabindex: '0', 'aria-labelledby': 'new-secret-label' }, r.body.auth_credentials.secret)));
        result.querySelector('#new-secret').focus();
      });
    });
    sec.append(el('p', { class: 'muted' }, 'Deliveries are signed with this webhook’s secret (masked above). Rotating gives it a new one, with an overlap.'),
      expiry, form, result);
  },
});

function overlap(w) {
  return kv([['Previous secret', w.previous_secret_expires_at
    ? ['still signs until ', time(w.previous_secret_expires_at), ' (', time(w.previous_secret_expires_at, { relative: true }), ')']
    : el('span', { class: 'muted' }, 'none: only the current secret signs')]]);
}
