package manage

import (
	"context"
	"fmt"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// HealthReader reads the endpoints' health the delivery path keeps
// (implemented by *store.Store). Health is read-only: no use case writes it
// but Resume, which clears it.
type HealthReader interface {
	GetHealth(ctx context.Context, id string) (webhook.Health, error)
	// Healths answers the health of each webhook of ids; those with none
	// recorded may be absent.
	Healths(ctx context.Context, ids []string) (map[string]webhook.Health, error)
	// ResetHealth forgets a webhook's failures and closes its circuit.
	ResetHealth(ctx context.Context, id string) error
}

// withHealth sets w.Health (nothing without Options.Health).
func (s *Service) withHealth(ctx context.Context, w *webhook.Webhook) error {
	if s.opt.Health == nil || w == nil {
		return nil
	}
	h, err := s.opt.Health.GetHealth(ctx, w.ID)
	if err != nil {
		return fmt.Errorf("health of %s: %w", w.ID, err)
	}
	w.Health = h
	return nil
}

// pageHealth sets the health of a page's webhooks, in one batch read.
func (s *Service) pageHealth(ctx context.Context, ws []*webhook.Webhook) error {
	if s.opt.Health == nil || len(ws) == 0 {
		return nil
	}
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	hs, err := s.opt.Health.Healths(ctx, ids)
	if err != nil {
		return fmt.Errorf("health of a page of webhooks: %w", err)
	}
	for _, w := range ws {
		w.Health = hs[w.ID]
	}
	return nil
}

// reasonFor is the status reason a client's change of status to next
// records: paused when it makes a webhook inactive, none when active; an
// unchanged status keeps its reason.
func reasonFor(cur, next *webhook.Webhook) webhook.StatusReason {
	switch {
	case next.Status == cur.Status:
		return cur.StatusReason
	case next.Status == webhook.StatusInactive:
		return webhook.ReasonPaused
	}
	return webhook.ReasonNone
}

// Drainer drains a webhook's held deliveries (implemented by
// *delivery.Attempter).
type Drainer interface {
	StartDrain(ctx context.Context, webhookID string) error
}
