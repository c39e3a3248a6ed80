package store

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Past its retention a delivery is gone for readers at once, whether or not
// TTL has deleted it: Get, List (and its pages) and SaveAttempt agree, to
// the second.
func TestRetentionIsExactAtReadTime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		base := recent.Truncate(time.Second)
		clock := base
		s = New(client, s.Tables(), WithRetentionDays(7), WithClock(func() time.Time { return clock }))
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		var ds []*webhook.Delivery // oldest first, a minute apart
		for i := range 5 {
			d := newDelivery(wh, base.Add(time.Duration(i)*time.Minute))
			d.Attempts, d.Status = []webhook.Attempt{attempt(1, 200, d.CreatedAt)}, webhook.DeliverySucceeded
			require.NoError(t, s.SaveAttempt(ctx, d))
			ds = append(ds, d)
		}
		list := func(limit int) []string {
			var got []string
			f := webhook.DeliveryFilter{Limit: limit}
			for {
				page, err := s.ListDeliveries(ctx, wh, f)
				require.NoError(t, err)
				for _, d := range page.Items {
					got = append(got, d.ID)
				}
				if page.NextCursor == "" {
					return got
				}
				f.Cursor = page.NextCursor
			}
		}
		retention := 7 * 24 * time.Hour

		// The last second of the oldest delivery's retention: all shown.
		clock = ds[0].CreatedAt.Add(retention).Add(999 * time.Millisecond)
		assert.Len(t, list(0), 5)
		_, err := s.GetDelivery(ctx, wh, ds[0].ID)
		assert.NoError(t, err)

		// The next second the oldest is gone; two minutes on, three.
		clock = ds[0].CreatedAt.Add(retention).Add(time.Second)
		_, err = s.GetDelivery(ctx, wh, ds[0].ID)
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))
		assert.Equal(t, []string{ds[4].ID, ds[3].ID, ds[2].ID, ds[1].ID}, list(0))
		clock = clock.Add(2 * time.Minute)
		assert.Equal(t, []string{ds[4].ID, ds[3].ID}, list(0))
		assert.Equal(t, []string{ds[4].ID, ds[3].ID}, list(1), "paged one by one")
		page, err := s.ListDeliveries(ctx, wh, webhook.DeliveryFilter{Status: webhook.DeliverySucceeded})
		require.NoError(t, err)
		assert.Len(t, page.Items, 2, "with a status filter too")
		for _, d := range ds[:3] {
			_, err = s.GetDelivery(ctx, wh, d.ID)
			assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), d.ID)
		}

		// A page cursor issued before its items expired ends the listing.
		clock = ds[2].CreatedAt
		page, err = s.ListDeliveries(ctx, wh, webhook.DeliveryFilter{Limit: 2})
		require.NoError(t, err)
		require.NotEmpty(t, page.NextCursor)
		clock = ds[4].CreatedAt.Add(retention).Add(time.Hour)
		page, err = s.ListDeliveries(ctx, wh, webhook.DeliveryFilter{Limit: 2, Cursor: page.NextCursor})
		require.NoError(t, err)
		assert.Empty(t, page.Items)
		assert.Empty(t, page.NextCursor)

		// An attempt on an expired delivery is refused, and writes nothing.
		clock = ds[1].CreatedAt.Add(retention).Add(time.Second)
		d := ds[1]
		d.Attempts = append(d.Attempts, attempt(2, 200, clock))
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(s.SaveAttempt(ctx, d)))
		clock = base
		got, err := s.GetDelivery(ctx, wh, d.ID)
		require.NoError(t, err)
		assert.Len(t, got.Attempts, 1)
	})
}

// Retention runs from the trigger: a delivery of an event whose time (and
// so whose id) is older than the retention is kept, shown and writable for
// the retention after it was triggered.
func TestRetentionOfOldEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		clock := recent
		s = New(client, s.Tables(), WithRetentionDays(7), WithClock(func() time.Time { return clock }))
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		d := newDelivery(wh, recent.AddDate(-1, 0, 0)) // the event's time
		d.CreatedAt = recent                           // its trigger
		d.Attempts, d.Status = []webhook.Attempt{attempt(1, 500, recent)}, webhook.DeliveryRetrying
		require.NoError(t, s.SaveAttempt(ctx, d))

		clock = recent.Add(6 * 24 * time.Hour)
		_, err := s.GetDelivery(ctx, wh, d.ID)
		require.NoError(t, err)
		page, err := s.ListDeliveries(ctx, wh, webhook.DeliveryFilter{})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		d.Attempts = append(d.Attempts, attempt(2, 200, clock))
		d.Status = webhook.DeliverySucceeded
		require.NoError(t, s.SaveAttempt(ctx, d))

		clock = recent.Add(7*24*time.Hour + 2*time.Second) // past the second expires_at names
		_, err = s.GetDelivery(ctx, wh, d.ID)
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))
		page, err = s.ListDeliveries(ctx, wh, webhook.DeliveryFilter{})
		require.NoError(t, err)
		assert.Empty(t, page.Items)
	})
}

// A record whose stored expires_at is past (written under a shorter
// retention) is not shown either, though its id is within the retention now.
func TestRetentionHonoursStoredExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		clock := recent
		short := New(client, s.Tables(), WithRetentionDays(1), WithClock(func() time.Time { return clock }))
		long := New(client, s.Tables(), WithRetentionDays(30), WithClock(func() time.Time { return clock }))
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		d := newDelivery(wh, recent)
		d.Attempts, d.Status = []webhook.Attempt{attempt(1, 200, recent)}, webhook.DeliverySucceeded
		require.NoError(t, short.SaveAttempt(ctx, d))

		clock = recent.Add(2 * 24 * time.Hour)
		_, err := long.GetDelivery(ctx, wh, d.ID)
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))
		page, err := long.ListDeliveries(ctx, wh, webhook.DeliveryFilter{})
		require.NoError(t, err)
		assert.Empty(t, page.Items)
	})
}

func TestWebhookIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		var want []string
		for range 5 {
			w := newWebhook("agent.started")
			require.NoError(t, s.CreateWebhook(ctx, w))
			want = append(want, w.ID)
		}
		var got []string
		after, calls := "", 0
		for {
			ids, more, err := s.WebhookIDs(ctx, after, 2)
			require.NoError(t, err)
			calls++
			assert.LessOrEqual(t, len(ids), 2)
			got = append(got, ids...)
			if !more || len(ids) == 0 {
				break
			}
			after = ids[len(ids)-1]
		}
		assert.Equal(t, sorted(want), got)
		assert.LessOrEqual(t, calls, 4)
		_, _, err := s.WebhookIDs(ctx, "", 0)
		assert.Error(t, err)
	})
}
