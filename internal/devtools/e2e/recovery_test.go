package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/systemprompt-io/webhooks/internal/recovery"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// killingStore plays a delivery function that dies in the middle of a
// recovery page: at each of the given re-queue calls the re-queue is made
// and then reported failed, before the page's jobs are sent and its cursor
// recorded. The message comes back after the visibility timeout.
type killingStore struct {
	recovery.Store
	calls  atomic.Int64
	killAt atomic.Pointer[map[int64]bool] // set by the test once it knows its count
	kills  atomic.Int64
}

func (s *killingStore) RequeueForRecovery(ctx context.Context, d *webhook.Delivery, rid string, now time.Time) error {
	err := s.Store.RequeueForRecovery(ctx, d, rid, now)
	if at := s.killAt.Load(); at != nil && (*at)[s.calls.Add(1)] {
		s.kills.Add(1)
		return errors.New("simulated kill: Lambda runtime exited mid-page")
	}
	return err
}

// seedFailed stores n failed deliveries of webhookID straight through the
// store (as an exhausted delivery leaves them: one attempt, the event kept),
// one a second apart from start, and returns their ids.
func (s *stack) seedFailed(webhookID string, start time.Time, n int, status webhook.DeliveryStatus) []string {
	s.t.Helper()
	ids := make([]string, n)
	var g errgroup.Group
	g.SetLimit(8)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second)
		evt := webhook.NewID(webhook.EventIDPrefix)
		ids[i] = webhook.DeliveryIDFor(evt, webhookID, at)
		g.Go(func() error {
			done := at.Add(time.Second)
			d := &webhook.Delivery{
				ID: ids[i], WebhookID: webhookID, EventID: evt, Event: "task.executed", Status: status,
				Attempts:    []webhook.Attempt{{Attempt: 1, StartedAt: at, StatusCode: 500, Error: "endpoint answered 500"}},
				SeriesStart: 1, CreatedAt: at, CompletedAt: &done,
			}
			if status == webhook.DeliveryFailed {
				d.EventTime, d.Data = at, json.RawMessage(`{"n":`+strconv.Itoa(i)+`}`)
			}
			return s.store.SaveAttempt(context.Background(), d)
		})
	}
	require.NoError(s.t, g.Wait())
	return ids
}

// recoveryCount is how many failed deliveries a backend's recovery test
// recovers: 1,000 on the embedded emulator (the local stack), fewer on the
// reference pair, where moto answers some 30 calls a second.
func recoveryCount(t *testing.T) int {
	if strings.HasSuffix(t.Name(), "/kumo") {
		return 1000
	}
	return 150
}

// TestRecoveryOfAThousandAcrossKills recovers 1,000 failed deliveries while
// the function dies twice in the middle of a page (at 43.7 % and 73.1 % of
// the re-queues): every one reaches the receiver exactly once, as a new
// attempt series under its id, and the progress counts are exact.
func TestRecoveryOfAThousandAcrossKills(t *testing.T) {
	var mu sync.Mutex
	killers := map[string]*killingStore{}
	opt := stackOptions{visibility: 2}
	opt.recoveryStore = func(st recovery.Store) recovery.Store {
		k := &killingStore{Store: st}
		mu.Lock()
		killers[st.(*store.Store).Tables().Webhooks] = k
		mu.Unlock()
		return k
	}
	forEachBackend(t, opt, func(t *testing.T, s *stack) {
		n := recoveryCount(t)
		mu.Lock()
		k := killers[s.cfg.WebhooksTable]
		mu.Unlock()
		require.NotNil(t, k)
		k.killAt.Store(&map[int64]bool{int64(n) * 437 / 1000: true, int64(n) * 731 / 1000: true})
		rcv := newReceiver(t)
		id := s.createWebhook(map[string]any{"name": "recover", "url": rcv.URL, "events": []string{"task.executed"}})
		start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
		failed := s.seedFailed(id, start, n, webhook.DeliveryFailed)
		// In the window but not failed, and failed outside it: not sent.
		s.seedFailed(id, start.Add(30*time.Minute+500*time.Millisecond), 20, webhook.DeliverySucceeded)
		s.seedFailed(id, start.Add(-time.Hour), 5, webhook.DeliveryFailed)

		code, out := s.do("POST", "/webhooks/"+id+"/recover", map[string]any{"since": start.Format(time.RFC3339)})
		require.Equal(t, http.StatusAccepted, code, "%v", out)
		assert.Equal(t, "running", out["status"])
		assert.EqualValues(t, 0, out["queued"])
		assert.EqualValues(t, 0, out["scanned"])
		rid := out["id"].(string)

		deadline := time.Now().Add(5 * time.Minute)
		var last map[string]any
		for {
			code, last = s.do("GET", "/webhooks/"+id+"/recoveries/"+rid, nil)
			require.Equal(t, http.StatusOK, code, "%v", last)
			if last["status"] == "done" {
				break
			}
			require.True(t, time.Now().Before(deadline), "recovery not done: %v", last)
			time.Sleep(200 * time.Millisecond)
		}
		assert.EqualValues(t, n+20, last["scanned"], "%v", last)
		assert.EqualValues(t, n, last["queued"], "%v", last)
		assert.EqualValues(t, 0, last["skipped"], "%v", last)
		assert.NotNil(t, last["completed_at"])

		rcv.waitRequests(t, n, 3*time.Minute)
		s.waitDrained(time.Minute, s.urls.DeliveryQueue)
		time.Sleep(3 * time.Second) // longer than the visibility timeout: a late duplicate would show
		seen := map[string]int{}
		for _, r := range rcv.got() {
			seen[r.header.Get("X-Webhook-Delivery")]++
			assert.Equal(t, "2", r.header.Get("X-Webhook-Attempt"), "the first attempt of the new series")
		}
		assert.Len(t, seen, n)
		for _, did := range failed {
			assert.Equal(t, 1, seen[did], "delivery %s re-delivered %d times", did, seen[did])
		}
		for _, did := range failed[:50] {
			d, err := s.store.GetDelivery(context.Background(), id, did)
			require.NoError(t, err)
			assert.Equal(t, webhook.DeliverySucceeded, d.Status)
			assert.Equal(t, 2, d.SeriesStart)
			require.Len(t, d.Attempts, 2)
		}
		assert.EqualValues(t, 2, k.kills.Load(), "the function died twice")
	})
}

func TestRecoverBadInputChangesNothing(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		rcv := newReceiver(t)
		id := s.createWebhook(map[string]any{"name": "recover", "url": rcv.URL, "events": []string{"task.executed"}})
		start := time.Now().UTC().Add(-time.Hour)
		failed := s.seedFailed(id, start, 3, webhook.DeliveryFailed)
		now := time.Now().UTC()
		for _, tc := range []struct {
			name  string
			hook  string
			body  any
			code  int
			field string
		}{
			{"since after until", id, map[string]any{"since": now.Add(-time.Minute).Format(time.RFC3339), "until": now.Add(-time.Hour).Format(time.RFC3339)}, 400, "since"},
			{"malformed since", id, map[string]any{"since": "yesterday"}, 400, "since"},
			{"malformed until", id, map[string]any{"since": start.Format(time.RFC3339), "until": "2026-13-01T00:00:00Z"}, 400, "until"},
			{"since not a string", id, map[string]any{"since": 12}, 400, "since"},
			{"until in the future", id, map[string]any{"since": start.Format(time.RFC3339), "until": now.Add(time.Hour).Format(time.RFC3339)}, 400, "until"},
			{"status other than failed", id, map[string]any{"since": start.Format(time.RFC3339), "status": "succeeded"}, 400, "status"},
			{"unknown member", id, map[string]any{"since": start.Format(time.RFC3339), "limit": 5}, 400, "limit"},
			{"no since", id, map[string]any{}, 400, "since"},
			{"unknown webhook", webhook.NewID(webhook.WebhookIDPrefix), map[string]any{"since": start.Format(time.RFC3339)}, 404, ""},
		} {
			code, out := s.do("POST", "/webhooks/"+tc.hook+"/recover", tc.body)
			assert.Equal(t, tc.code, code, "%s: %v", tc.name, out)
			if tc.field != "" {
				errObj, _ := out["error"].(map[string]any)
				assert.Equal(t, tc.field, errObj["field"], "%s: %v", tc.name, out)
			}
		}
		code, _ := s.do("GET", "/webhooks/"+id+"/recoveries/"+webhook.NewID(webhook.RecoveryIDPrefix), nil)
		assert.Equal(t, http.StatusNotFound, code)
		assert.Zero(t, s.queueDepth(s.urls.DeliveryQueue), "no recovery message sent")
		for _, did := range failed {
			d, err := s.store.GetDelivery(context.Background(), id, did)
			require.NoError(t, err)
			assert.Equal(t, webhook.DeliveryFailed, d.Status, "still failed")
		}
		assert.Empty(t, rcv.got())
	})
}
