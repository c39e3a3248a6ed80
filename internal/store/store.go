// Package store is all DynamoDB access of the service (guregu/dynamo v2):
// table definitions, webhook configs with their subscription index,
// statistics, deliveries, idempotency keys, and the cleanup sweep's reads,
// deletes and cursor. The layout is described in docs/internals.md.
package store

import (
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
)

// Store reads and writes the service's tables.
type Store struct {
	db         *dynamo.DB
	tables     Tables
	webhooks   dynamo.Table
	deliveries dynamo.Table
	retention  time.Duration
	now        func() time.Time
	hours      lastHours // the latest hour of stats written per webhook (buckets.go)
}

// DefaultRetention is how long deliveries are kept (the seed's
// cleanup.retentionDays: 30).
const DefaultRetention = 30 * 24 * time.Hour

// Option configures a Store.
type Option func(*Store)

// WithRetentionDays sets how long a delivery is kept: its expires_at (TTL)
// is its creation plus this many days. Values below 1 keep the default.
func WithRetentionDays(days int) Option {
	return func(s *Store) {
		if days > 0 {
			s.retention = time.Duration(days) * 24 * time.Hour
		}
	}
}

// WithClock sets the clock that decides which deliveries are past their
// retention (tests inject a fixed time). The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// New returns a Store over client. It makes no calls; the tables must exist
// (CreateTables, or the deployment's template).
func New(client *dynamodb.Client, t Tables, opts ...Option) *Store {
	db := dynamo.NewFromIface(client)
	s := &Store{
		db:         db,
		tables:     t,
		webhooks:   db.Table(t.Webhooks),
		deliveries: db.Table(t.Deliveries),
		retention:  DefaultRetention,
		now:        time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Tables returns the table names the store uses.
func (s *Store) Tables() Tables { return s.tables }

// txRetries bounds how often a transaction cancelled by a concurrent
// transaction (TransactionConflict) is tried again before the caller is told
// it lost a race.
const txRetries = 3

// txConflict reports whether err is a transaction cancelled only because
// another transaction or write touched one of its items at the same time.
// Such a cancellation says nothing about the data, so it may be retried.
func txConflict(err error) bool {
	var txe *types.TransactionCanceledException
	if !errors.As(err, &txe) {
		return false
	}
	conflict := false
	for _, r := range txe.CancellationReasons {
		switch code := deref(r.Code); code {
		case "", "None":
		case "TransactionConflict":
			conflict = true
		default:
			return false
		}
	}
	return conflict
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
