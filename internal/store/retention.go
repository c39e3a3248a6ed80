package store

import (
	"context"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Retention: a delivery is kept until its expires_at (expiresAt: retention
// after its trigger, or after its event's time if later), to the second.
// Reads apply that rule exactly, at the store's clock; DynamoDB's TTL on
// expires_at deletes the records later, for free, and the cleanup sweep
// deletes what TTL leaves behind (internal/cleanup).

// idBound returns the smallest delivery id created at or after t: every id
// below it was created before t. A UUIDv7 starts with its 48-bit millisecond
// timestamp, so a key condition on it selects by the id's time.
func idBound(t time.Time) string {
	return fmt.Sprintf("%s%012x", webhook.DeliveryIDPrefix, uint64(t.UnixMilli())&(1<<48-1))
}

// expired reports whether a record that expires at e is past its retention
// at now. Whole seconds, as TTL and the list filter count: a record is
// shown through the second its expires_at names.
func expired(e, now time.Time) bool { return !e.IsZero() && e.Unix() < now.Unix() }

// visibleFilter keeps the records not expired at a unix time ($ = TTLAttribute).
const visibleFilter = "$ >= ?"

// expiredFilter selects the records expired before a unix time ($ =
// TTLAttribute): the cleanup sweep's filter, the complement of the reads'.
const expiredFilter = "$ < ?"

// WebhookIDs returns up to limit webhook ids greater than after ("" for the
// first), in id order, from one eventually consistent Query of the by_kind
// index, and whether more may follow. The cleanup sweep walks all webhooks
// with it.
func (s *Store) WebhookIDs(ctx context.Context, after string, limit int) ([]string, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("store: list webhook ids: limit %d, want at least 1", limit)
	}
	q := s.webhooks.Get(AttrKind, kindWebhook).Index(IndexByKind).
		Project(AttrID).Limit(limit).RequestLimit(1)
	if after != "" {
		q = q.Range(AttrID, dynamo.Greater, after)
	}
	var items []struct {
		ID string `dynamo:"id"`
	}
	next, err := q.AllWithLastEvaluatedKey(ctx, &items)
	if err != nil {
		return nil, false, fmt.Errorf("list webhook ids after %q: %w", after, err)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids, next != nil, nil
}
