package cleanup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
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
	touched    *tableLog
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
	touched := &tableLog{seen: map[string]int{}}
	client := dynamodb.New(base.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, count, touched.register)
	})
	sfx := randomSuffix(t)
	e := &env{
		base:       base,
		client:     client,
		db:         dynamo.NewFromIface(client),
		webhooks:   "webhooks-" + sfx,
		deliveries: "deliveries-" + sfx,
		calls:      calls,
		touched:    touched,
	}
	require.NoError(t, store.CreateTables(context.Background(), client, store.Tables{Webhooks: e.webhooks, Deliveries: e.deliveries}))
	// The fixtures' expires_at is in the real past, and kumo's TTL reaper
	// (every 30 s) would delete them while a test runs. With TTL off the
	// tables hold what TTL left behind, which is what the sweep is for.
	_, err := base.UpdateTimeToLive(context.Background(), &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(e.deliveries),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(store.TTLAttribute), Enabled: aws.Bool(false),
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, name := range []string{e.webhooks, e.deliveries} {
			_ = e.db.Table(name).DeleteTable().Run(context.Background())
		}
	})
	e.reset()
	return e
}

// reset zeroes the call counts after setup.
func (e *env) reset() {
	e.calls.Reset()
	e.touched.reset()
}

func (e *env) sweeper(now time.Time) *Sweeper {
	s := New(e.client, store.Tables{Webhooks: e.webhooks, Deliveries: e.deliveries})
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

// tableLog records which tables calls named.
type tableLog struct {
	mu   sync.Mutex
	seen map[string]int
}

func (l *tableLog) register(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("cleanup.tableLog",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			l.mu.Lock()
			for _, name := range tableNames(in.Parameters) {
				l.seen[name]++
			}
			l.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (l *tableLog) reset() {
	l.mu.Lock()
	clear(l.seen)
	l.mu.Unlock()
}

func (l *tableLog) tables() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for n := range l.seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func tableNames(params any) []string {
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		return []string{*in.TableName}
	case *dynamodb.QueryInput:
		return []string{*in.TableName}
	case *dynamodb.ScanInput:
		return []string{*in.TableName}
	case *dynamodb.UpdateItemInput:
		return []string{*in.TableName}
	case *dynamodb.PutItemInput:
		return []string{*in.TableName}
	case *dynamodb.DeleteItemInput:
		return []string{*in.TableName}
	case *dynamodb.BatchWriteItemInput:
		var out []string
		for n := range in.RequestItems {
			out = append(out, n)
		}
		return out
	}
	return []string{fmt.Sprintf("%T", params)}
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

// deliveryIDs returns the ids of all deliveries in the table (not the cursor).
func deliveryIDs(t testing.TB, db *dynamo.DB, table string) []string {
	t.Helper()
	var all []deliveryItem
	require.NoError(t, db.Table(table).Scan().All(context.Background(), &all))
	var ids []string
	for _, d := range all {
		if d.WebhookID != CursorWebhookID {
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
func cursorAfter(t testing.TB, db *dynamo.DB, table string) string {
	t.Helper()
	var c cursorItem
	err := db.Table(table).Get(attrWebhookID, CursorWebhookID).Range(attrID, dynamo.Equal, CursorID).
		Consistent(true).One(context.Background(), &c)
	if err == dynamo.ErrNotFound {
		return ""
	}
	require.NoError(t, err)
	return c.After
}

func setCursor(t testing.TB, db *dynamo.DB, table, after string) {
	t.Helper()
	require.NoError(t, db.Table(table).Put(cursorItem{
		WebhookID: CursorWebhookID, ID: CursorID, After: after,
	}).Run(context.Background()))
}

// putWebhooks writes a config item (what by_kind indexes) for each id.
func putWebhooks(t testing.TB, e *env, ids ...string) {
	t.Helper()
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = map[string]any{"pk": "wh#" + id, "sk": "config", "kind": "webhook", "id": id,
			"wh_status": "active", "url": "https://example.com/" + id}
	}
	for i := 0; i < len(vals); i += batchSize {
		_, err := e.db.Table(e.webhooks).Batch().Write().Put(vals[i:min(i+batchSize, len(vals))]...).Run(context.Background())
		require.NoError(t, err)
	}
}
