package fake

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// PutDelivery stores a copy of d as it is: a test's way to set the scene.
func (s *Store) PutDelivery(d *webhook.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries[d.ID] = Copy(d)
}

// CreateRecovery stores a copy of r; an existing id is EConflict.
func (s *Store) CreateRecovery(_ context.Context, r *webhook.Recovery) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	if s.recoveries == nil {
		s.recoveries = map[string]*webhook.Recovery{}
	}
	if _, ok := s.recoveries[r.ID]; ok {
		return webhook.Errorf(webhook.EConflict, "recovery %s exists", r.ID)
	}
	s.recoveries[r.ID] = Copy(r)
	return nil
}

// GetRecovery returns a copy of a webhook's recovery, or ENotFound.
func (s *Store) GetRecovery(_ context.Context, webhookID, id string) (*webhook.Recovery, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return nil, err
	}
	r, ok := s.recoveries[id]
	if !ok || r.WebhookID != webhookID {
		return nil, webhook.Errorf(webhook.ENotFound, "recovery %s not found", id)
	}
	return Copy(r), nil
}

// DeleteRecovery deletes a recovery.
func (s *Store) DeleteRecovery(_ context.Context, _, id string) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	delete(s.recoveries, id)
	return nil
}

// Recoveries returns how many recoveries are stored.
func (s *Store) Recoveries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recoveries)
}

// AdvanceRecovery records a page from r's cursor; a stored cursor that moved
// on, or a recovery not running, is EConflict.
func (s *Store) AdvanceRecovery(_ context.Context, r *webhook.Recovery, p webhook.RecoveryPage, now time.Time) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	cur, ok := s.recoveries[r.ID]
	if !ok || cur.Cursor != r.Cursor || cur.Status != webhook.RecoveryRunning {
		return webhook.Errorf(webhook.EConflict, "recovery %s moved on meanwhile", r.ID)
	}
	if p.Cursor != "" {
		cur.Cursor = p.Cursor
	}
	cur.Scanned, cur.Queued, cur.Skipped = cur.Scanned+p.Scanned, cur.Queued+p.Queued, cur.Skipped+p.Skipped
	cur.UpdatedAt = now.UTC()
	if p.Last {
		cur.Status = webhook.RecoveryDone
		done := now.UTC()
		cur.CompletedAt = &done
	}
	*r = *Copy(cur)
	return nil
}

// RecoveryDeliveries returns up to limit deliveries of the webhook whose
// id's time is in [since, until], after the cursor, in id order.
func (s *Store) RecoveryDeliveries(_ context.Context, webhookID string, since, until time.Time, after string, limit int) ([]*webhook.Delivery, bool, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	var ids []string
	for id, d := range s.deliveries {
		t, ok := webhook.IDTime(webhook.DeliveryIDPrefix, id)
		if d.WebhookID != webhookID || !ok || t.Before(since.Truncate(time.Millisecond)) || t.After(until) || strings.Compare(id, after) <= 0 {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	last := len(ids) <= limit
	if !last {
		ids = ids[:limit]
	}
	out := make([]*webhook.Delivery, len(ids))
	for i, id := range ids {
		out[i] = Copy(s.deliveries[id])
	}
	return out, last, nil
}

// RequeueForRecovery starts a new series of a failed delivery marked with
// rid, once: a delivery not failed with d's attempts, or re-queued by rid
// before, is EConflict.
func (s *Store) RequeueForRecovery(_ context.Context, d *webhook.Delivery, rid string, now time.Time) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	cur, ok := s.deliveries[d.ID]
	if !ok || cur.Status != webhook.DeliveryFailed || len(cur.Attempts) != len(d.Attempts) || cur.RecoveredBy == rid {
		return webhook.Errorf(webhook.EConflict, "delivery %s changed while it was being retried", d.ID)
	}
	next := now.UTC()
	cur.Status, cur.SeriesStart, cur.NextAttemptAt, cur.CompletedAt, cur.RecoveredBy = webhook.DeliveryPending, len(cur.Attempts)+1, &next, nil, rid
	*d = *Copy(cur)
	return nil
}

// SendRecovery keeps a recovery message, or fails with SendErr.
func (q *Queue) SendRecovery(_ context.Context, m queue.RecoveryMessage) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.SendErr != nil {
		return q.SendErr
	}
	q.Recoveries = append(q.Recoveries, m)
	return nil
}
