package manage

import (
	"context"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// StatsSeries returns a webhook's statistics and its hourly buckets over the
// window ending with the current hour (webhook.StatsSeries: one per hour,
// oldest first); ENotFound if the webhook does not exist.
func (s *Service) StatsSeries(ctx context.Context, id string, window time.Duration) (webhook.Stats, []webhook.HourStats, error) {
	st, err := s.Stats(ctx, id)
	if err != nil {
		return webhook.Stats{}, nil, err
	}
	return st, webhook.StatsSeries(st.Hours, s.opt.Clock(), window), nil
}
