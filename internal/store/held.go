package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Held deliveries (docs/internals.md, "Hold and drain"). A held delivery is
// its own record, status held, with its event kept; nothing else waits for
// it. One drain item per webhook (wh#<id> / drain) says where the oldest
// held record may be ("from") and which drain message is carrying the
// webhook's held records on ("token", until "lease_ms"): the one message
// per webhook that probes an open circuit and drains after a close or a
// resume.
const skDrain = "drain"

type drainItem struct {
	PK      string `dynamo:"pk,hash"`
	SK      string `dynamo:"sk,range"`
	Token   string `dynamo:"token"`
	LeaseMS int64  `dynamo:"lease_ms"`
	From    string `dynamo:"from"`
	Pass    string `dynamo:"pass"`
}

func (s *Store) drainUpdate(webhookID string) *dynamo.Update {
	return s.webhooks.Update(AttrPK, webhookPK(webhookID)).Range(AttrSK, skDrain)
}

// HoldDelivery parks d (its job's event in EventTime, Data, Metadata) as
// held: a new record when d has no attempt (the job's first), otherwise
// the record of its attempts so far, only if it still holds exactly those
// and is retrying (or pending a new series). EConflict when the record moved on (a duplicate job
// parked or attempted it first). d is updated to the held state.
func (s *Store) HoldDelivery(ctx context.Context, d *webhook.Delivery) error {
	prev := d.Status
	d.Status, d.NextAttemptAt, d.CompletedAt = webhook.DeliveryHeld, nil, nil
	if len(d.Attempts) > 0 {
		d.Uncounted = uncounted(d)
	}
	it := s.toDeliveryItem(d)
	if expired(it.ExpiresAt, s.now()) {
		return webhook.Errorf(webhook.ENotFound, "delivery %s is past its retention of %s", d.ID, s.retention)
	}
	var err error
	if n := len(d.Attempts); n == 0 {
		// Or a released one whose probe lost its claim: held again.
		err = s.deliveries.Put(it).If("attribute_not_exists('id') OR ('status' = ? AND (attribute_not_exists('attempts') OR size('attempts') = ?))", string(webhook.DeliveryPending), 0).Run(ctx)
	} else {
		u := s.deliveries.Update(AttrWebhookID, d.WebhookID).Range(AttrID, d.ID).
			Set("status", string(webhook.DeliveryHeld)).Set("data", it.Data).Set("metadata", it.Metadata).
			Remove("next_attempt_at").
			If("('status' = ? OR 'status' = ?) AND size('attempts') = ?", string(webhook.DeliveryRetrying), string(webhook.DeliveryPending), n)
		if it.EventTime != nil {
			u = u.Set("event_time", *it.EventTime)
		}
		if uncounted(d) {
			u = u.Set("uncounted", true)
		}
		err = u.Run(ctx)
	}
	if dynamo.IsCondCheckFailed(err) {
		d.Status = prev
		return webhook.Errorf(webhook.EConflict, "delivery %s is already held or attempted", d.ID)
	} else if err != nil {
		d.Status = prev
		return fmt.Errorf("hold delivery %s: %w", d.ID, err)
	}
	return s.countHeld(ctx, d, 1)
}

// countHeld adds n to the webhook's count of deliveries held now (the
// stats item's "held"), after the write that parked or released d: one
// more UpdateItem per change, not a transaction, so a function that dies
// between the two leaves the count one off, as does a held record that
// expires with retention (docs/internals.md, "Hold and drain"). Test
// deliveries are not counted, as in the other statistics.
func (s *Store) countHeld(ctx context.Context, d *webhook.Delivery, n int64) error {
	if d.Test {
		return nil
	}
	if err := s.statsUpdate(d.WebhookID).Add("held", n).Run(ctx); err != nil {
		return fmt.Errorf("count held delivery %s: %w", d.ID, err)
	}
	return nil
}

// uncounted reports whether a delivery held with attempts has not been
// counted as ended: its first series, or one that followed a hold already.
// A later series (a manual retry, a recovery) of a failed delivery was.
func uncounted(d *webhook.Delivery) bool { return d.SeriesStart <= 1 || d.Uncounted }

// HeldDeliveries returns up to limit held deliveries of a webhook with ids
// from "from" on (included), in id order, with their events; last says no
// more follow. It queries the webhook's partition by id from there
// (strongly consistent), reading the records between held ones too.
func (s *Store) HeldDeliveries(ctx context.Context, webhookID, from string, limit int) ([]*webhook.Delivery, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("store: held deliveries: limit %d", limit)
	}
	if from == "" {
		from = webhook.DeliveryIDPrefix
	}
	var items []deliveryItem
	err := s.deliveries.Get(AttrWebhookID, webhookID).Range(AttrID, dynamo.Between, from, webhook.DeliveryIDPrefix+"g").
		Filter("'status' = ? AND "+visibleFilter, string(webhook.DeliveryHeld), TTLAttribute, s.now().Unix()).
		Consistent(true).Limit(limit+1).All(ctx, &items)
	if err != nil {
		return nil, false, fmt.Errorf("held deliveries of %s: %w", webhookID, err)
	}
	var out []*webhook.Delivery
	for i := range items {
		if !strings.HasPrefix(items[i].ID, webhook.DeliveryIDPrefix) {
			continue
		}
		if len(out) == limit {
			return out, false, nil
		}
		out = append(out, items[i].delivery())
	}
	return out, true, nil
}

// ReleaseHeld makes a held delivery pending with a new attempt series from
// its next attempt, only if it is still held with the attempts d has: a
// drain page processed twice releases each delivery once. A failed
// condition is EConflict. d is updated to the new state (its event kept,
// for the job).
func (s *Store) ReleaseHeld(ctx context.Context, d *webhook.Delivery, now time.Time) error {
	next := now.UTC()
	u := s.deliveries.Update(AttrWebhookID, d.WebhookID).Range(AttrID, d.ID).
		Set("status", string(webhook.DeliveryPending)).Set("series_start", len(d.Attempts)+1).Set("next_attempt_at", next)
	if len(d.Attempts) == 0 {
		u = u.If("'status' = ? AND (attribute_not_exists('attempts') OR size('attempts') = ?)", string(webhook.DeliveryHeld), 0)
	} else {
		u = u.If("'status' = ? AND size('attempts') = ?", string(webhook.DeliveryHeld), len(d.Attempts))
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return webhook.Errorf(webhook.EConflict, "delivery %s is no longer held", d.ID)
	} else if err != nil {
		return fmt.Errorf("release held delivery %s: %w", d.ID, err)
	}
	d.Status, d.SeriesStart, d.NextAttemptAt = webhook.DeliveryPending, len(d.Attempts)+1, &next
	return s.countHeld(ctx, d, -1)
}

// RestoreHeld makes a released delivery held again, only if it is still
// pending with no attempt of its new series (its job could not be sent).
func (s *Store) RestoreHeld(ctx context.Context, d *webhook.Delivery) error {
	u := s.deliveries.Update(AttrWebhookID, d.WebhookID).Range(AttrID, d.ID).
		Set("status", string(webhook.DeliveryHeld)).Remove("next_attempt_at")
	if len(d.Attempts) == 0 {
		u = u.If("'status' = ? AND (attribute_not_exists('attempts') OR size('attempts') = ?)", string(webhook.DeliveryPending), 0)
	} else {
		u = u.If("'status' = ? AND size('attempts') = ?", string(webhook.DeliveryPending), len(d.Attempts))
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("hold delivery %s again: %w", d.ID, err)
	}
	return s.countHeld(ctx, d, 1)
}

// GetDrain reads a webhook's drain item (strongly consistent); the zero
// Drain when there is none.
func (s *Store) GetDrain(ctx context.Context, webhookID string) (webhook.Drain, error) {
	var it drainItem
	err := s.webhooks.Get(AttrPK, webhookPK(webhookID)).Range(AttrSK, dynamo.Equal, skDrain).Consistent(true).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return webhook.Drain{}, nil
	} else if err != nil {
		return webhook.Drain{}, fmt.Errorf("get drain of %s: %w", webhookID, err)
	}
	d := webhook.Drain{Token: it.Token, From: it.From, Pass: it.Pass}
	if it.LeaseMS > 0 {
		d.Lease = time.UnixMilli(it.LeaseMS).UTC()
	}
	return d, nil
}

// LowerDrainFrom records that a held record has id: "from" becomes id if
// it is unset or higher. Nothing to lower is no error.
func (s *Store) LowerDrainFrom(ctx context.Context, webhookID, id string) error {
	err := s.drainUpdate(webhookID).Set("from", id).If("attribute_not_exists('from') OR 'from' > ?", id).Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("record held delivery %s in the drain of %s: %w", id, webhookID, err)
	}
	return nil
}

// ClaimDrain makes token the webhook's drain until lease: when no drain
// holds it, its lease ran out, or force (a resume or a closed circuit takes
// over: the message carrying the old token then stops). ok is false when
// another drain holds it.
func (s *Store) ClaimDrain(ctx context.Context, webhookID, token string, now, lease time.Time, force bool) (bool, error) {
	u := s.drainUpdate(webhookID).Set("token", token).Set("lease_ms", lease.UnixMilli())
	if !force {
		u = u.If("attribute_not_exists('token') OR 'lease_ms' < ? OR 'token' = ?", now.UnixMilli(), token)
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("claim drain of %s: %w", webhookID, err)
	}
	return true, nil
}

// AdvanceDrain moves "from" past a drained page (to next; "" removes it),
// only while token holds the drain and "from" is still was: a held record
// recorded below meanwhile (LowerDrainFrom) keeps it, and the drain reads
// from there again. The first move of a pass keeps where the pass began
// ("pass"), so its end can look once more behind it. ok is false when the
// condition failed.
func (s *Store) AdvanceDrain(ctx context.Context, webhookID, token, was, next string) (bool, error) {
	u := s.drainUpdate(webhookID)
	if next == "" {
		u = u.Remove("from")
	} else {
		u = u.Set("from", next)
	}
	if was == "" {
		u = u.If("'token' = ? AND attribute_not_exists('from')", token)
	} else {
		u = u.SetExpr("'pass' = if_not_exists('pass', ?)", was).If("'token' = ? AND 'from' = ?", token, was)
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("advance drain of %s: %w", webhookID, err)
	}
	return true, nil
}

// EndDrain deletes the drain item, only while token holds it and no held
// record was recorded since ("from" unset). ok is false otherwise: the
// drain carries on.
func (s *Store) EndDrain(ctx context.Context, webhookID, token string) (bool, error) {
	err := s.webhooks.Delete(AttrPK, webhookPK(webhookID)).Range(AttrSK, skDrain).
		If("'token' = ? AND attribute_not_exists('from')", token).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("end drain of %s: %w", webhookID, err)
	}
	return true, nil
}
