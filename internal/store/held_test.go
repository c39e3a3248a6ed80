package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// heldDelivery parks a new delivery of wh at at as held.
func heldDelivery(t *testing.T, s *Store, wh string, at time.Time) *webhook.Delivery {
	t.Helper()
	d := newDelivery(wh, at)
	d.EventTime, d.Data, d.Metadata = at, json.RawMessage(`{"a":1}`), json.RawMessage(`{"m":true}`)
	require.NoError(t, s.HoldDelivery(context.Background(), d))
	return d
}

func TestHeldDeliveryLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		held := func() int64 {
			st, err := s.GetStats(ctx, wh)
			require.NoError(t, err)
			return st.Held
		}
		d := heldDelivery(t, s, wh, recent)
		assert.Equal(t, int64(1), held(), "counted as held")
		got, err := s.GetDelivery(ctx, wh, d.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.DeliveryHeld, got.Status)
		assert.Empty(t, got.Attempts)
		assert.JSONEq(t, `{"a":1}`, string(got.Data), "the event is kept")
		assert.JSONEq(t, `{"m":true}`, string(got.Metadata))
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.HoldDelivery(ctx, newDeliveryWithID(d))), "held once")

		page, err := s.ListDeliveries(ctx, wh, webhook.DeliveryFilter{Status: webhook.DeliveryHeld, Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Items, 1, "listed by status held")

		// Released once: pending, its first attempt saved on the record.
		require.NoError(t, s.ReleaseHeld(ctx, got, recent))
		assert.Equal(t, webhook.DeliveryPending, got.Status)
		again, _ := s.GetDelivery(ctx, wh, d.ID)
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.ReleaseHeld(ctx, again, recent)), "released once")
		assert.Zero(t, held(), "counted down once")
		first := *again
		done := recent.Add(time.Second)
		first.Attempts = []webhook.Attempt{attempt(1, 200, recent)}
		first.Status, first.CompletedAt, first.Data, first.Metadata = webhook.DeliverySucceeded, &done, nil, nil
		require.NoError(t, s.SaveAttempt(ctx, &first), "a released record takes its first attempt")
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.SaveAttempt(ctx, &first)), "once")

		// A retrying delivery is held with its attempts, released to a new
		// series, and held again when its job could not be sent.
		r := newDelivery(wh, recent.Add(time.Millisecond))
		next := recent.Add(time.Minute)
		r.Attempts, r.Status, r.NextAttemptAt = []webhook.Attempt{attempt(1, 500, recent)}, webhook.DeliveryRetrying, &next
		require.NoError(t, s.SaveAttempt(ctx, r))
		r.EventTime, r.Data = recent, json.RawMessage(`{"b":2}`)
		require.NoError(t, s.HoldDelivery(ctx, r))
		cur, _ := s.GetDelivery(ctx, wh, r.ID)
		assert.Equal(t, webhook.DeliveryHeld, cur.Status)
		assert.Len(t, cur.Attempts, 1)
		assert.Nil(t, cur.NextAttemptAt)
		assert.True(t, cur.Uncounted, "its first series never ended: its end counts as a first one")
		require.NoError(t, s.ReleaseHeld(ctx, cur, recent))
		assert.Equal(t, 2, cur.SeriesStart)
		assert.Zero(t, held())
		require.NoError(t, s.RestoreHeld(ctx, cur))
		require.NoError(t, s.RestoreHeld(ctx, cur), "restored once")
		assert.Equal(t, int64(1), held(), "held again, counted once")
		cur, _ = s.GetDelivery(ctx, wh, r.ID)
		assert.Equal(t, webhook.DeliveryHeld, cur.Status)
		assert.JSONEq(t, `{"b":2}`, string(cur.Data))
	})
}

// newDeliveryWithID is a fresh copy of d's identity, no attempts.
func newDeliveryWithID(d *webhook.Delivery) *webhook.Delivery {
	return &webhook.Delivery{ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, Event: d.Event, CreatedAt: d.CreatedAt, SeriesStart: 1}
}

func TestHeldDeliveriesPageInIDOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		var ids []string
		for i := range 7 {
			at := recent.Add(time.Duration(i) * time.Millisecond)
			if i%2 == 1 {
				failedDelivery(t, s, wh, at) // not held: skipped
				continue
			}
			ids = append(ids, heldDelivery(t, s, wh, at).ID)
		}
		heldDelivery(t, s, webhook.NewID(webhook.WebhookIDPrefix), recent) // another webhook's

		page, last, err := s.HeldDeliveries(ctx, wh, "", 3)
		require.NoError(t, err)
		assert.False(t, last)
		require.Len(t, page, 3)
		assert.Equal(t, ids[:3], []string{page[0].ID, page[1].ID, page[2].ID})
		rest, last, err := s.HeldDeliveries(ctx, wh, page[2].ID+"!", 3)
		require.NoError(t, err)
		assert.True(t, last)
		require.Len(t, rest, 1)
		assert.Equal(t, ids[3], rest[0].ID)
		from, _, err := s.HeldDeliveries(ctx, wh, ids[1], 10)
		require.NoError(t, err)
		assert.Len(t, from, 3, "from is included")
	})
}

func TestDrainItem(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		now := recent
		dr, err := s.GetDrain(ctx, wh)
		require.NoError(t, err)
		assert.Equal(t, webhook.Drain{}, dr)

		ok, err := s.ClaimDrain(ctx, wh, "a", now, now.Add(time.Minute), false)
		require.NoError(t, err)
		assert.True(t, ok)
		ok, _ = s.ClaimDrain(ctx, wh, "b", now, now.Add(time.Minute), false)
		assert.False(t, ok, "held by a")
		ok, _ = s.ClaimDrain(ctx, wh, "a", now, now.Add(2*time.Minute), false)
		assert.True(t, ok, "a renews its own")
		ok, _ = s.ClaimDrain(ctx, wh, "b", now.Add(3*time.Minute), now.Add(4*time.Minute), false)
		assert.True(t, ok, "a's lease lapsed")
		ok, _ = s.ClaimDrain(ctx, wh, "c", now, now.Add(time.Minute), true)
		assert.True(t, ok, "taken over")

		// from only goes down.
		require.NoError(t, s.LowerDrainFrom(ctx, wh, "dlv_5"))
		require.NoError(t, s.LowerDrainFrom(ctx, wh, "dlv_7"))
		dr, _ = s.GetDrain(ctx, wh)
		assert.Equal(t, "dlv_5", dr.From)
		assert.Equal(t, "c", dr.Token)
		assert.Equal(t, now.Add(time.Minute).UnixMilli(), dr.Lease.UnixMilli())

		ok, _ = s.AdvanceDrain(ctx, wh, "b", "dlv_5", "dlv_6")
		assert.False(t, ok, "not b's")
		ok, _ = s.AdvanceDrain(ctx, wh, "c", "dlv_4", "dlv_6")
		assert.False(t, ok, "from moved")
		ok, _ = s.AdvanceDrain(ctx, wh, "c", "dlv_5", "dlv_6")
		assert.True(t, ok)
		ok, _ = s.EndDrain(ctx, wh, "c")
		assert.False(t, ok, "held records may remain")
		ok, _ = s.AdvanceDrain(ctx, wh, "c", "dlv_6", "")
		assert.True(t, ok)
		dr, _ = s.GetDrain(ctx, wh)
		assert.Equal(t, "", dr.From)
		assert.Equal(t, "dlv_5", dr.Pass, "where the pass began")
		ok, _ = s.EndDrain(ctx, wh, "b")
		assert.False(t, ok, "not b's")
		ok, err = s.EndDrain(ctx, wh, "c")
		require.NoError(t, err)
		assert.True(t, ok)
		dr, _ = s.GetDrain(ctx, wh)
		assert.Equal(t, webhook.Drain{}, dr)
	})
}

func TestHeldPauseKeepsTheSubscription(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		w := newWebhook("agent.started")
		w.Filter = nil
		require.NoError(t, s.CreateWebhook(ctx, w))
		w.Status, w.StatusReason, w.Hold = webhook.StatusInactive, webhook.ReasonPaused, true
		require.NoError(t, s.UpdateWebhook(ctx, w))
		got, err := s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.True(t, got.Hold)
		ids, err := s.ActiveSubscribers(ctx, "agent.started")
		require.NoError(t, err)
		assert.Contains(t, ids, w.ID, "a held pause still makes deliveries")

		got.Hold = false
		require.NoError(t, s.UpdateWebhook(ctx, got))
		ids, err = s.ActiveSubscribers(ctx, "agent.started")
		require.NoError(t, err)
		assert.NotContains(t, ids, w.ID, "a plain pause makes none")
	})
}
