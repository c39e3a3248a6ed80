package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// forEachBackend runs fn against every DynamoDB stand-in, each in parallel,
// with fresh tables.
func forEachBackend(t *testing.T, fn func(t *testing.T, s *Store, client *dynamodb.Client)) {
	t.Helper()
	for _, b := range testenv.DynamoBackends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			client := b.Clients.DynamoDB
			fn(t, newStore(t, client), client)
		})
	}
}

func uniqueTables(t *testing.T) Tables {
	t.Helper()
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	sfx := hex.EncodeToString(b[:])
	return Tables{Webhooks: "webhooks-" + sfx, Deliveries: "deliveries-" + sfx}
}

func newStore(t *testing.T, client *dynamodb.Client) *Store {
	t.Helper()
	tables := uniqueTables(t)
	require.NoError(t, CreateTables(context.Background(), client, tables))
	t.Cleanup(func() {
		for _, name := range []string{tables.Webhooks, tables.Deliveries} {
			_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name})
		}
	})
	return New(client, tables)
}

var fixedTime = time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)

// newWebhook returns a webhook with every field set.
func newWebhook(events ...string) *webhook.Webhook {
	return &webhook.Webhook{
		ID:                webhook.NewID(webhook.WebhookIDPrefix),
		Name:              "My Webhook",
		URL:               "https://example.com/hook",
		Method:            "PUT",
		Headers:           map[string]string{"X-Custom": "value", "X-Empty": ""},
		Events:            events,
		Status:            webhook.StatusActive,
		AuthType:          webhook.AuthBearer,
		Credentials:       map[string]string{"token": "plaintext-secret-123"},
		SealedCredentials: []byte{0x00, 0x01, 0xfe, 0xff},
		MaskedCredentials: map[string]string{"token": "****-123"},
		Retry: webhook.RetryPolicy{
			Strategy:       webhook.StrategyLinear,
			MaxAttempts:    7,
			InitialDelayMS: 1500,
			MaxDelayMS:     90000,
		},
		TimeoutMS: 12000,
		CreatedAt: fixedTime,
		UpdatedAt: fixedTime.Add(time.Minute),
	}
}

func ids(ws []*webhook.Webhook) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.ID
	}
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// opRecorder records the DynamoDB operations a client makes.
type opRecorder struct {
	mu  sync.Mutex
	ops []string
}

func (r *opRecorder) add(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("recordOperation",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			r.ops = append(r.ops, middleware.GetOperationName(ctx))
			r.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func (r *opRecorder) reset() {
	r.mu.Lock()
	r.ops = nil
	r.mu.Unlock()
}

func (r *opRecorder) operations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ops...)
}

// recordingClient is a copy of client that records its operations.
func recordingClient(client *dynamodb.Client) (*dynamodb.Client, *opRecorder) {
	r := &opRecorder{}
	c := dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, r.add)
	})
	return c, r
}

// failingClient is a copy of client whose calls of operation op fail.
func failingClient(client *dynamodb.Client, op string) *dynamodb.Client {
	return dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("failOperation",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if middleware.GetOperationName(ctx) == op {
						return middleware.InitializeOutput{}, middleware.Metadata{}, errors.New("injected failure of " + op)
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	})
}
