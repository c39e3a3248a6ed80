// The service's JSON API, on this page's origin (the local server, or
// `webhooks console`, which signs and forwards). Every call resolves to
// {ok, status, body, headers}; an API error's body is {error: {code,
// message, field}}. Nothing here throws for an HTTP status.

export async function call(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, body: { error: { code: 'network', message: 'The API could not be reached: ' + e.message } } };
  }
  let parsed = null;
  const text = await res.text();
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = { error: { code: 'bad_answer', message: `HTTP ${res.status}: ${text.slice(0, 200)}` } }; }
  }
  return { ok: res.ok, status: res.status, body: parsed, headers: res.headers };
}

const enc = encodeURIComponent;
const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const t = s.toString();
  return t ? '?' + t : '';
};

export const api = {
  eventTypes: () => call('GET', '/events/types'),
  listWebhooks: (p = {}) => call('GET', '/webhooks' + q(p)),
  getWebhook: (id) => call('GET', `/webhooks/${enc(id)}`),
  createWebhook: (b) => call('POST', '/webhooks', b),
  patchWebhook: (id, b, version) => call('PATCH', `/webhooks/${enc(id)}`, b, version ? { 'If-Match': `"${version}"` } : {}),
  deleteWebhook: (id, version) => call('DELETE', `/webhooks/${enc(id)}`, undefined, version ? { 'If-Match': `"${version}"` } : {}),
  // hold: events while paused are kept as held deliveries, delivered on resume.
  pause: (id, hold) => call('POST', `/webhooks/${enc(id)}/pause`, hold ? { hold: true } : undefined),
  resume: (id) => call('POST', `/webhooks/${enc(id)}/resume`),
  test: (id) => call('POST', `/webhooks/${enc(id)}/test`),
  stats: (id, window) => call('GET', `/webhooks/${enc(id)}/stats` + q({ window })),
  deliveries: (id, p = {}) => call('GET', `/webhooks/${enc(id)}/deliveries` + q(p)),
  delivery: (id, did) => call('GET', `/webhooks/${enc(id)}/deliveries/${enc(did)}`),
  retry: (id, did) => call('POST', `/webhooks/${enc(id)}/deliveries/${enc(did)}/retry`),
  trigger: (b) => call('POST', '/events', b),
  triggerBatch: (b) => call('POST', '/events/batch', b),
  rotateSecret: (id, b, version) => call('POST', `/webhooks/${enc(id)}/rotate-secret`, b, version ? { 'If-Match': `"${version}"` } : {}),
  filterTest: (id, b) => call('POST', `/webhooks/${enc(id)}/filter/test`, b),
  recover: (id, b) => call('POST', `/webhooks/${enc(id)}/recover`, b),
  recovery: (id, rid) => call('GET', `/webhooks/${enc(id)}/recoveries/${enc(rid)}`),
};

// errorOf is the message of a failed answer.
export function errorOf(res) {
  const e = res.body && res.body.error;
  if (e && e.message) return e.message;
  return `HTTP ${res.status}`;
}
