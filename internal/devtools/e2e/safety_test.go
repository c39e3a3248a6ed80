package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestIdempotentTriggerOverHTTP(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t)
		id := s.createWebhook(map[string]any{"name": "idem", "url": rcv.URL, "events": []string{"custom"}})
		body := map[string]any{"event": "custom", "data": map[string]any{"order": 42}}

		code, first := s.do("POST", "/events", body, "Idempotency-Key", "order-42-shipped")
		require.Equal(t, http.StatusAccepted, code, "%v", first)
		assert.EqualValues(t, 1, first["deliveries"])
		code, again := s.do("POST", "/events", body, "Idempotency-Key", "order-42-shipped")
		require.Equal(t, http.StatusAccepted, code)
		assert.Equal(t, first, again, "the same key returns the first answer")

		code, conflict := s.do("POST", "/events", map[string]any{"event": "custom", "data": map[string]any{"order": 43}}, "Idempotency-Key", "order-42-shipped")
		assert.Equal(t, http.StatusConflict, code, "%v", conflict)

		rcv.waitRequests(t, 1, 20*time.Second)
		// Every job the three calls sent is in the delivery queue by now;
		// once it is empty, a duplicate would have reached the receiver.
		s.waitDrained(20*time.Second, s.urls.DeliveryQueue)
		assert.Len(t, rcv.got(), 1, "one delivery for the key")
		page, err := s.store.ListDeliveries(context.Background(), id, webhook.DeliveryFilter{})
		require.NoError(t, err)
		assert.Len(t, page.Items, 1)

		code, out := s.do("POST", "/events", map[string]any{"event": "no.such.event"})
		assert.Equal(t, http.StatusBadRequest, code, "%v", out)
		code, out = s.do("POST", "/events", map[string]any{"event": "custom"})
		assert.Equal(t, http.StatusAccepted, code, "%v", out)
		code, out = s.do("POST", "/events", map[string]any{"event": "agent.stopped"})
		require.Equal(t, http.StatusAccepted, code)
		assert.EqualValues(t, 0, out["deliveries"], "no subscribers: accepted, nothing to deliver")
	})
}

// TestDialGuardRefusesBlockedRanges stores webhooks whose URLs passed
// validation elsewhere (as a DNS name would, before it rebinds to a private
// address) and checks that the dial-time guard refuses every blocked range:
// the attempt records the refusal and the delivery fails without retries.
func TestDialGuardRefusesBlockedRanges(t *testing.T) {
	targets := map[string]string{
		"loopback":        "http://127.0.0.1:9/",
		"private-10":      "http://10.0.0.1/",
		"private-172":     "http://172.16.0.1/",
		"private-192":     "http://192.168.1.1/",
		"link-local":      "http://169.254.10.10/",
		"metadata":        "http://169.254.169.254/latest/meta-data/",
		"cgnat":           "http://100.64.0.1/",
		"unspecified":     "http://0.0.0.0/",
		"multicast":       "http://224.0.0.1/",
		"v6-loopback":     "http://[::1]/",
		"v6-ula":          "http://[fd00::1]/",
		"v6-link-local":   "http://[fe80::1]/",
		"v4-mapped":       "http://[::ffff:127.0.0.1]/",
		"v4-mapped-10":    "http://[::ffff:10.0.0.1]/",
		"aws-v6-metadata": "http://[fd00:ec2::254]/",
	}
	forEachBackend(t, stackOptions{denyPrivate: true}, func(t *testing.T, s *stack) {
		ids := map[string]string{}
		for name, u := range targets {
			w := &webhook.Webhook{ID: webhook.NewID(webhook.WebhookIDPrefix), Name: name, URL: u, Method: "POST",
				Events: []string{"system.health.degraded"}, Status: webhook.StatusActive, AuthType: webhook.AuthNone,
				Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 2000, CreatedAt: time.Now(), UpdatedAt: time.Now()}
			require.NoError(t, s.store.CreateWebhook(context.Background(), w))
			ids[name] = w.ID
		}
		res, err := s.pipeline.Triggers.Trigger(context.Background(), triggerReq("system.health.degraded"))
		require.NoError(t, err)
		require.Equal(t, len(targets), res.Deliveries)
		for name, id := range ids {
			d := s.waitFinal(id, deliveryOf(s, id), 20*time.Second)
			assert.Equal(t, webhook.DeliveryFailed, d.Status, name)
			require.Len(t, d.Attempts, 1, "%s: a refused target is not retried", name)
			assert.Contains(t, d.Attempts[0].Error, "blocked", name)
			assert.Zero(t, d.Attempts[0].StatusCode, name)
		}
	})
}

// TestKilledMidBatch plays a Lambda that dies after doing its work but
// before answering: nothing of the batch is deleted, every message comes
// back after the visibility timeout and is processed again. Every delivery
// still ends final, with one record and no repeated attempt numbers.
func TestKilledMidBatch(t *testing.T) {
	wrap, invocations := crashTwice()
	forEachBackend(t, stackOptions{visibility: 2, wrap: wrap}, func(t *testing.T, s *stack) {
		rcvOK := newReceiver(t)
		rcvFlaky := newReceiver(t, 500, 200)
		ok := s.createWebhook(map[string]any{"name": "ok", "url": rcvOK.URL, "events": []string{"task.executed"}})
		flaky := s.createWebhook(map[string]any{"name": "flaky", "url": rcvFlaky.URL, "events": []string{"task.executed"},
			"retry": map[string]any{"strategy": "fixed", "max_attempts": 3, "initial_delay_ms": 1000, "max_delay_ms": 1000}})

		var dids []string
		for range 3 {
			res, err := s.pipeline.Triggers.Trigger(context.Background(), triggerReq("task.executed"))
			require.NoError(t, err)
			require.Equal(t, 2, res.Deliveries)
		}
		for _, id := range []string{ok, flaky} {
			page := s.waitRecords(id, 3, 40*time.Second)
			require.Len(t, page.Items, 3, "one record per delivery")
			for _, d := range page.Items {
				dids = append(dids, d.ID)
				got := s.waitFinal(id, d.ID, 40*time.Second)
				assert.Equal(t, webhook.DeliverySucceeded, got.Status)
				for i, a := range got.Attempts {
					assert.Equal(t, i+1, a.Attempt, "attempt numbers are not repeated")
				}
			}
		}
		assert.Len(t, dids, 6)

		// Wait for the crashed batches to come back and be processed again.
		s.waitDrained(30*time.Second, s.urls.DeliveryQueue)
		for _, id := range []string{ok, flaky} {
			page, err := s.store.ListDeliveries(context.Background(), id, webhook.DeliveryFilter{})
			require.NoError(t, err)
			assert.Len(t, page.Items, 3, "no duplicate records after redelivery")
			for _, d := range page.Items {
				assert.Equal(t, webhook.DeliverySucceeded, d.Status, "still final after redelivery")
				for i, a := range d.Attempts {
					assert.Equal(t, i+1, a.Attempt)
				}
			}
		}
		assert.Greater(t, invocations(t), int32(2), "the crashes happened, and batches after them")
		// Redelivered first attempts may reach the endpoint again (at least
		// once), but always under the same delivery id.
		seen := map[string]bool{}
		for _, r := range append(rcvOK.got(), rcvFlaky.got()...) {
			seen[r.header.Get("X-Webhook-Delivery")] = true
		}
		assert.Len(t, seen, 6)
	})
}

func triggerReq(event string) webhook.TriggerRequest {
	return webhook.TriggerRequest{Event: event, Data: json.RawMessage(`{"n":1}`)}
}

// crashTwice wraps each stack's delivery handler so that its first two
// invocations do their work and then die before answering, as a Lambda
// whose runtime exits: their messages come back after the visibility
// timeout. invocations is how many the stack of test t has had.
func crashTwice() (wrap func(*testing.T, localaws.SQSHandler) localaws.SQSHandler, invocations func(t *testing.T) int32) {
	var mu sync.Mutex
	counts := map[string]*atomic.Int32{} // per backend's stack
	wrap = func(t *testing.T, h localaws.SQSHandler) localaws.SQSHandler {
		n := &atomic.Int32{}
		mu.Lock()
		counts[t.Name()] = n
		mu.Unlock()
		return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			resp, err := h(ctx, ev)
			if n.Add(1) <= 2 {
				return events.SQSEventResponse{}, errors.New("simulated crash: Lambda runtime exited")
			}
			return resp, err
		}
	}
	invocations = func(t *testing.T) int32 {
		mu.Lock()
		defer mu.Unlock()
		return counts[t.Name()].Load()
	}
	return wrap, invocations
}
