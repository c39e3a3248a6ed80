package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// trigger fires event and returns the one delivery id it made for webhookID.
func (s *stack) trigger(event, webhookID string) string {
	s.t.Helper()
	res, err := s.pipeline.Triggers.Trigger(context.Background(), webhook.TriggerRequest{Event: event, Data: json.RawMessage(`{"n":1}`)})
	require.NoError(s.t, err)
	require.Equal(s.t, 1, res.Deliveries)
	return deliveryOf(s, webhookID)
}

// deliveryOf returns the newest delivery id of a webhook, waiting for it.
func deliveryOf(s *stack, webhookID string) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		page, err := s.store.ListDeliveries(context.Background(), webhookID, webhook.DeliveryFilter{Limit: 1})
		require.NoError(s.t, err)
		if len(page.Items) > 0 {
			return page.Items[0].ID
		}
		if time.Now().After(deadline) {
			s.t.Fatal("no delivery recorded")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// planned are the waits the policy chose after each failed attempt, as its
// record says them ("...; retrying in 1.8s (attempt 2 of 3 next)"). The
// strategy is checked on these, not on arrival times, which a loaded machine
// stretches at random.
func planned(t *testing.T, d *webhook.Delivery) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, a := range d.Attempts {
		m := retryingIn.FindStringSubmatch(a.Error)
		if m == nil {
			continue
		}
		w, err := time.ParseDuration(m[1])
		require.NoError(t, err, "attempt %d: %q", a.Attempt, a.Error)
		out = append(out, w)
	}
	return out
}

var retryingIn = regexp.MustCompile(`; retrying in (\S+) \(attempt `)

// gaps are the times between arrivals of consecutive attempts.
func gaps(rcv []received) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(rcv); i++ {
		out = append(out, rcv[i].at.Sub(rcv[i-1].at))
	}
	return out
}

func TestRetryStrategies(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		check    func(t *testing.T, g []time.Duration)
	}{
		// Jitter only shortens a wait, by at most 20 %.
		{"exponential", func(t *testing.T, w []time.Duration) {
			assert.InDelta(t, 0.9, w[0].Seconds(), 0.1, "1 s first")
			assert.InDelta(t, 1.8, w[1].Seconds(), 0.2, "then doubled: 2 s")
		}},
		{"linear", func(t *testing.T, w []time.Duration) {
			assert.InDelta(t, 0.9, w[0].Seconds(), 0.1, "1 s first")
			assert.InDelta(t, 1.8, w[1].Seconds(), 0.2, "then grown by the initial delay: 2 s")
		}},
		{"fixed", func(t *testing.T, w []time.Duration) {
			assert.InDelta(t, 0.9, w[0].Seconds(), 0.1, "1 s")
			assert.InDelta(t, 0.9, w[1].Seconds(), 0.1, "the same delay again")
		}},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
				rcv := newReceiver(t, 500, 500, 200)
				id := s.createWebhook(map[string]any{"name": tc.strategy, "url": rcv.URL, "events": []string{"task.failed"},
					"retry": map[string]any{"strategy": tc.strategy, "max_attempts": 3, "initial_delay_ms": 1000, "max_delay_ms": 60000}})
				did := s.trigger("task.failed", id)
				d := s.waitFinal(id, did, 30*time.Second)

				assert.Equal(t, webhook.DeliverySucceeded, d.Status)
				require.Len(t, d.Attempts, 3)
				for i, a := range d.Attempts {
					assert.Equal(t, i+1, a.Attempt)
					assert.Equal(t, []int{500, 500, 200}[i], a.StatusCode)
				}
				assert.Contains(t, d.Attempts[0].Error, "500")
				got := rcv.got()
				require.Len(t, got, 3)
				for i, r := range got {
					assert.Equal(t, did, r.header.Get("X-Webhook-Delivery"), "retries keep the delivery id")
					assert.Equal(t, []string{"1", "2", "3"}[i], r.header.Get("X-Webhook-Attempt"))
				}
				w := planned(t, d)
				require.Len(t, w, 2, "two failed attempts, each with its planned wait")
				tc.check(t, w)
				// Load can only delay an attempt: it never comes before its wait.
				for i, x := range gaps(got) {
					assert.GreaterOrEqual(t, x, w[i]-100*time.Millisecond, "attempt %d before its backoff", i+2)
				}

				st := s.waitStats(id, 3)
				assert.Equal(t, int64(1), st.TotalDeliveries)
				assert.Equal(t, int64(1), st.Successful)
				assert.Equal(t, int64(3), st.Attempts)
			})
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t, 429, 200)
		rcv.header.Set("Retry-After", "3")
		id := s.createWebhook(map[string]any{"name": "ra", "url": rcv.URL, "events": []string{"custom"}})
		did := s.trigger("custom", id)
		d := s.waitFinal(id, did, 30*time.Second)
		assert.Equal(t, webhook.DeliverySucceeded, d.Status)
		got := rcv.got()
		require.Len(t, got, 2)
		assert.GreaterOrEqual(t, got[1].at.Sub(got[0].at), 3*time.Second, "Retry-After: 3 over the 1 s backoff")
	})
}

func TestGoneDeactivatesWebhook(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t, 410)
		id := s.createWebhook(map[string]any{"name": "gone", "url": rcv.URL, "events": []string{"custom"}})
		did := s.trigger("custom", id)
		d := s.waitFinal(id, did, 20*time.Second)
		assert.Equal(t, webhook.DeliveryFailed, d.Status)
		assert.Len(t, d.Attempts, 1, "410 is not retried")
		assert.Contains(t, d.Attempts[0].Error, "410")

		code, w := s.do("GET", "/webhooks/"+id, nil)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, "inactive", w["status"])
		res, err := s.pipeline.Triggers.Trigger(context.Background(), webhook.TriggerRequest{Event: "custom"})
		require.NoError(t, err)
		assert.Zero(t, res.Deliveries, "an inactive webhook gets nothing")
	})
}

func TestExhaustionThenManualRetry(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t, 503, 503, 200)
		id := s.createWebhook(map[string]any{"name": "exhaust", "url": rcv.URL, "events": []string{"custom"},
			"retry": map[string]any{"strategy": "fixed", "max_attempts": 2, "initial_delay_ms": 1000, "max_delay_ms": 1000}})
		did := s.trigger("custom", id)
		d := s.waitFinal(id, did, 20*time.Second)
		require.Equal(t, webhook.DeliveryFailed, d.Status)
		require.Len(t, d.Attempts, 2)
		assert.Contains(t, d.Attempts[1].Error, "attempts exhausted")

		st := s.waitStats(id, 2)
		assert.Equal(t, int64(1), st.Failed)

		code, out := s.do("POST", "/webhooks/"+id+"/deliveries/"+did+"/retry", nil)
		require.Equal(t, http.StatusAccepted, code, "%v", out)
		code, out = s.do("POST", "/webhooks/"+id+"/deliveries/"+did+"/retry", nil)
		assert.Equal(t, http.StatusConflict, code, "only a failed delivery can be retried: %v", out)

		d = s.waitFinal(id, did, 20*time.Second)
		assert.Equal(t, webhook.DeliverySucceeded, d.Status)
		require.Len(t, d.Attempts, 3, "the new series continues the numbering")
		assert.Equal(t, 3, d.SeriesStart)
		got := rcv.got()
		require.Len(t, got, 3)
		assert.Equal(t, did, got[2].header.Get("X-Webhook-Delivery"))
		assert.JSONEq(t, string(got[0].body), string(got[2].body), "the same event is sent again")

		st = s.waitStats(id, 3)
		assert.Equal(t, int64(1), st.TotalDeliveries, "one delivery, counted once")
		assert.Equal(t, int64(1), st.Successful)
		assert.Zero(t, st.Failed)
		assert.Equal(t, int64(3), st.Attempts)
	})
}
