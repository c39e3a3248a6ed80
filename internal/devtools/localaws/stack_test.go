package localaws

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/secrets"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// uniqueOptions names the stack's resources uniquely: the emulators of one
// test binary share their state.
func uniqueOptions() Options {
	s := uuid.NewString()[:8]
	return Options{
		Tables:   store.Tables{Webhooks: "wh-" + s, Deliveries: "dl-" + s},
		KeyAlias: "alias/test-" + s,
	}
}

func TestStackStartsEverything(t *testing.T) {
	ctx := context.Background()
	o := uniqueOptions()
	s, err := Start(ctx, o)
	require.NoError(t, err)
	defer s.Close()

	assert.NotEmpty(t, s.Endpoint)
	assert.Equal(t, o.Tables, s.Tables)
	assert.Equal(t, o.KeyAlias, s.KeyAlias)
	require.NotEmpty(t, s.KeyID)
	require.NoError(t, s.Ready(ctx))

	for _, def := range store.Definitions(o.Tables) {
		name := aws.ToString(def.TableName)
		d, err := s.Clients.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: def.TableName})
		require.NoError(t, err, name)
		assert.Len(t, d.Table.GlobalSecondaryIndexes, len(def.GlobalSecondaryIndexes), "%s has its indexes", name)
	}

	// The key seals and opens, by id and by alias.
	for _, key := range []string{s.KeyID, s.KeyAlias} {
		k := secrets.NewKMS(s.Clients.KMS, key)
		sealed, err := k.Seal(ctx, "wh_0123456789abcdef0123456789abcdef", map[string]string{"token": "t0k"})
		require.NoError(t, err)
		got, err := k.Open(ctx, "wh_0123456789abcdef0123456789abcdef", sealed)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"token": "t0k"}, got)
	}

	// The store works on the created tables.
	st := store.New(s.Clients.DynamoDB, s.Tables)
	w := &webhook.Webhook{
		ID: webhook.NewID(webhook.WebhookIDPrefix), Name: "n", URL: "https://example.com/", Method: "POST",
		Events: []string{"custom"}, Status: webhook.StatusActive, AuthType: webhook.AuthNone,
		Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 30000, CreatedAt: time.Now(), UpdatedAt: time.Now(),
	}
	require.NoError(t, st.CreateWebhook(ctx, w))
	got, err := st.GetWebhook(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, "n", got.Name)
}

func TestStackReusesKeyAndTables(t *testing.T) {
	ctx := context.Background()
	o := uniqueOptions()
	first, err := Start(ctx, o)
	require.NoError(t, err)
	defer first.Close()

	// A second stack on the same emulator finds what the first created.
	o.Endpoint = first.Endpoint
	second, err := Start(ctx, o)
	require.NoError(t, err)
	assert.Equal(t, first.KeyID, second.KeyID)
	require.NoError(t, second.Ready(ctx))
	second.Close() // leaves the given emulator running
	require.NoError(t, first.Ready(ctx))
}

func TestStackConfig(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, uniqueOptions())
	require.NoError(t, err)
	defer s.Close()

	base, err := config.Parse(func(string) string { return "" })
	require.NoError(t, err)
	base.AllowPrivate = true
	base.DeliveryQueueURL = "http://queue"
	c := s.Config(base)
	assert.Equal(t, s.Tables.Webhooks, c.WebhooksTable)
	assert.Equal(t, s.Tables.Deliveries, c.DeliveriesTable)
	assert.Equal(t, s.KeyID, c.KMSKeyID)
	assert.Equal(t, s.Endpoint, c.Endpoints.DynamoDB)
	assert.Equal(t, s.Endpoint, c.Endpoints.SQS)
	assert.Equal(t, s.Endpoint, c.Endpoints.KMS)
	assert.True(t, c.AllowPrivate, "other settings are kept")
	assert.Equal(t, s.Queues.DeliveryQueue, c.DeliveryQueueURL, "the stack's queues replace base's")
	assert.Equal(t, s.Queues.EventsQueue, c.EventsQueueURL)
	assert.NoError(t, c.Require("TABLE_WEBHOOKS", "TABLE_DELIVERIES", "KMS_KEY_ID", "DELIVERY_QUEUE_URL", "EVENTS_QUEUE_URL"))
}

func TestStackReadyFailsWithoutTables(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, uniqueOptions())
	require.NoError(t, err)
	defer s.Close()
	broken := *s
	broken.Tables.Webhooks = "missing-" + uuid.NewString()[:8]
	assert.Error(t, broken.Ready(ctx))
}

func TestStackStartFailsCleanly(t *testing.T) {
	o := uniqueOptions()
	o.KeyAlias = "not-an-alias" // KMS refuses alias names without "alias/"
	_, err := Start(context.Background(), o)
	require.Error(t, err)
}
