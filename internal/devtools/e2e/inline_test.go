package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// TestKilledMidEventBatch is TestKilledMidBatch on the EventsQueue path,
// where an event batch attempts its first deliveries in place: the function
// dies after attempting, recording and scheduling, before answering. The
// events come back and fan out again with the same delivery ids; the
// redelivered attempts read their records first, so a recorded success is
// not sent again, a recorded retry has its next attempt scheduled again,
// and every delivery ends with one record and no repeated attempt number.
func TestKilledMidEventBatch(t *testing.T) {
	wrap, invocations := crashTwice()
	forEachBackend(t, stackOptions{visibility: 2, wrap: wrap}, func(t *testing.T, s *stack) {
		rcvOK := newReceiver(t)
		rcvFlaky := newReceiver(t, 500, 200)
		ok := s.createWebhook(map[string]any{"name": "ok", "url": rcvOK.URL, "events": []string{"task.executed"}})
		flaky := s.createWebhook(map[string]any{"name": "flaky", "url": rcvFlaky.URL, "events": []string{"task.executed"},
			"retry": map[string]any{"strategy": "fixed", "max_attempts": 3, "initial_delay_ms": 1000, "max_delay_ms": 1000}})

		for range 3 {
			s.post(`{"event":"task.executed","data":{"n":1}}`)
		}
		for _, id := range []string{ok, flaky} {
			page := s.waitRecords(id, 3, 40*time.Second)
			require.Len(t, page.Items, 3, "one record per delivery")
			for _, d := range page.Items {
				got := s.waitFinal(id, d.ID, 40*time.Second)
				assert.Equal(t, webhook.DeliverySucceeded, got.Status)
			}
		}
		s.waitDrained(30*time.Second, s.urls.EventsQueue, s.urls.DeliveryQueue)
		for _, id := range []string{ok, flaky} {
			page, err := s.store.ListDeliveries(context.Background(), id, webhook.DeliveryFilter{})
			require.NoError(t, err)
			assert.Len(t, page.Items, 3, "no duplicate records after redelivery")
			for _, d := range page.Items {
				assert.Equal(t, webhook.DeliverySucceeded, d.Status, "still final after redelivery")
				for i, a := range d.Attempts {
					assert.Equal(t, i+1, a.Attempt, "attempt numbers are not repeated")
				}
			}
		}
		assert.Greater(t, invocations(t), int32(2), "the crashes happened, and batches after them")
		// A redelivered event reads before it sends: the successes were
		// not sent again.
		assert.Len(t, rcvOK.got(), 3, "each recorded success sent once")
		seen := map[string]bool{}
		for _, r := range append(rcvOK.got(), rcvFlaky.got()...) {
			seen[r.header.Get("X-Webhook-Delivery")] = true
		}
		assert.Len(t, seen, 6)
	})
}
