package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// amounts returns data.amount of each request a receiver got, and the
// payload's data.via.
func amounts(t *testing.T, got []received) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for _, r := range got {
		var body struct {
			Data struct {
				Amount float64 `json:"amount"`
				Via    string  `json:"via"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(r.body, &body), string(r.body))
		out[body.Data.Via] = append(out[body.Data.Via], body.Data.Amount)
	}
	return out
}

// A webhook with the filter {"data": {"amount": {"$gt": 100}}} receives the
// event with amount 150 and not the one with 50, from POST /events (whose
// answer counts only the matching subscribers) and from the events queue
// alike; a webhook without a filter beside it receives both.
func TestFilterDeliversOnlyMatchingEvents(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		filtered, plain := newReceiver(t), newReceiver(t)
		fid := s.createWebhook(map[string]any{"name": "big orders", "url": filtered.URL, "events": []string{"custom"},
			"filter": map[string]any{"data": map[string]any{"amount": map[string]any{"$gt": 100}}}})
		pid := s.createWebhook(map[string]any{"name": "all orders", "url": plain.URL, "events": []string{"custom"}})

		for _, tt := range []struct {
			amount     int
			deliveries float64
		}{{150, 2}, {50, 1}} {
			code, out := s.do("POST", "/events", map[string]any{"event": "custom", "data": map[string]any{"amount": tt.amount, "via": "api"}})
			require.Equal(t, http.StatusAccepted, code, "%v", out)
			assert.Equal(t, tt.deliveries, out["deliveries"], "amount %d", tt.amount)
		}
		s.post(`{"event":"custom","data":{"amount":150,"via":"queue"}}`)
		s.post(`{"event":"custom","data":{"amount":50,"via":"queue"}}`)
		s.post(`{"version":"0","id":"0b4c5d6e-1111-4222-8333-944455556666","detail-type":"custom","source":"com.example.orders","account":"111122223333","time":"2026-01-01T12:00:00Z","region":"us-east-1","resources":[],"detail":{"amount":101,"via":"eventbridge"}}`)
		s.post(`{"version":"0","id":"0b4c5d6e-1111-4222-8333-944455557777","detail-type":"custom","source":"com.example.orders","account":"111122223333","time":"2026-01-01T12:00:01Z","region":"us-east-1","resources":[],"detail":{"amount":100,"via":"eventbridge"}}`)

		plain.waitRequests(t, 6, 30*time.Second)
		s.waitDrained(30*time.Second, s.urls.EventsQueue, s.urls.DeliveryQueue)
		assert.Equal(t, map[string][]float64{"api": {150}, "queue": {150}, "eventbridge": {101}}, amounts(t, filtered.got()),
			"only the events over 100")
		got := amounts(t, plain.got())
		assert.ElementsMatch(t, []float64{150, 50}, got["api"])
		assert.ElementsMatch(t, []float64{150, 50}, got["queue"])
		assert.ElementsMatch(t, []float64{101, 100}, got["eventbridge"])

		for id, n := range map[string]int{fid: 3, pid: 6} {
			page, err := s.store.ListDeliveries(context.Background(), id, webhook.DeliveryFilter{})
			require.NoError(t, err)
			assert.Len(t, page.Items, n, "no delivery record for a filtered-out event")
		}

		// The filter test route agrees with what was delivered.
		for amount, want := range map[int]bool{150: true, 50: false} {
			code, out := s.do("POST", "/webhooks/"+fid+"/filter/test", map[string]any{"event": "custom", "data": map[string]any{"amount": amount}})
			require.Equal(t, http.StatusOK, code, "%v", out)
			assert.Equal(t, want, out["matches"], "amount %d", amount)
		}
	})
}

// Malformed filters (a bad operator beside a bad value, nesting past the
// depth bound, a filter past the size bound) are a 400 naming the filter
// path, on create and on patch, and change nothing.
func TestFilterRefusalsChangeNothing(t *testing.T) {
	forEachBackend(t, stackOptions{noESM: true}, func(t *testing.T, s *stack) {
		id := s.createWebhook(map[string]any{"name": "f", "url": "http://127.0.0.1:9/", "events": []string{"custom"},
			"filter": map[string]any{"event": "custom"}})
		code, before := s.do("GET", "/webhooks/"+id, nil)
		require.Equal(t, http.StatusOK, code)

		deep := `{"h":1}`
		for _, k := range []string{"g", "f", "e", "d", "c", "b", "a", "data"} {
			deep = `{"` + k + `":` + deep + `}`
		}
		for _, tt := range []struct{ name, filter, field string }{
			{"bad operator and value", `{"data": {"amount": {"$gte": "x", "$bogus": 1}}}`, "filter.data.amount.$bogus"},
			{"over the depth bound", deep, "filter.data.a.b.c.d.e.f.g"},
			{"over the size bound", `{"data":{"note":"` + strings.Repeat("x", 5000) + `"}}`, "filter"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				raw := json.RawMessage(tt.filter)
				code, out := s.do("POST", "/webhooks", map[string]any{"name": "x", "url": "http://127.0.0.1:9/", "events": []string{"custom"}, "filter": raw})
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, tt.field, out["error"].(map[string]any)["field"], "%v", out)

				code, out = s.do("PATCH", "/webhooks/"+id, map[string]any{"name": "renamed", "filter": raw})
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, tt.field, out["error"].(map[string]any)["field"], "%v", out)

				code, after := s.do("GET", "/webhooks/"+id, nil)
				require.Equal(t, http.StatusOK, code)
				assert.Equal(t, before, after, "the webhook is as it was")
				page, err := s.store.ListWebhooks(context.Background(), webhook.ListFilter{})
				require.NoError(t, err)
				assert.Len(t, page.Items, 1, "no webhook was created")
				subs, err := s.store.ActiveSubscriptions(context.Background(), "custom")
				require.NoError(t, err)
				assert.Equal(t, []webhook.Subscription{{WebhookID: id, Filter: `{"event":"custom"}`}}, subs, "the index is as it was")
			})
		}
	})
}
