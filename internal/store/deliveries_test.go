package store

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// recent is the time delivery tests use: deliveries expire (TTL) a retention
// period after creation, and stand-ins may delete expired items at once.
var recent = time.Now().UTC().Truncate(time.Millisecond)

func newDelivery(webhookID string, at time.Time) *webhook.Delivery {
	eventID := webhook.NewID(webhook.EventIDPrefix)
	return &webhook.Delivery{
		ID: webhook.DeliveryIDFor(eventID, webhookID, at), WebhookID: webhookID, EventID: eventID,
		Event: "agent.started", CreatedAt: at, SeriesStart: 1,
	}
}

func attempt(n int, code int, at time.Time) webhook.Attempt {
	return webhook.Attempt{Attempt: n, StartedAt: at, StatusCode: code, DurationMS: int64(10 * n), ResponseBody: "ok"}
}

func TestSaveAttemptLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		d := newDelivery(wh, recent)

		// Attempt 1 fails and is retried.
		next := recent.Add(time.Second)
		d.Attempts = []webhook.Attempt{attempt(1, 500, recent)}
		d.Attempts[0].Error = "endpoint answered 500"
		d.Status, d.NextAttemptAt = webhook.DeliveryRetrying, &next
		require.NoError(t, s.SaveAttempt(ctx, d))
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.SaveAttempt(ctx, d)), "a duplicate first attempt")

		// Attempt 2 fails for good: the event is kept for a manual retry.
		done := recent.Add(2 * time.Second)
		d.Attempts = append(d.Attempts, attempt(2, 500, next))
		d.Status, d.NextAttemptAt, d.CompletedAt = webhook.DeliveryFailed, nil, &done
		d.EventTime, d.Data, d.Metadata = recent, json.RawMessage(`{"a":1}`), json.RawMessage(`{"m":2}`)
		require.NoError(t, s.SaveAttempt(ctx, d))
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.SaveAttempt(ctx, d)), "a duplicate later attempt")

		got, err := s.GetDelivery(ctx, wh, d.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.DeliveryFailed, got.Status)
		require.Len(t, got.Attempts, 2)
		assert.Equal(t, d.Attempts[0].StartedAt, got.Attempts[0].StartedAt)
		assert.Equal(t, "endpoint answered 500", got.Attempts[0].Error)
		assert.Equal(t, 500, got.Attempts[1].StatusCode)
		assert.Nil(t, got.NextAttemptAt)
		require.NotNil(t, got.CompletedAt)
		assert.Equal(t, done, *got.CompletedAt)
		assert.JSONEq(t, `{"a":1}`, string(got.Data))
		assert.Equal(t, recent, got.EventTime)

		// A manual retry starts a new series; the next attempt succeeds and
		// the kept event is dropped.
		re, err := s.RequeueDelivery(ctx, wh, d.ID, done)
		require.NoError(t, err)
		assert.Equal(t, 3, re.SeriesStart)
		assert.JSONEq(t, `{"m":2}`, string(re.Metadata))
		_, err = s.RequeueDelivery(ctx, wh, d.ID, done)
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(err), "only a failed delivery can be retried")

		re.Attempts = append(re.Attempts, attempt(3, 200, done))
		re.Status, re.NextAttemptAt, re.CompletedAt = webhook.DeliverySucceeded, nil, &done
		re.EventTime, re.Data, re.Metadata = time.Time{}, nil, nil
		require.NoError(t, s.SaveAttempt(ctx, re))
		got, err = s.GetDelivery(ctx, wh, d.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.DeliverySucceeded, got.Status)
		assert.Len(t, got.Attempts, 3)
		assert.Equal(t, 3, got.SeriesStart)
		assert.Nil(t, got.Data)
		assert.True(t, got.EventTime.IsZero())
	})
}

func TestSaveAttemptConcurrentDuplicates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		d := newDelivery(webhook.NewID(webhook.WebhookIDPrefix), recent)
		d.Attempts, d.Status = []webhook.Attempt{attempt(1, 200, recent)}, webhook.DeliverySucceeded
		var wg sync.WaitGroup
		errs := make([]error, 5)
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.SaveAttempt(context.Background(), d) }()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				assert.Equal(t, webhook.EConflict, webhook.ErrorCode(err))
			}
		}
		assert.Equal(t, 1, wins, "exactly one copy records the attempt")
	})
}

func TestDeliveryItemShape(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		s = New(client, s.Tables(), WithRetentionDays(7))
		at := recent.Truncate(24 * time.Hour).Add(-time.Second) // 23:59:59 yesterday
		d := newDelivery(webhook.NewID(webhook.WebhookIDPrefix), at)
		d.CreatedAt = at.Add(2 * time.Second) // triggered after the event's time: retention runs from here
		d.Attempts, d.Status = []webhook.Attempt{attempt(1, 200, at)}, webhook.DeliverySucceeded
		require.NoError(t, s.SaveAttempt(context.Background(), d))

		var raw map[string]any
		require.NoError(t, s.deliveries.Get(AttrWebhookID, d.WebhookID).Range(AttrID, "EQ", d.ID).One(context.Background(), &raw))
		assert.NotContains(t, raw, "created_day", "no index key: the table has no index")
		assert.EqualValues(t, d.CreatedAt.Add(7*24*time.Hour).Unix(), raw[TTLAttribute], "expires_at is unix seconds")
		assert.NotContains(t, raw, "data", "a succeeded delivery keeps no payload")
	})
}

func TestListDeliveries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		other := webhook.NewID(webhook.WebhookIDPrefix)
		var want []string // newest first
		for i := range 12 {
			d := newDelivery(wh, recent.Add(time.Duration(i)*time.Minute))
			d.Attempts = []webhook.Attempt{attempt(1, 200, d.CreatedAt)}
			d.Status = webhook.DeliverySucceeded
			if i%3 == 0 {
				d.Status = webhook.DeliveryFailed
			}
			require.NoError(t, s.SaveAttempt(ctx, d))
			want = append([]string{d.ID}, want...)
		}
		o := newDelivery(other, recent)
		o.Attempts, o.Status = []webhook.Attempt{attempt(1, 200, recent)}, webhook.DeliverySucceeded
		require.NoError(t, s.SaveAttempt(ctx, o))

		var got []string
		f := webhook.DeliveryFilter{Limit: 5}
		for pages := 0; ; pages++ {
			require.Less(t, pages, 5)
			page, err := s.ListDeliveries(ctx, wh, f)
			require.NoError(t, err)
			for _, d := range page.Items {
				got = append(got, d.ID)
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		assert.Equal(t, want, got, "newest first, no gap, no duplicate, only this webhook's")

		page, err := s.ListDeliveries(ctx, wh, webhook.DeliveryFilter{Status: webhook.DeliveryFailed, Limit: 3})
		require.NoError(t, err)
		require.Len(t, page.Items, 3)
		for _, d := range page.Items {
			assert.Equal(t, webhook.DeliveryFailed, d.Status)
		}
		require.NotEmpty(t, page.NextCursor)
		rest, err := s.ListDeliveries(ctx, wh, webhook.DeliveryFilter{Status: webhook.DeliveryFailed, Limit: 3, Cursor: page.NextCursor})
		require.NoError(t, err)
		assert.Len(t, rest.Items, 1)
		assert.Empty(t, rest.NextCursor)

		for _, tc := range []struct {
			f     webhook.DeliveryFilter
			field string
		}{
			{webhook.DeliveryFilter{Limit: 101}, "limit"},
			{webhook.DeliveryFilter{Limit: -1}, "limit"},
			{webhook.DeliveryFilter{Status: "lost"}, "status"},
			{webhook.DeliveryFilter{Cursor: "%%%"}, "cursor"},
			{webhook.DeliveryFilter{Cursor: page.NextCursor}, "cursor"}, // issued for status=failed
		} {
			_, err := s.ListDeliveries(ctx, wh, tc.f)
			assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err), "%+v", tc.f)
			assert.Equal(t, tc.field, webhook.ErrorField(err), "%+v", tc.f)
		}
		_, err = s.GetDelivery(ctx, other, want[0])
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), "a delivery is found only under its webhook")
	})
}

func TestAddStats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		t1, t2 := recent, recent.Add(time.Hour)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, s.AddStats(ctx, wh, webhook.StatsDelta{Succeeded: 2, Attempts: 3, TotalResponseMS: 300, LastDeliveryAt: t1, LastSuccessAt: t1}))
			}()
		}
		wg.Wait()
		require.NoError(t, s.AddStats(ctx, wh, webhook.StatsDelta{Failed: 1, Attempts: 3, TotalResponseMS: 30, LastDeliveryAt: t2, LastFailureAt: t2}))

		st, err := s.GetStats(ctx, wh)
		require.NoError(t, err)
		assert.Equal(t, int64(9), st.TotalDeliveries)
		assert.Equal(t, int64(8), st.Successful)
		assert.Equal(t, int64(1), st.Failed)
		assert.Equal(t, int64(15), st.Attempts)
		assert.InDelta(t, 1230.0/15, st.AvgResponseMS(), 0.001)
		assert.InDelta(t, 8.0/9, st.SuccessRate(), 0.001)
		require.NotNil(t, st.LastSuccessAt)
		assert.Equal(t, t1, *st.LastSuccessAt)
		assert.Equal(t, t2, *st.LastDeliveryAt)
		assert.Equal(t, t2, *st.LastFailureAt)
	})
}

func TestDeactivateWebhook(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		w := newWebhook("agent.started")
		require.NoError(t, s.CreateWebhook(ctx, w))
		changed, err := s.DeactivateWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.True(t, changed, "this call made it inactive")
		changed, err = s.DeactivateWebhook(ctx, w.ID)
		require.NoError(t, err, "already inactive is fine")
		assert.False(t, changed, "already inactive: no transition")
		got, err := s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.StatusInactive, got.Status)
		assert.Equal(t, int64(2), got.Version, "one change")
		subs, err := s.ActiveSubscribers(ctx, "agent.started")
		require.NoError(t, err)
		assert.NotContains(t, subs, w.ID)
		_, err = s.DeactivateWebhook(ctx, webhook.NewID(webhook.WebhookIDPrefix))
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))
	})
}

func TestIdempotencyKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		// Dated from the real clock: an expires_at in the real past would be
		// deleted by kumo's TTL reaper whenever it runs (every 30 s).
		at := recent.Truncate(time.Second)
		rec := webhook.IdempotencyRecord{Key: "order-42/α", Fingerprint: "f1", EventID: webhook.NewID(webhook.EventIDPrefix),
			EventTime: at, CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
		got, claimed, err := s.ClaimIdempotencyKey(ctx, rec)
		require.NoError(t, err)
		assert.True(t, claimed)
		assert.Equal(t, rec, got)

		again := rec
		again.EventID, again.Fingerprint = webhook.NewID(webhook.EventIDPrefix), "f2"
		got, claimed, err = s.ClaimIdempotencyKey(ctx, again)
		require.NoError(t, err)
		assert.False(t, claimed)
		assert.Equal(t, rec.EventID, got.EventID, "the first claim stands")
		assert.Equal(t, "f1", got.Fingerprint)
		assert.False(t, got.Done)

		require.NoError(t, s.CompleteIdempotencyKey(ctx, rec.Key, 3))
		got, _, err = s.ClaimIdempotencyKey(ctx, again)
		require.NoError(t, err)
		assert.True(t, got.Done)
		assert.Equal(t, 3, got.Deliveries)

		// A record past its expiry (TTL not run yet) no longer holds the key.
		late := again
		late.CreatedAt = at.Add(25 * time.Hour)
		late.ExpiresAt = late.CreatedAt.Add(24 * time.Hour)
		got, claimed, err = s.ClaimIdempotencyKey(ctx, late)
		require.NoError(t, err)
		assert.True(t, claimed)
		assert.Equal(t, late.EventID, got.EventID)
	})
}

func TestAttemptTimingsRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		d := newDelivery(wh, recent)
		f := func(v float64) *float64 { return &v }
		full := webhook.Timings{DNSMS: f(1.2), ConnectMS: f(0.3), TLSMS: f(12.5), FirstByteMS: f(250.1)}
		reused := webhook.Timings{FirstByteMS: f(0.4)}
		d.Attempts = []webhook.Attempt{attempt(1, 500, recent), attempt(2, 500, recent), attempt(3, 0, recent)}
		d.Attempts[0].Timings, d.Attempts[1].Timings = full, reused // the third: no answer, nothing measured
		d.Status = webhook.DeliveryRetrying
		next := recent.Add(time.Second)
		d.NextAttemptAt = &next
		for n := 1; n <= 3; n++ {
			step := *d
			step.Attempts = d.Attempts[:n]
			require.NoError(t, s.SaveAttempt(ctx, &step))
		}
		got, err := s.GetDelivery(ctx, wh, d.ID)
		require.NoError(t, err)
		require.Len(t, got.Attempts, 3)
		assert.Equal(t, full, got.Attempts[0].Timings)
		assert.Equal(t, reused, got.Attempts[1].Timings)
		assert.Equal(t, webhook.Timings{}, got.Attempts[2].Timings)
	})
}
