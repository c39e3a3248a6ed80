package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// What the cleanup sweep reads and writes (internal/cleanup decides what to
// delete and when to stop): the webhook ids (WebhookIDs), the keys of a
// webhook's expired deliveries, their deletion, and the sweep's cursor.

// CleanupCursorKey is the webhook_id of the cleanup sweep's cursor item in
// the deliveries table (its id is "cursor"). It is no valid webhook id, so
// no query of a webhook's deliveries reaches the item, and the item has no
// expires_at, so TTL keeps it. The cleanup function's IAM policy allows
// GetItem and UpdateItem on this partition only (template.yaml).
const CleanupCursorKey = "#cleanup"

const (
	cleanupCursorID = "cursor"
	attrAfter       = "after"
	attrUpdatedAt   = "updated_at"
)

// MaxBatchDelete is how many deletes one BatchWriteItem call may carry.
const MaxBatchDelete = 25

// DeliveryKey is the key of a delivery record.
type DeliveryKey struct {
	WebhookID string `dynamo:"webhook_id"`
	ID        string `dynamo:"id"`
}

type cursorItem struct {
	After string `dynamo:"after"`
}

// CleanupCursor returns the webhook id the cleanup sweep resumes after, ""
// when it starts from the first webhook (no cursor, or a cleared one). It is
// one strongly consistent GetItem.
func (s *Store) CleanupCursor(ctx context.Context) (string, error) {
	var c cursorItem
	err := s.deliveries.Get(AttrWebhookID, CleanupCursorKey).
		Range(AttrID, dynamo.Equal, cleanupCursorID).
		Consistent(true).
		One(ctx, &c)
	switch {
	case errors.Is(err, dynamo.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read cleanup cursor: %w", err)
	}
	if c.After != "" && !webhook.ValidID(webhook.WebhookIDPrefix, c.After) {
		return "", fmt.Errorf("store: cleanup cursor (%s=%q, %s=%q) has %s %q, not a webhook id: fix or delete it",
			AttrWebhookID, CleanupCursorKey, AttrID, cleanupCursorID, attrAfter, c.After)
	}
	return c.After, nil
}

// SetCleanupCursor records after as the webhook id the next sweep resumes
// after ("" to start from the first), and at as the time it was written. It
// is one UpdateItem, which creates the item the first time.
func (s *Store) SetCleanupCursor(ctx context.Context, after string, at time.Time) error {
	if after != "" && !webhook.ValidID(webhook.WebhookIDPrefix, after) {
		return fmt.Errorf("store: cleanup cursor %q is not a webhook id", after)
	}
	err := s.deliveries.Update(AttrWebhookID, CleanupCursorKey).
		Range(AttrID, cleanupCursorID).
		Set(attrAfter, after).
		Set(attrUpdatedAt, at.UTC()).
		Run(ctx)
	if err != nil {
		return fmt.Errorf("write cleanup cursor %q: %w", after, err)
	}
	return nil
}

// ExpiredDeliveryKeys reads one page of the keys of webhookID's deliveries
// whose id names a time before createdBefore and whose expires_at is before
// expiredBefore (to the second), in id order, after the delivery id after
// ("" from the first). It returns the id to pass as after for the next page,
// "" when there is none.
//
// It is one Query of the deliveries table's own key, `webhook_id = X AND id
// < dlv_<hex of createdBefore in unix ms>`, filtered on expires_at: a
// delivery id is a UUIDv7 of the event's time and expires_at is never before
// that time plus retention, so the key condition reads only deliveries that
// can be expired, however many are kept.
func (s *Store) ExpiredDeliveryKeys(ctx context.Context, webhookID, after string, createdBefore, expiredBefore time.Time) ([]DeliveryKey, string, error) {
	q := s.deliveries.Get(AttrWebhookID, webhookID).
		Range(AttrID, dynamo.Less, idBound(createdBefore)).
		Filter(expiredFilter, TTLAttribute, expiredBefore.Unix()).
		Project(AttrWebhookID, AttrID).
		RequestLimit(1) // one request per call: the caller counts them and checks its deadline between
	if after != "" {
		q = q.StartFrom(dynamo.PagingKey{
			AttrWebhookID: &types.AttributeValueMemberS{Value: webhookID},
			AttrID:        &types.AttributeValueMemberS{Value: after},
		})
	}
	var keys []DeliveryKey
	next, err := q.AllWithLastEvaluatedKey(ctx, &keys)
	if err != nil {
		return nil, "", fmt.Errorf("query expired deliveries of %s: %w", webhookID, err)
	}
	if next == nil {
		return keys, "", nil
	}
	var last DeliveryKey
	if err := dynamo.UnmarshalItem(next, &last); err != nil || last.ID == "" {
		return nil, "", fmt.Errorf("store: query expired deliveries of %s: unexpected last key %v (%v)", webhookID, next, err)
	}
	return keys, last.ID, nil
}

// BatchRetry says how DeleteDeliveries re-sends the deletes that DynamoDB
// left unprocessed, as it does when throttled.
type BatchRetry struct {
	// Max is how often the unprocessed deletes of one call are re-sent at
	// most; deletes still unprocessed then are an error.
	Max int
	// Wait, if set, is called before re-send n (1, 2, ...): it waits out the
	// caller's backoff. An error from it ends DeleteDeliveries with that
	// error, unchanged (a deadline the caller wants to recognise).
	Wait func(ctx context.Context, n int) error
}

// DeleteDeliveries deletes the deliveries with keys (at most MaxBatchDelete)
// with BatchWriteItem, re-sending the unprocessed ones as retry says. It
// returns how many deletes DynamoDB accepted and how many calls it sent,
// with any error; a failure leaves the other deletes done.
//
// guregu's BatchWrite is not used because it re-sends unprocessed items
// without a bound on the attempts.
func (s *Store) DeleteDeliveries(ctx context.Context, keys []DeliveryKey, retry BatchRetry) (deleted, calls int, err error) {
	if len(keys) > MaxBatchDelete {
		return 0, 0, fmt.Errorf("store: delete deliveries: %d keys, at most %d per call", len(keys), MaxBatchDelete)
	}
	if len(keys) == 0 {
		return 0, 0, nil
	}
	table := s.tables.Deliveries
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{
			AttrWebhookID: &types.AttributeValueMemberS{Value: k.WebhookID},
			AttrID:        &types.AttributeValueMemberS{Value: k.ID},
		}}}
	}
	for n := 0; ; n++ {
		out, err := s.db.Client().BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{table: reqs},
		})
		calls++
		if err != nil {
			return deleted, calls, fmt.Errorf("delete %d deliveries: %w", len(reqs), err)
		}
		left := out.UnprocessedItems[table]
		deleted += len(reqs) - len(left)
		if len(left) == 0 {
			return deleted, calls, nil
		}
		if n == retry.Max {
			return deleted, calls, fmt.Errorf("store: delete deliveries: %d still unprocessed after %d retries (throttled?)",
				len(left), retry.Max)
		}
		reqs = left
		if retry.Wait != nil {
			if err := retry.Wait(ctx, n+1); err != nil {
				return deleted, calls, err
			}
		}
	}
}
