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

func TestIDBound(t *testing.T) {
	at := time.Date(2026, 2, 13, 12, 0, 0, 0, time.UTC)
	b := idBound(at)
	assert.Equal(t, "dlv_019c56df4a00", b)
	for _, tc := range []struct {
		created time.Time
		below   bool
	}{
		{at.Add(-time.Millisecond), true},
		{at.Add(-24 * time.Hour), true},
		{at, false}, // exactly retention old: kept
		{at.Add(time.Millisecond), false},
		{at.Add(24 * time.Hour), false},
	} {
		id := webhook.DeliveryIDFor("evt_x", "wh_x", tc.created)
		assert.Equal(t, tc.below, id < b, "%s created %s", id, tc.created)
	}
}

// The sweep's query takes the times it is given, not the store's clock: the
// records here are dated a year ahead of the real clock, so every expires_at
// is in the real future, out of reach of an emulator's TTL reaper, while the
// query, asked about that future, finds them expired.
func TestExpiredDeliveryKeys(t *testing.T) {
	const day = 24 * time.Hour
	future := recent.AddDate(1, 0, 0).Truncate(time.Second)
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		clock := future
		s = New(client, s.Tables(), WithRetentionDays(1), WithClock(func() time.Time { return clock }))
		wh, other := webhook.NewID(webhook.WebhookIDPrefix), webhook.NewID(webhook.WebhookIDPrefix)
		save := func(webhookID string, eventTime, created time.Time) *webhook.Delivery {
			clock = created
			d := newDelivery(webhookID, eventTime)
			d.CreatedAt = created
			d.Attempts, d.Status = []webhook.Attempt{attempt(1, 200, created)}, webhook.DeliverySucceeded
			require.NoError(t, s.SaveAttempt(ctx, d))
			return d
		}
		old1 := save(wh, future.Add(-5*day), future.Add(-5*day))       // expired 4 days before future
		old2 := save(wh, future.Add(-4*day), future.Add(-4*day))       // 3 days before
		save(wh, future.Add(-30*day), future.Add(-12*time.Hour))       // an old event triggered late: not expired
		save(wh, future.Add(-12*time.Hour), future.Add(-12*time.Hour)) // created after the bound: not read
		save(other, future.Add(-5*day), future.Add(-5*day))            // another webhook's

		keys := func(t *testing.T, after string, expiredBefore time.Time) []string {
			t.Helper()
			page, next, err := s.ExpiredDeliveryKeys(ctx, wh, after, future.Add(-day), expiredBefore)
			require.NoError(t, err)
			assert.Empty(t, next, "one page holds them all")
			var ids []string
			for _, k := range page {
				assert.Equal(t, wh, k.WebhookID)
				ids = append(ids, k.ID)
			}
			return ids
		}
		assert.Equal(t, []string{old1.ID, old2.ID}, keys(t, "", future), "in id order")
		assert.Equal(t, []string{old2.ID}, keys(t, old1.ID, future), "after a delivery id")
		assert.Equal(t, []string{old1.ID}, keys(t, "", future.Add(-3*day)), "expired before, not at, the second")
		assert.Empty(t, keys(t, "", future.Add(-4*day)))
	})
}

func TestDeleteDeliveries(t *testing.T) {
	future := recent.AddDate(1, 0, 0) // expires_at in the real future: see TestExpiredDeliveryKeys
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		rc, rec := recordingClient(client)
		s = New(rc, s.Tables(), WithClock(func() time.Time { return future }))
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		var ds []*webhook.Delivery
		for i := range 3 {
			d := newDelivery(wh, future.Add(time.Duration(i)*time.Second))
			d.Attempts, d.Status = []webhook.Attempt{attempt(1, 200, d.CreatedAt)}, webhook.DeliverySucceeded
			require.NoError(t, s.SaveAttempt(ctx, d))
			ds = append(ds, d)
		}

		rec.reset()
		gone := DeliveryKey{WebhookID: wh, ID: webhook.DeliveryIDFor("evt_gone", wh, future)}
		deleted, calls, err := s.DeleteDeliveries(ctx, []DeliveryKey{{wh, ds[0].ID}, {wh, ds[2].ID}, gone}, BatchRetry{Max: 2})
		require.NoError(t, err)
		assert.Equal(t, 3, deleted, "a key that is already gone counts as deleted")
		assert.Equal(t, 1, calls)
		assert.Equal(t, []string{"BatchWriteItem"}, rec.operations())
		for i, d := range ds {
			_, err := s.GetDelivery(ctx, wh, d.ID)
			if i == 1 {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err), d.ID)
			}
		}

		rec.reset()
		deleted, calls, err = s.DeleteDeliveries(ctx, nil, BatchRetry{})
		assert.NoError(t, err)
		assert.Zero(t, deleted+calls)
		many := make([]DeliveryKey, MaxBatchDelete+1)
		for i := range many {
			many[i] = DeliveryKey{wh, ds[1].ID}
		}
		_, calls, err = s.DeleteDeliveries(ctx, many, BatchRetry{})
		assert.ErrorContains(t, err, "store: delete deliveries: 26 keys, at most 25")
		assert.Zero(t, calls)
		assert.Empty(t, rec.operations(), "nothing sent")
		_, err = s.GetDelivery(ctx, wh, ds[1].ID)
		assert.NoError(t, err)
	})
}

// The cursor is one item with a fixed key, read with GetItem and written
// with UpdateItem only: the cleanup function's IAM policy allows no more.
func TestCleanupCursor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		ctx := context.Background()
		rc, rec := recordingClient(client)
		s = New(rc, s.Tables())
		at := recent.Truncate(time.Second)

		after, err := s.CleanupCursor(ctx)
		require.NoError(t, err)
		assert.Equal(t, "", after, "no cursor: from the first webhook")

		wh := webhook.NewID(webhook.WebhookIDPrefix)
		require.NoError(t, s.SetCleanupCursor(ctx, wh, at))
		after, err = s.CleanupCursor(ctx)
		require.NoError(t, err)
		assert.Equal(t, wh, after)
		assert.Equal(t, []string{"GetItem", "UpdateItem", "GetItem"}, rec.operations())

		var raw map[string]any
		require.NoError(t, s.deliveries.Get(AttrWebhookID, CleanupCursorKey).Range(AttrID, "EQ", "cursor").
			Consistent(true).One(ctx, &raw))
		assert.Equal(t, map[string]any{AttrWebhookID: CleanupCursorKey, AttrID: "cursor", "after": wh,
			"updated_at": at.Format(time.RFC3339Nano)}, raw, "no expires_at: TTL keeps it")
		assert.False(t, webhook.ValidID(webhook.WebhookIDPrefix, CleanupCursorKey), "no webhook's partition")

		require.NoError(t, s.SetCleanupCursor(ctx, "", at))
		after, err = s.CleanupCursor(ctx)
		require.NoError(t, err)
		assert.Equal(t, "", after, "cleared")

		assert.ErrorContains(t, s.SetCleanupCursor(ctx, "junk", at), `cleanup cursor "junk" is not a webhook id`)
		require.NoError(t, s.deliveries.Put(map[string]any{AttrWebhookID: CleanupCursorKey, AttrID: "cursor", "after": "junk"}).Run(ctx))
		_, err = s.CleanupCursor(ctx)
		assert.ErrorContains(t, err, `has after "junk", not a webhook id: fix or delete it`)
	})
}
