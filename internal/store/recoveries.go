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

// A bulk recovery is an item of the webhooks table beside its webhook's
// config: pk wh#<webhook id>, sk rcv#<recovery id>. It has no kind, so no
// index lists it, and it expires with the deliveries' retention.
const skRecoveryPrefix = "rcv#"

type recoveryItem struct {
	PK             string     `dynamo:"pk,hash"`
	SK             string     `dynamo:"sk,range"`
	ID             string     `dynamo:"id"`
	WebhookID      string     `dynamo:"webhook_id"`
	Status         string     `dynamo:"status"`
	Since          time.Time  `dynamo:"since"`
	RequestedSince time.Time  `dynamo:"requested_since"`
	Until          time.Time  `dynamo:"until"`
	Cursor         string     `dynamo:"cursor,omitempty"`
	Scanned        int64      `dynamo:"scanned"`
	Queued         int64      `dynamo:"queued"`
	Skipped        int64      `dynamo:"skipped"`
	CreatedAt      time.Time  `dynamo:"created_at"`
	UpdatedAt      time.Time  `dynamo:"updated_at"`
	CompletedAt    *time.Time `dynamo:"completed_at,omitempty"`
	ExpiresAt      time.Time  `dynamo:"expires_at,unixtime"`
}

func (it *recoveryItem) recovery() *webhook.Recovery {
	return &webhook.Recovery{
		ID: it.ID, WebhookID: it.WebhookID, Status: webhook.RecoveryStatus(it.Status),
		Since: it.Since, RequestedSince: it.RequestedSince, Until: it.Until, Cursor: it.Cursor,
		Scanned: it.Scanned, Queued: it.Queued, Skipped: it.Skipped,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, CompletedAt: it.CompletedAt,
	}
}

func recoveryNotFound(id string) error {
	return webhook.Errorf(webhook.ENotFound, "recovery %s not found", id)
}

// CreateRecovery writes a new recovery; an existing one with its id is
// EConflict.
func (s *Store) CreateRecovery(ctx context.Context, r *webhook.Recovery) error {
	it := recoveryItem{
		PK: webhookPK(r.WebhookID), SK: skRecoveryPrefix + r.ID, ID: r.ID, WebhookID: r.WebhookID,
		Status: string(r.Status), Since: r.Since.UTC(), RequestedSince: r.RequestedSince.UTC(), Until: r.Until.UTC(),
		Cursor: r.Cursor, Scanned: r.Scanned, Queued: r.Queued, Skipped: r.Skipped,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), CompletedAt: utcPtr(r.CompletedAt),
		ExpiresAt: r.CreatedAt.Add(s.retention).UTC(),
	}
	err := s.webhooks.Put(it).If("attribute_not_exists(pk)").Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return webhook.Errorf(webhook.EConflict, "recovery %s exists", r.ID)
	} else if err != nil {
		return fmt.Errorf("create recovery %s: %w", r.ID, err)
	}
	return nil
}

// GetRecovery reads a recovery (strongly consistent), or ENotFound.
func (s *Store) GetRecovery(ctx context.Context, webhookID, id string) (*webhook.Recovery, error) {
	if !webhook.ValidID(webhook.WebhookIDPrefix, webhookID) || !webhook.ValidID(webhook.RecoveryIDPrefix, id) {
		return nil, recoveryNotFound(id)
	}
	var it recoveryItem
	err := s.webhooks.Get(AttrPK, webhookPK(webhookID)).Range(AttrSK, dynamo.Equal, skRecoveryPrefix+id).Consistent(true).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) || err == nil && expired(it.ExpiresAt, s.now()) {
		return nil, recoveryNotFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("get recovery %s: %w", id, err)
	}
	return it.recovery(), nil
}

// DeleteRecovery deletes a recovery whose first message could not be sent.
func (s *Store) DeleteRecovery(ctx context.Context, webhookID, id string) error {
	if err := s.webhooks.Delete(AttrPK, webhookPK(webhookID)).Range(AttrSK, skRecoveryPrefix+id).Run(ctx); err != nil {
		return fmt.Errorf("delete recovery %s: %w", id, err)
	}
	return nil
}

// AdvanceRecovery records a finished page of r: its cursor, its counts
// added, and done if it was the last. It writes only if the stored cursor is
// still r.Cursor and the recovery is running; otherwise another processing
// of the same page recorded it first: EConflict, and nothing is counted
// twice. r is updated to the new state.
func (s *Store) AdvanceRecovery(ctx context.Context, r *webhook.Recovery, p webhook.RecoveryPage, now time.Time) error {
	now = now.UTC()
	u := s.webhooks.Update(AttrPK, webhookPK(r.WebhookID)).Range(AttrSK, skRecoveryPrefix+r.ID).
		Add("scanned", p.Scanned).Add("queued", p.Queued).Add("skipped", p.Skipped).
		Set("updated_at", now)
	cursor := r.Cursor
	if p.Cursor != "" {
		cursor = p.Cursor
		u = u.Set("cursor", cursor)
	}
	status := webhook.RecoveryRunning
	if p.Last {
		status = webhook.RecoveryDone
		u = u.Set("status", string(status)).Set("completed_at", now)
	}
	if r.Cursor == "" {
		u = u.If("attribute_not_exists('cursor') AND 'status' = ?", string(webhook.RecoveryRunning))
	} else {
		u = u.If("'cursor' = ? AND 'status' = ?", r.Cursor, string(webhook.RecoveryRunning))
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return webhook.Errorf(webhook.EConflict, "recovery %s moved on meanwhile", r.ID)
	} else if err != nil {
		return fmt.Errorf("advance recovery %s: %w", r.ID, err)
	}
	r.Cursor, r.Status, r.UpdatedAt = cursor, status, now
	r.Scanned, r.Queued, r.Skipped = r.Scanned+p.Scanned, r.Queued+p.Queued, r.Skipped+p.Skipped
	if p.Last {
		r.CompletedAt = &now
	}
	return nil
}

// RecoveryDeliveries returns up to limit deliveries of a webhook whose id's
// time is in [since, until] (milliseconds, both included) and whose id is
// after the cursor "after", in id order, with their kept events; last says
// the window holds no more. It is a query of the deliveries table's own
// key (webhook_id, id): a delivery id starts with its event's time, so the
// window is a range of ids, and no index is needed. Strongly consistent, so
// a delivery that just failed is seen; records past retention are left out.
func (s *Store) RecoveryDeliveries(ctx context.Context, webhookID string, since, until time.Time, after string, limit int) ([]*webhook.Delivery, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("store: recovery deliveries: limit %d", limit)
	}
	lo := idAt(since)
	if after > lo {
		lo = after
	}
	// Every id of until's millisecond sorts below its 12 hex digits + "g".
	hi := idAt(until) + "g"
	var items []deliveryItem
	// One more than asked: a page that is full tells whether more follow,
	// and lo itself (the cursor) is read again and dropped.
	err := s.deliveries.Get(AttrWebhookID, webhookID).Range(AttrID, dynamo.Between, lo, hi).
		Filter(visibleFilter, TTLAttribute, s.now().Unix()).Consistent(true).Limit(limit+2).All(ctx, &items)
	if err != nil {
		return nil, false, fmt.Errorf("recovery deliveries of %s: %w", webhookID, err)
	}
	var out []*webhook.Delivery
	for i := range items {
		if items[i].ID == after || !strings.HasPrefix(items[i].ID, webhook.DeliveryIDPrefix) {
			continue
		}
		if len(out) == limit {
			return out, false, nil
		}
		out = append(out, items[i].delivery())
	}
	return out, true, nil
}

// idAt is the smallest delivery id of t's millisecond.
func idAt(t time.Time) string {
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	return fmt.Sprintf("%s%012x", webhook.DeliveryIDPrefix, ms)
}

// RequeueForRecovery starts a new attempt series of d for recovery rid, as
// RequeueDelivery does, and marks it recovered_by rid: only if it is still
// failed with the attempts d has and rid has not re-queued it before, so a
// page processed twice re-queues each delivery once. A failed condition is
// EConflict. d is updated to the new state.
func (s *Store) RequeueForRecovery(ctx context.Context, d *webhook.Delivery, rid string, now time.Time) error {
	return s.requeue(ctx, d, now, rid)
}

// requeue makes d pending with a new series from its next attempt, if it is
// still failed with len(d.Attempts) attempts (and, for a recovery rid, not
// re-queued by rid yet).
func (s *Store) requeue(ctx context.Context, d *webhook.Delivery, now time.Time, rid string) error {
	if d.Status != webhook.DeliveryFailed {
		return webhook.Errorf(webhook.EConflict, "delivery %s is %s; only a failed delivery can be retried", d.ID, d.Status)
	}
	next := now.UTC()
	u := s.deliveries.Update(AttrWebhookID, d.WebhookID).Range(AttrID, d.ID).
		Set("status", string(webhook.DeliveryPending)).Set("series_start", len(d.Attempts)+1).Set("next_attempt_at", next).
		Remove("completed_at")
	if rid == "" {
		u = u.If("'status' = ? AND size('attempts') = ?", string(webhook.DeliveryFailed), len(d.Attempts))
	} else {
		u = u.Set("recovered_by", rid).
			If("'status' = ? AND size('attempts') = ? AND (attribute_not_exists('recovered_by') OR 'recovered_by' <> ?)",
				string(webhook.DeliveryFailed), len(d.Attempts), rid)
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return webhook.Errorf(webhook.EConflict, "delivery %s changed while it was being retried", d.ID)
	} else if err != nil {
		return fmt.Errorf("requeue delivery %s: %w", d.ID, err)
	}
	d.Status, d.SeriesStart, d.NextAttemptAt, d.CompletedAt = webhook.DeliveryPending, len(d.Attempts)+1, &next, nil
	if rid != "" {
		d.RecoveredBy = rid
	}
	return nil
}

// Retention is how long the store keeps a delivery (WithRetentionDays).
func (s *Store) Retention() time.Duration { return s.retention }
