package localaws

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
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
	assert.Equal(t, s.Endpoint, c.Endpoints.EventBridge)
	assert.Equal(t, "default", c.OperationsBus)
	assert.True(t, c.AllowPrivate, "other settings are kept")
	assert.Equal(t, s.Queues.DeliveryQueue, c.DeliveryQueueURL, "the stack's queues replace base's")
	assert.Equal(t, s.Queues.EventsQueue, c.EventsQueueURL)
	assert.NoError(t, c.Require("TABLE_WEBHOOKS", "TABLE_DELIVERIES", "KMS_KEY_ID", "DELIVERY_QUEUE_URL", "EVENTS_QUEUE_URL"))
}

// A bus other than the default one is created, once: a second stack on the
// same emulator finds it.
func TestStackCreatesOperationsBus(t *testing.T) {
	ctx := context.Background()
	o := uniqueOptions()
	o.OperationsBus = "ops-" + uuid.NewString()[:8]
	s, err := Start(ctx, o)
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, o.OperationsBus, s.Bus)
	_, err = s.Clients.EventBridge.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(o.OperationsBus)})
	require.NoError(t, err)
	bus, err := EnsureBus(ctx, s.Clients.EventBridge, o.OperationsBus)
	require.NoError(t, err)
	assert.Equal(t, o.OperationsBus, bus)
	assert.Equal(t, o.OperationsBus, s.Env()["OPERATIONS_EVENT_BUS"])
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

// A function configured from Env uses what Config points the local server
// at.
func TestStackEnv(t *testing.T) {
	s, err := Start(context.Background(), uniqueOptions())
	require.NoError(t, err)
	defer s.Close()
	base, err := config.Parse(func(string) string { return "" })
	require.NoError(t, err)
	env := s.Env()
	got, err := config.Parse(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, s.Config(base), got)
}

// Listen serves the emulator on a chosen address, and only while the stack
// runs.
func TestStackListen(t *testing.T) {
	ctx := context.Background()
	o := uniqueOptions()
	o.Listen = "127.0.0.1:0"
	s, err := Start(ctx, o)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(s.Endpoint, "http://127.0.0.1:"), s.Endpoint)
	assert.NotEqual(t, s.srv.URL, s.Endpoint, "not kumo's own port")
	require.NoError(t, s.Ready(ctx), "tables and key answer through the address")

	// The address is taken while the stack runs.
	o2 := uniqueOptions()
	o2.Listen = strings.TrimPrefix(s.Endpoint, "http://")
	_, err = Start(ctx, o2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "emulator")

	require.NoError(t, s.Shutdown(ctx))
	_, err = net.Dial("tcp", strings.TrimPrefix(s.Endpoint, "http://"))
	assert.Error(t, err, "nothing listens after shutdown")
}

// The emulator reads its data directory when the process starts: a stack
// cannot ask for another one.
func TestStackRefusesDataDirOfAnotherProcess(t *testing.T) {
	o := uniqueOptions()
	o.DataDir = t.TempDir()
	_, err := Start(context.Background(), o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Persist")
	assert.Contains(t, err.Error(), "keeps it in memory")

	o = uniqueOptions()
	o.Endpoint = "http://127.0.0.1:9"
	o.DataDir = t.TempDir()
	_, err = Start(context.Background(), o)
	assert.Error(t, err, "a data directory is for the embedded emulator only")
}

func TestDataDir(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	tests := []struct{ in, want string }{
		{"", filepath.Join(wd, ".cache/local/data")},
		{"  ", filepath.Join(wd, ".cache/local/data")},
		{"memory", ""},
		{"/var/tmp/wh", "/var/tmp/wh"},
		{"data/../here", filepath.Join(wd, "here")},
	}
	for _, tt := range tests {
		got, err := DataDir(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, "WEBHOOKS_DATA_DIR=%q", tt.in)
	}
}

// Persist does nothing when the process already keeps its data where asked
// (here: in memory, as the test binary was started).
func TestPersistWhenAlreadyThere(t *testing.T) {
	require.Empty(t, processDataDir, "the test binary runs with KUMO_DATA_DIR unset")
	assert.NoError(t, Persist(""))
}
