package fake

import (
	"context"
	"sync"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Ops records the operational events it is told of (delivery.Operations).
type Ops struct {
	mu     sync.Mutex
	events []webhook.OpEvent
}

// Emit records ev.
func (o *Ops) Emit(_ context.Context, ev webhook.OpEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, ev)
}

// Events returns what was emitted, in order.
func (o *Ops) Events() []webhook.OpEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]webhook.OpEvent(nil), o.events...)
}

// Names returns the emitted events' names, in order.
func (o *Ops) Names() []string {
	var out []string
	for _, e := range o.Events() {
		out = append(out, e.Event)
	}
	return out
}
