package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/guregu/dynamo/v2"
)

// Rate-limit counter items of the webhooks table: one per webhook and
// second in which it was sent to, pk rl#<webhook id>, sk the unix second.
// They expire (TTL) soon after their second; a read never needs them again.
const (
	ratePKPrefix = "rl#"
	attrCount    = "count"
	// rateTTL is how long past its second a counter is kept: TTL deletes it
	// for free, and nothing reads a second that has passed.
	rateTTL = time.Minute
)

func ratePK(webhookID string) string { return ratePKPrefix + webhookID }

// TakeRateSlot takes one of the limit request slots of webhookID in the
// second that holds at: true when one was left (the request may go),
// false when limit requests were already let through in that second. One
// conditional UpdateItem (ADD count 1 if count < limit): atomic across every
// delivery function instance, one write unit whether it is taken or
// refused.
func (s *Store) TakeRateSlot(ctx context.Context, webhookID string, at time.Time, limit int) (bool, error) {
	sec := at.Unix()
	err := s.webhooks.Update(AttrPK, ratePK(webhookID)).Range(AttrSK, strconv.FormatInt(sec, 10)).
		Add(attrCount, 1).
		Set(TTLAttribute, sec+int64(rateTTL/time.Second)).
		If("attribute_not_exists($) OR $ < ?", attrCount, attrCount, limit).
		Run(ctx)
	switch {
	case err == nil:
		return true, nil
	case dynamo.IsCondCheckFailed(err):
		return false, nil
	}
	return false, fmt.Errorf("store: rate slot of %s: %w", webhookID, err)
}
