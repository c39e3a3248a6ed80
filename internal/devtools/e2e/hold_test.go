package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// heldOf lists a webhook's held deliveries (through the API's filter).
func (s *stack) heldOf(id string) []string {
	s.t.Helper()
	code, out := s.do("GET", "/webhooks/"+id+"/deliveries?status=held&limit=100", nil)
	require.Equal(s.t, http.StatusOK, code, "%v", out)
	var ids []string
	for _, d := range out["items"].([]any) {
		m := d.(map[string]any)
		require.Equal(s.t, "held", m["status"])
		ids = append(ids, m["id"].(string))
	}
	slices.Sort(ids)
	return ids
}

// waitHeld waits until a webhook has n held deliveries and returns their
// ids in creation order.
func (s *stack) waitHeld(id string, n int, within time.Duration) []string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ids := s.heldOf(id)
		if len(ids) >= n {
			return ids
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("webhook %s holds %d deliveries after %s, want %d", id, len(ids), within, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// triggerMany triggers n events of the custom-free agent.started kind.
func (s *stack) triggerMany(n int) {
	s.t.Helper()
	for i := range n {
		res, err := s.pipeline.Triggers.Trigger(context.Background(), webhook.TriggerRequest{
			Event: "agent.started", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		})
		require.NoError(s.t, err)
		require.Equal(s.t, 1, res.Deliveries, "a held pause still makes the delivery")
	}
}

// receivedOnce checks that the receiver got each of ids exactly once (and
// nothing else), and returns the ids in the order they arrived.
func receivedOnce(t *testing.T, rcv *receiver, ids []string) []string {
	t.Helper()
	var order []string
	seen := map[string]int{}
	for _, r := range rcv.got() {
		id := r.header.Get(delivery.HeaderDelivery)
		seen[id]++
		order = append(order, id)
	}
	for _, id := range ids {
		assert.Equal(t, 1, seen[id], "delivered once: %s", id)
	}
	assert.Len(t, order, len(ids), "nothing else")
	return order
}

// TestHeldPauseThenResume: a webhook paused with hold makes a held
// delivery per event (20 here), sends nothing and keeps no message waiting;
// resume drains them, each delivered exactly once, the pages in creation
// order.
func TestHeldPauseThenResume(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t, 200)
		id := s.createWebhook(map[string]any{"name": "held", "url": rcv.URL, "events": []string{"agent.started"}})
		code, out := s.do("POST", "/webhooks/"+id+"/pause", map[string]any{"hold": true})
		require.Equal(t, http.StatusOK, code, "%v", out)
		assert.Equal(t, true, out["hold"])
		assert.Equal(t, "paused", out["status_reason"])

		s.triggerMany(20)
		ids := s.waitHeld(id, 20, 60*time.Second)
		require.Len(t, ids, 20)
		s.waitDrained(60*time.Second, s.urls.EventsQueue, s.urls.DeliveryQueue)
		assert.Empty(t, rcv.got(), "nothing sent while held")
		assert.Zero(t, s.queueDepth(s.urls.DeliveryQueue), "no message waits while held")
		assert.Equal(t, 20, s.heldCount(id), "counted in the stats")

		code, out = s.do("POST", "/webhooks/"+id+"/resume", nil)
		require.Equal(t, http.StatusOK, code, "%v", out)
		assert.Equal(t, false, out["hold"])
		rcv.waitRequests(t, 20, 120*time.Second)
		s.waitDrained(60*time.Second, s.urls.DeliveryQueue)
		order := receivedOnce(t, rcv, ids)
		// Released a page of 10 at a time, a second apart, oldest first: the
		// first request is of the first page.
		assert.Contains(t, ids[:delivery.DrainPage], order[0])
		for _, d := range ids {
			got := s.waitFinal(id, d, 10*time.Second)
			assert.Equal(t, webhook.DeliverySucceeded, got.Status, d)
			assert.Len(t, got.Attempts, 1, "a fresh series, one attempt")
		}
		assert.Empty(t, s.heldOf(id))
		assert.Zero(t, s.heldCount(id), "counted down as drained")
	})
}

// heldCount is the webhook's stats' held count.
func (s *stack) heldCount(id string) int {
	s.t.Helper()
	code, out := s.do("GET", "/webhooks/"+id+"/stats", nil)
	require.Equal(s.t, http.StatusOK, code, "%v", out)
	return int(out["held"].(float64))
}

// TestCircuitOpenHoldsThenDrains: with the circuit open, deliveries are
// held (nothing sent, no message re-sent); the one probe after the
// cooldown is the oldest held delivery, its success closes the circuit and
// the rest drain, each delivered once.
func TestCircuitOpenHoldsThenDrains(t *testing.T) {
	const cooldown = 3 * time.Second
	opt := stackOptions{configure: func(c *config.Config) {
		c.CircuitOpenAfter, c.CircuitCooldown = 3, cooldown
	}}
	forEachBackend(t, opt, func(t *testing.T, s *stack) {
		rcv := newReceiver(t, 500, 500, 500, 200)
		id := s.createWebhook(map[string]any{
			"name": "flaky", "url": rcv.URL, "events": []string{"agent.started"}, "timeout_ms": 1000,
			"retry": map[string]any{"strategy": "fixed", "max_attempts": 1, "initial_delay_ms": 0},
		})
		s.triggerMany(3)
		s.waitCircuit(id, "open", 30*time.Second)
		rcv.waitRequests(t, 3, 10*time.Second)

		s.triggerMany(5)
		ids := s.waitHeld(id, 5, 30*time.Second)
		require.Len(t, ids, 5)

		got := rcv.waitRequests(t, 3+5, 120*time.Second)
		s.waitDrained(60*time.Second, s.urls.DeliveryQueue)
		assert.Equal(t, ids[0], got[3].header.Get(delivery.HeaderDelivery), "the oldest held delivery probes")
		receivedOnce(t, &receiver{requests: rcv.got()[3:]}, ids)
		for _, d := range ids {
			dl := s.waitFinal(id, d, 10*time.Second)
			assert.Equal(t, webhook.DeliverySucceeded, dl.Status, d)
			assert.Len(t, dl.Attempts, 1, "no attempt spent while held")
		}
		assert.Equal(t, "closed", s.healthOf(id)["circuit"])
		assert.Empty(t, s.heldOf(id))
	})
}

// TestPauseBadInput: a pause body whose hold is not a boolean, or with an
// unknown member, is a 400 naming the field, and the webhook is unchanged.
func TestPauseBadInput(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		id := s.createWebhook(map[string]any{"name": "x", "url": "https://example.com/h", "events": []string{"agent.started"}})
		_, before := s.do("GET", "/webhooks/"+id, nil)
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{"hold": "yes"}, "hold"},
			{map[string]any{"hold": 1}, "hold"},
			{map[string]any{"hold": nil}, "hold"},
			{map[string]any{"hold": true, "until": "later"}, "until"},
		} {
			code, out := s.do("POST", "/webhooks/"+id+"/pause", tc.body)
			require.Equal(t, http.StatusBadRequest, code, "%v", out)
			assert.Equal(t, tc.field, out["error"].(map[string]any)["field"], "%v", tc.body)
			_, after := s.do("GET", "/webhooks/"+id, nil)
			assert.Equal(t, before, after, "nothing changes")
		}
	})
}
