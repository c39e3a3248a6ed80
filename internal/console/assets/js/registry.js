// Extension points, so a view for a feature added later (recover since T,
// rotate secret, filter test, endpoint health) is a module that registers
// itself here and one import line in extensions.js.
//
//   webhookAction({ label, when?(w), run(w, ctx) })   a button on a webhook's page;
//       run's answer (an api.call result) is shown beside the buttons, ctx.reload() redraws.
//   webhookSection({ id, title, when?(w), render(sec, w, ctx) })
//       a section of a webhook's page (id="sec-<id>"), after its deliveries;
//       ctx: { api, reload, go, flash, busy, catalogue }.
//   deliveryAction({ label, when?(d, w), run(d, w, ctx) })
//   route({ pattern: /^\/x\/(.+)$/, title, render(main, match, ctx) })
//   webhookColumn({ label, cell(w) })                  a column of the webhooks list.

export const registry = { webhookActions: [], webhookSections: [], deliveryActions: [], routes: [], webhookColumns: [] };

export const webhookAction = (a) => registry.webhookActions.push(a);
export const webhookSection = (s) => registry.webhookSections.push(s);
export const deliveryAction = (a) => registry.deliveryActions.push(a);
export const route = (r) => registry.routes.push(r);
export const webhookColumn = (c) => registry.webhookColumns.push(c);
