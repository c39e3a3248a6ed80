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

// failedDelivery saves a delivery of wh at at that failed after one attempt,
// keeping its event.
func failedDelivery(t *testing.T, s *Store, wh string, at time.Time) *webhook.Delivery {
	t.Helper()
	d := newDelivery(wh, at)
	done := at.Add(time.Second)
	d.Attempts = []webhook.Attempt{attempt(1, 500, at)}
	d.Status, d.CompletedAt = webhook.DeliveryFailed, &done
	d.EventTime, d.Data = at, json.RawMessage(`{"a":1}`)
	require.NoError(t, s.SaveAttempt(context.Background(), d))
	return d
}

func TestRecoveryItemLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		r := &webhook.Recovery{
			ID: webhook.NewID(webhook.RecoveryIDPrefix), WebhookID: wh, Status: webhook.RecoveryRunning,
			Since: recent.Add(-time.Hour), RequestedSince: recent.Add(-time.Hour), Until: recent,
			CreatedAt: recent, UpdatedAt: recent,
		}
		require.NoError(t, s.CreateRecovery(ctx, r))
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.CreateRecovery(ctx, r)))
		got, err := s.GetRecovery(ctx, wh, r.ID)
		require.NoError(t, err)
		assert.Equal(t, r, got)
		_, err = s.GetRecovery(ctx, wh, webhook.NewID(webhook.RecoveryIDPrefix))
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))
		_, err = s.GetRecovery(ctx, "garbage", r.ID)
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))

		// A page from the stored cursor advances it; a second processing of
		// the same page (from the old cursor) is a conflict, counted once.
		stale := *got
		p := webhook.RecoveryPage{Cursor: "dlv_0001", Scanned: 10, Queued: 7, Skipped: 1}
		require.NoError(t, s.AdvanceRecovery(ctx, got, p, recent.Add(time.Second)))
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.AdvanceRecovery(ctx, &stale, p, recent.Add(time.Second))))
		next := *got
		require.NoError(t, s.AdvanceRecovery(ctx, got, webhook.RecoveryPage{Cursor: "dlv_0002", Scanned: 3, Queued: 3, Last: true}, recent.Add(2*time.Second)))
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.AdvanceRecovery(ctx, &next, webhook.RecoveryPage{Cursor: "dlv_0002"}, recent)))

		stored, err := s.GetRecovery(ctx, wh, r.ID)
		require.NoError(t, err)
		assert.Equal(t, got, stored)
		assert.Equal(t, webhook.RecoveryDone, stored.Status)
		assert.EqualValues(t, 13, stored.Scanned)
		assert.EqualValues(t, 10, stored.Queued)
		assert.EqualValues(t, 1, stored.Skipped)
		assert.Equal(t, "dlv_0002", stored.Cursor)
		require.NotNil(t, stored.CompletedAt)

		// Not a webhook: no listing shows it.
		page, err := s.ListWebhooks(ctx, webhook.ListFilter{})
		require.NoError(t, err)
		assert.Empty(t, page.Items)

		require.NoError(t, s.DeleteRecovery(ctx, wh, r.ID))
		_, err = s.GetRecovery(ctx, wh, r.ID)
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))
	})
}

func TestRecoveryDeliveriesWindowAndCursor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		other := webhook.NewID(webhook.WebhookIDPrefix)
		since := recent.Add(-time.Hour)
		until := since.Add(30 * time.Minute)
		failedDelivery(t, s, wh, since.Add(-time.Millisecond)) // just before
		failedDelivery(t, s, wh, until.Add(time.Millisecond))  // just after
		failedDelivery(t, s, other, since.Add(time.Minute))    // another webhook
		var want []string
		for i := range 7 {
			want = append(want, failedDelivery(t, s, wh, since.Add(time.Duration(i)*5*time.Minute)).ID) // since and until included
		}
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			ds, last, err := s.RecoveryDeliveries(ctx, wh, since, until, after, 3)
			require.NoError(t, err)
			for _, d := range ds {
				got = append(got, d.ID)
				assert.Equal(t, json.RawMessage(`{"a":1}`), d.Data, "with the kept event")
				after = d.ID
			}
			if last {
				break
			}
			assert.Len(t, ds, 3, "a page that is not the last is full")
		}
		assert.Equal(t, want, got)
	})
}

func TestRequeueForRecoveryOncePerRecovery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		wh := webhook.NewID(webhook.WebhookIDPrefix)
		rid := webhook.NewID(webhook.RecoveryIDPrefix)
		d := failedDelivery(t, s, wh, recent)

		first := *d
		require.NoError(t, s.RequeueForRecovery(ctx, &first, rid, recent.Add(time.Second)))
		assert.Equal(t, webhook.DeliveryPending, first.Status)
		assert.Equal(t, 2, first.SeriesStart)
		again := *d
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.RequeueForRecovery(ctx, &again, rid, recent)), "twice by one recovery")

		got, err := s.GetDelivery(ctx, wh, d.ID)
		require.NoError(t, err)
		assert.Equal(t, rid, got.RecoveredBy)
		assert.Equal(t, webhook.DeliveryPending, got.Status)
		assert.Nil(t, got.CompletedAt)

		// The new series fails again: the attempt's write keeps the marker,
		// so the same recovery still does not take it twice, another does.
		done := recent.Add(3 * time.Second)
		got.Attempts = append(got.Attempts, attempt(2, 500, recent.Add(2*time.Second)))
		got.Status, got.CompletedAt, got.NextAttemptAt = webhook.DeliveryFailed, &done, nil
		require.NoError(t, s.SaveAttempt(ctx, got))
		failedAgain, err := s.GetDelivery(ctx, wh, d.ID)
		require.NoError(t, err)
		assert.Equal(t, rid, failedAgain.RecoveredBy)
		same := *failedAgain
		assert.Equal(t, webhook.EConflict, webhook.ErrorCode(s.RequeueForRecovery(ctx, &same, rid, recent)))
		other := *failedAgain
		require.NoError(t, s.RequeueForRecovery(ctx, &other, webhook.NewID(webhook.RecoveryIDPrefix), recent))
		assert.Equal(t, 3, other.SeriesStart)

		// A manual retry keeps working beside it.
		d2 := failedDelivery(t, s, wh, recent.Add(time.Minute))
		_, err = s.RequeueDelivery(ctx, wh, d2.ID, recent)
		require.NoError(t, err)
	})
}
