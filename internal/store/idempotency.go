package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

const (
	idemPKPrefix = "idem#"
	skIdem       = "idem"
)

// idemItem remembers a trigger by its Idempotency-Key; TTL removes it.
type idemItem struct {
	PK          string    `dynamo:"pk,hash"`
	SK          string    `dynamo:"sk,range"`
	Fingerprint string    `dynamo:"fingerprint"`
	EventID     string    `dynamo:"event_id"`
	EventTime   time.Time `dynamo:"event_time"`
	Done        bool      `dynamo:"done"`
	Deliveries  int       `dynamo:"deliveries"`
	CreatedAt   time.Time `dynamo:"created_at"`
	ExpiresAt   time.Time `dynamo:"expires_at,unixtime"`
}

func (it *idemItem) record() webhook.IdempotencyRecord {
	return webhook.IdempotencyRecord{
		Key: it.PK[len(idemPKPrefix):], Fingerprint: it.Fingerprint, EventID: it.EventID, EventTime: it.EventTime,
		Done: it.Done, Deliveries: it.Deliveries, CreatedAt: it.CreatedAt, ExpiresAt: it.ExpiresAt,
	}
}

// ClaimIdempotencyKey stores rec unless an unexpired record with its key
// exists. It returns the record in force and whether it is rec (claimed). An
// expired record that TTL has not removed yet counts as absent.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec webhook.IdempotencyRecord) (webhook.IdempotencyRecord, bool, error) {
	it := idemItem{
		PK: idemPKPrefix + rec.Key, SK: skIdem, Fingerprint: rec.Fingerprint, EventID: rec.EventID,
		EventTime: rec.EventTime.UTC(), Done: rec.Done, Deliveries: rec.Deliveries,
		CreatedAt: rec.CreatedAt.UTC(), ExpiresAt: rec.ExpiresAt.UTC(),
	}
	for attempt := 1; ; attempt++ {
		err := s.webhooks.Put(it).If("attribute_not_exists('pk') OR 'expires_at' < ?", rec.CreatedAt.Unix()).Run(ctx)
		if err == nil {
			return rec, true, nil
		} else if !dynamo.IsCondCheckFailed(err) {
			return rec, false, fmt.Errorf("claim idempotency key: %w", err)
		}
		var prev idemItem
		err = s.webhooks.Get(AttrPK, it.PK).Range(AttrSK, dynamo.Equal, skIdem).Consistent(true).One(ctx, &prev)
		switch {
		case err == nil:
			return prev.record(), false, nil
		case errors.Is(err, dynamo.ErrNotFound) && attempt < txRetries:
			continue // removed in between: claim again
		default:
			return rec, false, fmt.Errorf("read idempotency key: %w", err)
		}
	}
}

// CompleteIdempotencyKey stores the answer of the trigger that claimed key.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, key string, deliveries int) error {
	err := s.webhooks.Update(AttrPK, idemPKPrefix+key).Range(AttrSK, skIdem).
		Set("done", true).Set("deliveries", deliveries).
		If("attribute_exists('pk')").Run(ctx)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}
