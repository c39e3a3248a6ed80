package delivery

import (
	"context"
	"time"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Operations hears of the transitions the delivery path makes: a circuit
// opened or closed, a webhook disabled, a delivery ended failed
// (implemented by *ops.Emitter, which triggers the operational event and
// puts it on the bus). Emit answers nothing: a failure to tell is logged
// there and never fails the attempt, whose own record is what matters.
type Operations interface {
	Emit(ctx context.Context, ev webhook.OpEvent)
}

// emit tells Ops of a transition made by job's attempt. A test send tells
// nothing, and neither does a delivery of an operational event: an
// operational webhook that fails must not feed itself.
func (a *Attempter) emit(ctx context.Context, w *webhook.Webhook, job queue.Job, event string, at time.Time, d webhook.OpData) {
	if a.opt.Ops == nil || job.Test || webhook.IsOperational(job.Event) {
		return
	}
	d.WebhookID, d.Name, d.URL = w.ID, w.Name, w.URL
	a.opt.Ops.Emit(ctx, webhook.OpEvent{
		Event: event,
		Data:  d,
		// The attempt that made the transition names it: the same
		// transition told again derives the same event and delivery ids.
		Key:  event + ":" + probeToken(job),
		Time: at.UTC(),
	})
}

// lastOf describes a delivery's last attempt for an operational event.
func lastOf(job queue.Job, at webhook.Attempt) webhook.OpData {
	return webhook.OpData{
		DeliveryID: job.DeliveryID, DeliveryEvent: job.Event, Attempts: at.Attempt,
		StatusCode: at.StatusCode, Error: at.Error,
	}
}

// failedOf is delivery.failed's data for d, which ended failed.
func failedOf(job queue.Job, d *webhook.Delivery) webhook.OpData {
	if len(d.Attempts) == 0 {
		return webhook.OpData{DeliveryID: d.ID, DeliveryEvent: d.Event}
	}
	return lastOf(job, d.Attempts[len(d.Attempts)-1])
}
