package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// healthOf reads a webhook's health through the API.
func (s *stack) healthOf(id string) map[string]any {
	s.t.Helper()
	code, out := s.do("GET", "/webhooks/"+id, nil)
	require.Equal(s.t, http.StatusOK, code, "%v", out)
	return out["health"].(map[string]any)
}

// waitCircuit polls a webhook until its circuit is in state, and returns
// its health then.
func (s *stack) waitCircuit(id, state string, within time.Duration) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		h := s.healthOf(id)
		if h["circuit"] == state {
			return h
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("circuit of %s not %s within %s: %v", id, state, within, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func apiTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "%v is not a time", v)
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm
}

// TestCircuitBreaker: with CIRCUIT_OPEN_AFTER=3 and a 3 s cooldown, an
// endpoint failing five times then recovering sees its circuit open after
// exactly three failures, no request while open, one probe per cooldown
// (the first fails and doubles it, the second closes the circuit), and no
// attempt spent while open: every attempt recorded is a request received.
// Times are only bounded from below (a request never comes before its
// probe is due), never from above, so a loaded machine cannot fail it.
func TestCircuitBreaker(t *testing.T) {
	const cooldown = 3 * time.Second
	opt := stackOptions{configure: func(c *config.Config) {
		c.CircuitOpenAfter, c.CircuitCooldown = 3, cooldown
	}}
	forEachBackend(t, opt, func(t *testing.T, s *stack) {
		rcv := newReceiver(t, 500, 500, 500, 500, 200)
		id := s.createWebhook(map[string]any{
			"name": "flaky", "url": rcv.URL, "events": []string{"agent.started"}, "timeout_ms": 1000,
			"retry": map[string]any{"strategy": "fixed", "max_attempts": 10, "initial_delay_ms": 0},
		})
		first := s.trigger("agent.started", id)

		// Open after exactly three failed attempts.
		h := s.waitCircuit(id, "open", 30*time.Second)
		assert.EqualValues(t, 3, h["consecutive_failures"])
		opened, probeAt := apiTime(t, h["opened_at"]), apiTime(t, h["next_probe_at"])
		assert.Equal(t, cooldown, probeAt.Sub(opened))
		got := rcv.got()
		require.GreaterOrEqual(t, len(got), 3)
		for _, r := range got[3:] { // only a very slow poll sees a probe already
			assert.False(t, r.at.Before(probeAt), "no request once open")
		}

		// A delivery triggered while open waits with the rest.
		res, err := s.pipeline.Triggers.Trigger(context.Background(), webhook.TriggerRequest{Event: "agent.started", Data: json.RawMessage(`{"n":2}`)})
		require.NoError(t, err)
		require.Equal(t, 1, res.Deliveries)

		d := s.waitFinal(id, first, 90*time.Second)
		assert.Equal(t, webhook.DeliverySucceeded, d.Status)
		s.waitDrained(60*time.Second, s.urls.DeliveryQueue)
		got = rcv.got()

		// Requests 4 and 5 were the two probes, each no earlier than its
		// cooldown allowed: the first 3 s after the opening, the second 6 s
		// after the first probe failed (the cooldown doubled).
		require.GreaterOrEqual(t, len(got), 5)
		assert.False(t, got[3].at.Before(probeAt), "first probe at %s, due %s", got[3].at, probeAt)
		assert.GreaterOrEqual(t, got[4].at.Sub(got[3].at), 2*cooldown-10*time.Millisecond, "one probe per cooldown, doubled after a failed one")

		// No attempt spent while open: every recorded attempt is a request
		// the endpoint got, both deliveries succeeded.
		page := s.waitRecords(id, 2, 10*time.Second)
		attempts := 0
		for _, dl := range page.Items {
			assert.Equal(t, webhook.DeliverySucceeded, dl.Status, dl.ID)
			attempts += len(dl.Attempts)
		}
		assert.Equal(t, len(got), attempts, "attempts recorded = requests received")
		assert.Equal(t, 6, attempts, "3 failures, 2 probes, the held delivery's one attempt")

		h = s.healthOf(id)
		assert.Equal(t, "closed", h["circuit"])
		assert.EqualValues(t, 0, h["consecutive_failures"])
		assert.Nil(t, h["failing_since"])
		assert.Nil(t, h["opened_at"])
		assert.Nil(t, h["next_probe_at"])
	})
}

// offsetClock is the wall clock moved on by what the test adds.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// TestAutoDisable: with DISABLE_AFTER_HOURS=1, an endpoint that fails every
// attempt is disabled at the first failure an hour (of the pipeline's
// clock) after its first one: status inactive, status_reason auto_disabled,
// nothing more sent; resume re-enables it with its health cleared.
func TestAutoDisable(t *testing.T) {
	clock := &offsetClock{}
	opt := stackOptions{now: clock.now, configure: func(c *config.Config) {
		c.CircuitOpenAfter, c.CircuitCooldown, c.DisableAfter = 2, time.Second, time.Hour
	}}
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) { // not parallel: one clock
			s := newStack(t, b, opt)
			rcv := newReceiver(t, 500)
			id := s.createWebhook(map[string]any{
				"name": "down", "url": rcv.URL, "events": []string{"agent.started"}, "timeout_ms": 1000,
				"retry": map[string]any{"strategy": "fixed", "max_attempts": 10, "initial_delay_ms": 0},
			})
			s.trigger("agent.started", id)
			s.waitCircuit(id, "open", 30*time.Second)
			require.Len(t, rcv.got(), 2)

			clock.advance(time.Hour) // the next probe fails an hour after the first failure
			deadline := time.Now().Add(30 * time.Second)
			var out map[string]any
			for {
				_, out = s.do("GET", "/webhooks/"+id, nil)
				if out["status"] == "inactive" || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			assert.Equal(t, "inactive", out["status"])
			assert.Equal(t, "auto_disabled", out["status_reason"])
			assert.Len(t, rcv.got(), 3, "the failed probe, then nothing")

			code, out := s.do("POST", "/webhooks/"+id+"/resume", nil)
			require.Equal(t, http.StatusOK, code, "%v", out)
			assert.Equal(t, "active", out["status"])
			assert.Nil(t, out["status_reason"])
			h := out["health"].(map[string]any)
			assert.Equal(t, "closed", h["circuit"])
			assert.EqualValues(t, 0, h["consecutive_failures"])
			assert.Nil(t, h["failing_since"])
		})
	}
}
