package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// The hour's bucket counts what happened in it, whatever the totals do.
func TestDeltaHour(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		status      webhook.DeliveryStatus
		seriesStart int
		failed      int64 // the totals' change
		hour        [3]int64
	}{
		{"succeeded", webhook.DeliverySucceeded, 1, 0, [3]int64{1, 0, 0}},
		{"retrying", webhook.DeliveryRetrying, 1, 0, [3]int64{0, 0, 1}},
		{"failed", webhook.DeliveryFailed, 1, 1, [3]int64{0, 1, 0}},
		{"manual retry succeeded", webhook.DeliverySucceeded, 4, -1, [3]int64{1, 0, 0}},
		{"manual retry failed again", webhook.DeliveryFailed, 4, 0, [3]int64{0, 1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &webhook.Delivery{Status: tc.status, SeriesStart: tc.seriesStart}
			s := delta(d, webhook.Attempt{DurationMS: 250}, now, tc.seriesStart > 1)
			assert.Equal(t, tc.failed, s.Failed)
			assert.Equal(t, tc.hour, [3]int64{s.Hour.Succeeded, s.Hour.Failed, s.Hour.Retrying})
			assert.Equal(t, now.Truncate(time.Hour), s.Hour.Start)
			assert.Equal(t, int64(1), s.Hour.Latency[webhook.LatencyBucket(250)])
		})
	}
}
