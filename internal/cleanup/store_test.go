package cleanup

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// The fixtures are delivery records as the store writes and reads them, and
// have the TTL attribute docs/internals.md describes.
func TestFixturesAreStoreRecords(t *testing.T) {
	created := time.Date(2026, 2, 13, 23, 59, 59, 999e6, time.UTC)
	d := newDelivery(webhookIDs[0], created, 1, retention)
	item, err := dynamo.MarshalItem(d)
	require.NoError(t, err)
	assert.IsType(t, &types.AttributeValueMemberN{}, item[store.TTLAttribute], "TTL must be a number (unix seconds)")
	assert.Equal(t, created.AddDate(0, 0, retention).Unix()+1, d.ExpiresAt, "rounded up to the second")
	idTime, ok := webhook.IDTime(webhook.DeliveryIDPrefix, d.ID)
	require.True(t, ok)
	assert.Equal(t, created, idTime, "the id names the creation time the sweep selects by")

	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		putAll(ctx, t, e.db, e.deliveries, []deliveryItem{d})
		st := store.New(e.client, store.Tables{Webhooks: e.webhooks, Deliveries: e.deliveries},
			store.WithClock(func() time.Time { return created }))
		got, err := st.GetDelivery(ctx, d.WebhookID, d.ID)
		require.NoError(t, err)
		assert.Equal(t, d.EventID, got.EventID)
		assert.Equal(t, webhook.DeliverySucceeded, got.Status)
		assert.True(t, created.Equal(got.CreatedAt))
		require.Len(t, got.Attempts, 2)
		assert.Equal(t, 200, got.Attempts[1].StatusCode)
		assert.Equal(t, int64(80), got.Attempts[1].DurationMS)
	})
}

// Deliveries written by the store itself are swept by their age, and a late
// attempt of an expired delivery does not bring it back.
func TestSweepDeletesStoreWrittenDeliveries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		putWebhooks(t, e, webhookIDs[0])
		clock := cutoff // both deliveries are written while within retention
		st := store.New(e.client, store.Tables{Webhooks: e.webhooks, Deliveries: e.deliveries},
			store.WithRetentionDays(retention), store.WithClock(func() time.Time { return clock }))
		saveEvent := func(eventTime, created time.Time, evt string) *webhook.Delivery {
			d := &webhook.Delivery{
				ID:        webhook.DeliveryIDFor(evt, webhookIDs[0], eventTime),
				WebhookID: webhookIDs[0], EventID: evt, Event: "agent.completed",
				Status:    webhook.DeliveryRetrying,
				Attempts:  []webhook.Attempt{{Attempt: 1, StartedAt: created, StatusCode: 503, DurationMS: 40}},
				CreatedAt: created,
			}
			require.NoError(t, st.SaveAttempt(ctx, d))
			return d
		}
		save := func(created time.Time, evt string) *webhook.Delivery { return saveEvent(created, created, evt) }
		old := save(cutoff.Add(-time.Second), "evt_old")
		kept := save(cutoff.Add(time.Second), "evt_kept")
		// An event a year old, triggered within retention: its id is far
		// below the cutoff, its retention runs from its trigger.
		oldEvent := saveEvent(cutoff.AddDate(-1, 0, 0), cutoff.Add(time.Second), "evt_old_event")
		clock = now

		res, err := e.sweeper(now).Sweep(ctx, retention)
		require.NoError(t, err)
		assert.Equal(t, 1, res.Deleted)

		_, err = st.GetDelivery(ctx, old.WebhookID, old.ID)
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))
		_, err = st.GetDelivery(ctx, kept.WebhookID, kept.ID)
		assert.NoError(t, err)
		_, err = st.GetDelivery(ctx, oldEvent.WebhookID, oldEvent.ID)
		assert.NoError(t, err, "kept though its id is old")

		old.Attempts = append(old.Attempts, webhook.Attempt{Attempt: 2, StartedAt: now, StatusCode: 200})
		old.Status = webhook.DeliverySucceeded
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(st.SaveAttempt(ctx, old)),
			"an expired delivery is not recreated by a later attempt")
		assert.ElementsMatch(t, []string{kept.ID, oldEvent.ID}, deliveryIDs(t, e.db, e.deliveries))
		_, err = st.GetDelivery(ctx, old.WebhookID, old.ID)
		assert.Equal(t, webhook.ENotFound, webhook.ErrorCode(err))
	})
}
