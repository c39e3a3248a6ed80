// Forms and key-value lists shared by the views: a labelled control with
// its hint and error, and the API's field errors put at the control they
// name.
import { el } from './ui.js';

export function kv(pairs) {
  return el('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

export function field(name, labelText, control, hint) {
  const id = 'fld-' + name.replace(/[^a-z0-9]+/gi, '-');
  control.id = id;
  control.dataset.field = name;
  const err = el('p', { class: 'error', id: id + '-err', hidden: true });
  const hintEl = hint ? el('p', { class: 'hint', id: id + '-hint' }, hint) : null;
  control.setAttribute('aria-describedby', [hintEl && hintEl.id, err.id].filter(Boolean).join(' '));
  return el('div', { class: 'field' }, el('label', { for: id }, labelText), control, hintEl, err);
}

export function clearErrors(form) {
  for (const e of form.querySelectorAll('.error')) { e.hidden = true; e.textContent = ''; }
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  form.querySelector('.form-error')?.replaceChildren();
}

// fieldError puts message at the control of the API's field name
// ("retry.max_attempts", "events[1]", "auth_credentials.token"), or at the
// closest enclosing one, or at the form's top.
export function fieldError(form, name, message) {
  let n = name || '';
  while (n) {
    const c = form.querySelector(`[data-field="${CSS.escape(n)}"]`);
    if (c) {
      c.setAttribute('aria-invalid', 'true');
      const err = document.getElementById(c.id + '-err') || c.parentElement.querySelector('.error');
      if (err) { err.textContent = message; err.hidden = false; }
      c.focus();
      return;
    }
    n = n.replace(/(\[[^\]]*\]|\.[^.[]*)$/, '');
    if (n === name) break;
  }
  const top = form.querySelector('.form-error');
  top.replaceChildren(el('div', { class: 'panel bad', role: 'alert' }, (name ? name + ': ' : '') + message));
  top.querySelector('.panel').focus?.();
}

// canon is JSON with object members sorted, to compare values as the API
// keeps them (a filter is answered canonical).
export function canon(v) {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v && typeof v === 'object') return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  return JSON.stringify(v);
}

export function parseJSONField(form, name, text, kind) {
  if (!text.trim()) return { value: undefined };
  try {
    const v = JSON.parse(text);
    if (kind === 'object' && (v === null || typeof v !== 'object' || Array.isArray(v))) {
      fieldError(form, name, `${name} must be a JSON object`);
      return { bad: true };
    }
    return { value: v };
  } catch (e) {
    fieldError(form, name, `${name} is not valid JSON: ${e.message}`);
    return { bad: true };
  }
}


// eventBody is an event form's request body ({event, data?, metadata?}, as
// POST /events and the filter test take it), or undefined when data or
// metadata is not a JSON object (the error shown at that field).
export function eventBody(form, event, data, metadata) {
  const d = parseJSONField(form, 'data', data, 'object');
  if (d.bad) return undefined;
  const m = parseJSONField(form, 'metadata', metadata, 'object');
  if (m.bad) return undefined;
  const body = { event };
  if (d.value !== undefined) body.data = d.value;
  if (m.value !== undefined) body.metadata = m.value;
  return body;
}
