package store

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// TestTakeRateSlot checks that at most limit slots of one second are taken,
// however many callers race for them, that the next second and another
// webhook have their own, and that the counter item expires.
func TestTakeRateSlot(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		id := webhook.NewID(webhook.WebhookIDPrefix)
		sec := time.Unix(1_700_000_000, 0)
		var taken atomic.Int32
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				ok, err := s.TakeRateSlot(ctx, id, sec.Add(300*time.Millisecond), 5)
				assert.NoError(t, err)
				if ok {
					taken.Add(1)
				}
			})
		}
		wg.Wait()
		assert.EqualValues(t, 5, taken.Load(), "5 of 12 concurrent takers get a slot")

		ok, err := s.TakeRateSlot(ctx, id, sec.Add(999*time.Millisecond), 5)
		require.NoError(t, err)
		assert.False(t, ok, "the second is full")
		ok, err = s.TakeRateSlot(ctx, id, sec.Add(time.Second), 5)
		require.NoError(t, err)
		assert.True(t, ok, "the next second has its own slots")
		ok, err = s.TakeRateSlot(ctx, webhook.NewID(webhook.WebhookIDPrefix), sec, 5)
		require.NoError(t, err)
		assert.True(t, ok, "another webhook has its own counter")

		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.tables.Webhooks), Key: map[string]types.AttributeValue{
			AttrPK: &types.AttributeValueMemberS{Value: "rl#" + id},
			AttrSK: &types.AttributeValueMemberS{Value: strconv.FormatInt(sec.Unix(), 10)},
		}})
		require.NoError(t, err)
		assert.Equal(t, &types.AttributeValueMemberN{Value: "5"}, out.Item["count"])
		assert.Equal(t, &types.AttributeValueMemberN{Value: strconv.FormatInt(sec.Unix()+60, 10)}, out.Item[TTLAttribute])
	})
}

// TestRateLimitStoredOnConfig checks that a webhook's rate limit is read
// back as written and that a webhook without one has no attribute.
func TestRateLimitStoredOnConfig(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		w := newWebhook(evA)
		w.RateLimit = &webhook.RateLimit{PerSecond: 7}
		require.NoError(t, s.CreateWebhook(ctx, w))
		got, err := s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, &webhook.RateLimit{PerSecond: 7}, got.RateLimit)

		got.RateLimit = nil
		require.NoError(t, s.UpdateWebhook(ctx, got))
		again, err := s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Nil(t, again.RateLimit)
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.tables.Webhooks), Key: map[string]types.AttributeValue{
			AttrPK: &types.AttributeValueMemberS{Value: webhookPK(w.ID)},
			AttrSK: &types.AttributeValueMemberS{Value: skConfig},
		}})
		require.NoError(t, err)
		assert.NotContains(t, out.Item, "rate_limit_per_second")
	})
}
