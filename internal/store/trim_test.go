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

func TestDeliveryKeysBeyond(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		ctx := context.Background()
		a, b := webhook.NewID(webhook.WebhookIDPrefix), webhook.NewID(webhook.WebhookIDPrefix)
		var ids []string // oldest first, alternating webhooks
		for i := range 6 {
			wh := a
			if i%2 == 1 {
				wh = b
			}
			d := newDelivery(wh, recent.Add(time.Duration(i)*time.Second))
			d.Attempts, d.Status = []webhook.Attempt{attempt(1, 200, recent)}, webhook.DeliverySucceeded
			require.NoError(t, s.SaveAttempt(ctx, d))
			ids = append(ids, d.ID)
		}
		// The sweep's cursor is no delivery: never counted, never trimmed.
		require.NoError(t, s.SetCleanupCursor(ctx, a, recent))

		got, err := s.DeliveryKeysBeyond(ctx, 4)
		require.NoError(t, err)
		assert.Equal(t, []DeliveryKey{{WebhookID: b, ID: ids[1]}, {WebhookID: a, ID: ids[0]}}, got, "the oldest, of either webhook, newest first")

		got, err = s.DeliveryKeysBeyond(ctx, 6)
		require.NoError(t, err)
		assert.Empty(t, got)
		got, err = s.DeliveryKeysBeyond(ctx, 0)
		require.NoError(t, err)
		assert.Len(t, got, 6)
		_, err = s.DeliveryKeysBeyond(ctx, -1)
		assert.Error(t, err)
	})
}
