package fake

import (
	"context"
	"slices"
	"time"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Held deliveries and drains (delivery.HeldStore) on the Store's records,
// with internal/store's conditions: a delivery is held once, released once;
// the drain's claim, advance and end hold only for the token in charge.

// HoldDelivery parks d as held (see store.HoldDelivery).
func (s *Store) HoldDelivery(_ context.Context, d *webhook.Delivery) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	cur, ok := s.deliveries[d.ID]
	switch {
	case len(d.Attempts) == 0 && ok && !(cur.Status == webhook.DeliveryPending && len(cur.Attempts) == 0):
		return webhook.Errorf(webhook.EConflict, "delivery %s exists", d.ID)
	case len(d.Attempts) > 0 && (!ok || len(cur.Attempts) != len(d.Attempts) ||
		cur.Status != webhook.DeliveryRetrying && cur.Status != webhook.DeliveryPending):
		return webhook.Errorf(webhook.EConflict, "delivery %s moved on", d.ID)
	}
	d.Status, d.NextAttemptAt, d.CompletedAt = webhook.DeliveryHeld, nil, nil
	if len(d.Attempts) > 0 {
		d.Uncounted = d.SeriesStart <= 1 || d.Uncounted
	}
	s.deliveries[d.ID] = Copy(d)
	return nil
}

// HeldDeliveries answers held deliveries of a webhook from id "from" on.
func (s *Store) HeldDeliveries(_ context.Context, webhookID, from string, limit int) ([]*webhook.Delivery, bool, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	var ids []string
	for id, d := range s.deliveries {
		if d.WebhookID == webhookID && d.Status == webhook.DeliveryHeld && id >= from {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []*webhook.Delivery
	for _, id := range ids {
		if len(out) == limit {
			return out, false, nil
		}
		out = append(out, Copy(s.deliveries[id]))
	}
	return out, true, nil
}

// ReleaseHeld makes a held delivery pending, once.
func (s *Store) ReleaseHeld(_ context.Context, d *webhook.Delivery, now time.Time) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	cur, ok := s.deliveries[d.ID]
	if !ok || cur.Status != webhook.DeliveryHeld || len(cur.Attempts) != len(d.Attempts) {
		return webhook.Errorf(webhook.EConflict, "delivery %s is no longer held", d.ID)
	}
	next := now.UTC()
	cur.Status, cur.SeriesStart, cur.NextAttemptAt = webhook.DeliveryPending, len(cur.Attempts)+1, &next
	d.Status, d.SeriesStart, d.NextAttemptAt = cur.Status, cur.SeriesStart, &next
	s.released++
	return nil
}

// RestoreHeld holds a released delivery again if nothing was attempted.
func (s *Store) RestoreHeld(_ context.Context, d *webhook.Delivery) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	if cur, ok := s.deliveries[d.ID]; ok && cur.Status == webhook.DeliveryPending && len(cur.Attempts) == len(d.Attempts) {
		cur.Status, cur.NextAttemptAt = webhook.DeliveryHeld, nil
	}
	return nil
}

// GetDrain answers a webhook's drain.
func (s *Store) GetDrain(_ context.Context, webhookID string) (webhook.Drain, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return webhook.Drain{}, err
	}
	if d, ok := s.drains[webhookID]; ok {
		return *d, nil
	}
	return webhook.Drain{}, nil
}

func (s *Store) drain(id string) *webhook.Drain {
	if s.drains == nil {
		s.drains = map[string]*webhook.Drain{}
	}
	if s.drains[id] == nil {
		s.drains[id] = &webhook.Drain{}
	}
	return s.drains[id]
}

// LowerDrainFrom makes "from" id if unset or higher.
func (s *Store) LowerDrainFrom(_ context.Context, webhookID, id string) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	if d := s.drain(webhookID); d.From == "" || d.From > id {
		d.From = id
	}
	return nil
}

// ClaimDrain makes token the drain's, if free, lapsed, its own, or force.
func (s *Store) ClaimDrain(_ context.Context, webhookID, token string, now, lease time.Time, force bool) (bool, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return false, err
	}
	d := s.drain(webhookID)
	if !force && d.Token != "" && d.Token != token && !d.Lease.Before(now) {
		return false, nil
	}
	d.Token, d.Lease = token, lease.UTC()
	return true, nil
}

// AdvanceDrain moves "from" on while token holds the drain and from is was.
func (s *Store) AdvanceDrain(_ context.Context, webhookID, token, was, next string) (bool, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return false, err
	}
	d := s.drain(webhookID)
	if d.Token != token || d.From != was {
		return false, nil
	}
	if was != "" && d.Pass == "" {
		d.Pass = was
	}
	d.From = next
	return true, nil
}

// EndDrain forgets the drain while token holds it and from is unset.
func (s *Store) EndDrain(_ context.Context, webhookID, token string) (bool, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return false, err
	}
	d := s.drain(webhookID)
	if d.Token != token || d.From != "" {
		return false, nil
	}
	delete(s.drains, webhookID)
	return true, nil
}

// Drain is a webhook's drain as it stands (zero when none).
func (s *Store) Drain(webhookID string) webhook.Drain {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.drains[webhookID]; ok {
		return *d
	}
	return webhook.Drain{}
}

// Released counts the held deliveries released so far.
func (s *Store) Released() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.released
}

// SendDrain keeps a drain message and its delay.
func (q *Queue) SendDrain(_ context.Context, m queue.DrainMessage, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.SendErr != nil {
		return q.SendErr
	}
	q.DrainMsgs = append(q.DrainMsgs, m)
	q.DrainDelays = append(q.DrainDelays, delay)
	return nil
}

// TakeDrains returns and forgets the drain messages sent so far.
func (q *Queue) TakeDrains() []queue.DrainMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.DrainMsgs
	q.DrainMsgs, q.DrainDelays = nil, nil
	return out
}

// TakeJobs returns and forgets the jobs sent so far.
func (q *Queue) TakeJobs() []queue.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.Sent
	q.Sent, q.Delays = nil, nil
	return out
}
