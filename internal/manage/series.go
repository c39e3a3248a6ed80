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
	if _, err := s.load(ctx, id); err != nil {
		return webhook.Stats{}, nil, err
	}
	now := s.opt.Clock()
	st, err := s.opt.Store.GetStatsSince(ctx, id, webhook.StatsSince(now, window))
	if err != nil {
		return webhook.Stats{}, nil, err
	}
	return st, webhook.StatsSeries(st.Hours, now, window), nil
}
