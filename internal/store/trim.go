package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// DeliveryKeysBeyond returns the keys of the delivery records past the
// newest keep of the whole table, whatever their webhook (deleted ones'
// too), newest first: a delivery id is a UUIDv7 of its event's time, so ids
// order by time across webhooks. It is one Scan of the table, keys only. The
// local stack bounds its table with it (cmd/local, LOCAL_MAX_DELIVERIES):
// its emulator keeps every item in memory and reads every item of the table
// on each Query. In AWS retention is TTL's and the cleanup sweep's, by age,
// and nothing scans the table.
func (s *Store) DeliveryKeysBeyond(ctx context.Context, keep int) ([]DeliveryKey, error) {
	if keep < 0 {
		return nil, fmt.Errorf("store: delivery keys beyond %d: want at least 0", keep)
	}
	var keys []DeliveryKey
	if err := s.deliveries.Scan().Project(AttrWebhookID, AttrID).All(ctx, &keys); err != nil {
		return nil, fmt.Errorf("scan delivery keys: %w", err)
	}
	keys = slices.DeleteFunc(keys, func(k DeliveryKey) bool { return k.WebhookID == CleanupCursorKey })
	if len(keys) <= keep {
		return nil, nil
	}
	slices.SortFunc(keys, func(a, b DeliveryKey) int { return strings.Compare(b.ID, a.ID) })
	return keys[keep:], nil
}
