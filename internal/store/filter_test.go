package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// TestFilterStoredOnConfigAndSubscriptions checks that a webhook's payload
// filter is a string attribute of its config and of each subscription item,
// read back as written, changed with an update and gone when removed; a
// webhook without one has no attribute at all.
func TestFilterStoredOnConfigAndSubscriptions(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, client *dynamodb.Client) {
		const f1 = `{"data":{"amount":{"$gt":100}}}`
		w := newWebhook(evA, evB)
		w.Filter = json.RawMessage(f1)
		require.NoError(t, s.CreateWebhook(ctx, w))
		plain := newWebhook(evA)
		require.NoError(t, s.CreateWebhook(ctx, plain))

		got, err := s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.JSONEq(t, f1, string(got.Filter))
		none, err := s.GetWebhook(ctx, plain.ID)
		require.NoError(t, err)
		assert.Nil(t, none.Filter, "no filter reads as nil")

		raw := func(pk, sk string) map[string]types.AttributeValue {
			out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.tables.Webhooks),
				Key: map[string]types.AttributeValue{AttrPK: &types.AttributeValueMemberS{Value: pk}, AttrSK: &types.AttributeValueMemberS{Value: sk}}})
			require.NoError(t, err)
			return out.Item
		}
		assert.Equal(t, &types.AttributeValueMemberS{Value: f1}, raw(webhookPK(w.ID), skConfig)[attrFilter])
		assert.Equal(t, &types.AttributeValueMemberS{Value: f1}, raw(subPK(evB), w.ID)[attrFilter])
		assert.NotContains(t, raw(webhookPK(plain.ID), skConfig), attrFilter)
		assert.NotContains(t, raw(subPK(evA), plain.ID), attrFilter)

		subs, err := s.ActiveSubscriptions(ctx, evA)
		require.NoError(t, err)
		assert.ElementsMatch(t, []webhook.Subscription{{WebhookID: w.ID, Filter: f1}, {WebhookID: plain.ID}}, subs)

		// The largest filter the language allows fits every item.
		big := `{"data":{"k":"` + strings.Repeat("x", 4096-len(`{"data":{"k":""}}`)) + `"}}`
		got.Filter = json.RawMessage(big)
		require.NoError(t, s.UpdateWebhook(ctx, got))
		subs, err = s.ActiveSubscriptions(ctx, evB)
		require.NoError(t, err)
		assert.Equal(t, []webhook.Subscription{{WebhookID: w.ID, Filter: big}}, subs)

		got.Filter = nil
		require.NoError(t, s.UpdateWebhook(ctx, got))
		subs, err = s.ActiveSubscriptions(ctx, evB)
		require.NoError(t, err)
		assert.Equal(t, []webhook.Subscription{{WebhookID: w.ID}}, subs, "a removed filter leaves the index")
		assert.NotContains(t, raw(webhookPK(w.ID), skConfig), attrFilter)
	})
}
