// Package ops tells of the service's operational events (webhook.failing,
// webhook.recovered, webhook.disabled, delivery.failed): each is triggered
// like any event, so the webhooks subscribed to it get signed deliveries with
// retries, and put on an EventBridge bus for CloudWatch alarms, chatbots or
// other AWS services. The delivery path decides when (on a transition it
// won); this package only carries them.
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Triggerer fans an event out to its subscribers (implemented by
// *trigger.Service).
type Triggerer interface {
	TriggerBatch(ctx context.Context, reqs []webhook.TriggerRequest) ([]webhook.TriggerResult, []error)
}

// Publisher puts an operational event on the bus (implemented by *Bus).
type Publisher interface {
	Publish(ctx context.Context, event string, detail json.RawMessage) error
}

// metadata marks an operational event's payload as the service's own.
var metadata = json.RawMessage(`{"source":"` + webhook.OperationsSource + `"}`)

// Emitter triggers each operational event and publishes it.
type Emitter struct {
	trigger Triggerer
	bus     Publisher // nil: no bus
	log     *slog.Logger
}

// New returns an Emitter. bus may be nil (no bus); log may be nil
// (slog.Default).
func New(t Triggerer, bus Publisher, log *slog.Logger) *Emitter {
	if log == nil {
		log = slog.Default()
	}
	return &Emitter{trigger: t, bus: bus, log: log}
}

// Emit triggers ev and puts it on the bus. A failure of either is logged,
// never returned: it must not fail the delivery that made the transition.
// The trigger is a queue-sourced one keyed by ev.Key at ev.Time, so the same
// transition emitted twice enqueues the same delivery ids (their records stay
// single); the bus may then see it twice (at least once).
func (e *Emitter) Emit(ctx context.Context, ev webhook.OpEvent) {
	data, err := json.Marshal(ev.Data)
	if err != nil { // cannot happen for OpData; said rather than dropped silently
		e.log.ErrorContext(ctx, "ops: encode operational event", "event", ev.Event, "error", err)
		return
	}
	log := e.log.With("event", ev.Event, "webhook_id", ev.Data.WebhookID, "delivery_id", ev.Data.DeliveryID)
	res, errs := e.trigger.TriggerBatch(ctx, []webhook.TriggerRequest{{
		Event: ev.Event, Data: data, Metadata: metadata,
		IdempotencyKey: ev.Key, Source: webhook.FromQueue, Time: ev.Time, Via: "ops",
	}})
	if errs[0] != nil {
		log.ErrorContext(ctx, "ops: trigger operational event", "error", errs[0])
	} else {
		log.InfoContext(ctx, "operational event", "event_id", res[0].EventID, "deliveries", res[0].Deliveries)
	}
	if e.bus == nil {
		return
	}
	if err := e.bus.Publish(ctx, ev.Event, data); err != nil {
		log.ErrorContext(ctx, "ops: put operational event on the bus; the delivery goes on", "error", err)
	}
}

// errf is the package's error prefix.
func errf(format string, a ...any) error { return fmt.Errorf("ops: "+format, a...) }
