package store

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// A rotation's previous secret is stored sealed with its expiry, never its
// plaintext, and an update without one removes both attributes.
func TestPreviousSecretRoundTrip(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		w := newWebhook(evA)
		expires := fixedTime.Add(24 * time.Hour)
		w.Previous = &webhook.PreviousSecret{Sealed: []byte("sealed-previous"), ExpiresAt: expires, Secret: "plain-previous"}
		require.NoError(t, s.CreateWebhook(ctx, w))

		got, err := s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, &webhook.PreviousSecret{Sealed: []byte("sealed-previous"), ExpiresAt: expires}, got.Previous)

		raw := func() map[string]types.AttributeValue {
			out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String(s.Tables().Webhooks),
				Key: map[string]types.AttributeValue{
					AttrPK: &types.AttributeValueMemberS{Value: webhookPK(w.ID)},
					AttrSK: &types.AttributeValueMemberS{Value: skConfig},
				},
			})
			require.NoError(t, err)
			return out.Item
		}
		item := raw()
		assert.IsType(t, &types.AttributeValueMemberB{}, item["sealed_previous_secret"])
		assert.IsType(t, &types.AttributeValueMemberS{}, item["previous_secret_expires_at"])
		assert.NotContains(t, fmtItem(item), "plain-previous")

		got.Previous = nil
		require.NoError(t, s.UpdateWebhook(ctx, got))
		again, err := s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Nil(t, again.Previous)
		item = raw()
		assert.NotContains(t, item, "sealed_previous_secret")
		assert.NotContains(t, item, "previous_secret_expires_at")
	})
}

func fmtItem(item map[string]types.AttributeValue) string {
	var out []byte
	for k, v := range item {
		out = append(out, k...)
		if b, ok := v.(*types.AttributeValueMemberB); ok {
			out = append(out, b.Value...)
		}
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value...)
		}
	}
	return string(out)
}
