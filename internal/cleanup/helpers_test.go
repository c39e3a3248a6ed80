package cleanup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/guregu/dynamo/v2"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/systemprompt-io/webhooks/internal/devtools/awsmetrics"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// env is one backend with fresh tables and a client whose calls are counted.
type env struct {
	base       *dynamodb.Client // the backend's client, without counters
	client     *dynamodb.Client
	db         *dynamo.DB
	webhooks   string
	deliveries string
	calls      *awsmetrics.Calls
}

// forEachBackend runs fn against every DynamoDB stand-in, in parallel.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range testenv.DynamoBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, b.Clients.DynamoDB))
		})
	}
}

func newEnv(t testing.TB, base *dynamodb.Client) *env {
	t.Helper()
	calls, count := awsmetrics.Counter()
	client := dynamodb.New(base.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, count)
	})
	sfx := randomSuffix(t)
	e := &env{
		base:       base,
		client:     client,
		db:         dynamo.NewFromIface(client),
		webhooks:   "webhooks-" + sfx,
		deliveries: "deliveries-" + sfx,
		calls:      calls,
	}
	require.NoError(t, store.CreateTables(context.Background(), client, e.tables()))
	// The fixtures' expires_at is in the real past (in both tables: the
	// webhooks table gets look-alikes the sweep must not touch). With TTL
	// off the tables hold what TTL left behind, which is what the sweep is
	// for, and kumo's reaper cannot remove it while a test runs.
	testenv.StopTTL(t, base, store.TTLAttribute, e.webhooks, e.deliveries)
	t.Cleanup(func() {
		for _, name := range []string{e.webhooks, e.deliveries} {
			_ = e.db.Table(name).DeleteTable().Run(context.Background())
		}
	})
	e.reset()
	return e
}

func (e *env) tables() store.Tables {
	return store.Tables{Webhooks: e.webhooks, Deliveries: e.deliveries}
}

// reset zeroes the call counts after setup.
func (e *env) reset() { e.calls.Reset() }

// sweeper returns a sweeper at the fixed time now, over the counted client
// with opts applied (a test adds a throttling DynamoDB).
func (e *env) sweeper(now time.Time, opts ...func(*dynamodb.Options)) *Sweeper {
	client := e.client
	if len(opts) > 0 {
		client = dynamodb.New(e.client.Options(), opts...)
	}
	s := New(store.New(client, e.tables()))
	s.Now = func() time.Time { return now }
	s.Sleep = func(context.Context, time.Duration) error { return nil }
	s.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	return s
}

func randomSuffix(t testing.TB) string {
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

// deliveryItem is a delivery record with the attributes internal/store
// writes (its deliveryItem): key, creation time, TTL in unix seconds (the
// id's time plus retention, rounded up), and the record's fields.
type deliveryItem struct {
	WebhookID   string        `dynamo:"webhook_id"`
	ID          string        `dynamo:"id"`
	EventID     string        `dynamo:"event_id"`
	Event       string        `dynamo:"event"`
	Status      string        `dynamo:"status"`
	Attempts    []attemptItem `dynamo:"attempts"`
	SeriesStart int           `dynamo:"series_start"`
	CreatedAt   time.Time     `dynamo:"created_at"`
	CompletedAt time.Time     `dynamo:"completed_at"`
	ExpiresAt   int64         `dynamo:"expires_at"`
}

type attemptItem struct {
	N         int       `dynamo:"n"`
	StartedAt time.Time `dynamo:"at"`
	Code      int       `dynamo:"code"`
	MS        int64     `dynamo:"ms"`
}

// newDelivery returns the delivery of event number seq to webhookID, created
// at created, kept for retentionDays.
func newDelivery(webhookID string, created time.Time, seq, retentionDays int) deliveryItem {
	created = created.UTC()
	evt := webhook.DerivedID(webhook.EventIDPrefix, created, strconv.Itoa(seq))
	return deliveryItem{
		WebhookID:   webhookID,
		ID:          webhook.DeliveryIDFor(evt, webhookID, created),
		EventID:     evt,
		Event:       "agent.completed",
		Status:      string(webhook.DeliverySucceeded),
		SeriesStart: 1,
		Attempts: []attemptItem{
			{N: 1, StartedAt: created, Code: 500, MS: 120},
			{N: 2, StartedAt: created.Add(time.Second), Code: 200, MS: 80},
		},
		CreatedAt:   created,
		CompletedAt: created.Add(time.Second),
		ExpiresAt:   created.Add(time.Duration(retentionDays)*24*time.Hour + time.Second - time.Nanosecond).Unix(),
	}
}

// putAll writes items with BatchWriteItem, several batches at once.
func putAll(ctx context.Context, t testing.TB, db *dynamo.DB, table string, items []deliveryItem) {
	t.Helper()
	const chunk = 500
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := 0; i < len(items); i += chunk {
		part := items[i:min(i+chunk, len(items))]
		g.Go(func() error {
			vals := make([]any, len(part))
			for j := range part {
				vals[j] = part[j]
			}
			_, err := db.Table(table).Batch().Write().Put(vals...).Run(ctx)
			return err
		})
	}
	require.NoError(t, g.Wait())
}

// deliveryIDs returns the ids of all deliveries in the table: the items
// whose webhook_id is a webhook's (not the cursor's).
func deliveryIDs(t testing.TB, db *dynamo.DB, table string) []string {
	t.Helper()
	var all []deliveryItem
	require.NoError(t, db.Table(table).Scan().All(context.Background(), &all))
	var ids []string
	for _, d := range all {
		if webhook.ValidID(webhook.WebhookIDPrefix, d.WebhookID) {
			ids = append(ids, d.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func idsOf(items []deliveryItem) []string {
	ids := make([]string, len(items))
	for i, d := range items {
		ids[i] = d.ID
	}
	sort.Strings(ids)
	return ids
}

// cursorAfter reads the cursor's webhook id ("" when there is none).
func cursorAfter(t testing.TB, e *env) string {
	t.Helper()
	after, err := store.New(e.base, e.tables()).CleanupCursor(context.Background())
	require.NoError(t, err)
	return after
}

func setCursor(t testing.TB, e *env, after string) {
	t.Helper()
	require.NoError(t, store.New(e.base, e.tables()).SetCleanupCursor(context.Background(), after, time.Now()))
}

// putWebhooks writes a config item (what by_kind indexes) for each id.
func putWebhooks(t testing.TB, e *env, ids ...string) {
	t.Helper()
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = map[string]any{"pk": "wh#" + id, "sk": "config", "kind": "webhook", "id": id,
			"wh_status": "active", "url": "https://example.com/" + id}
	}
	_, err := e.db.Table(e.webhooks).Batch().Write().Put(vals...).Run(context.Background())
	require.NoError(t, err)
}
