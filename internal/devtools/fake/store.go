// Package fake holds the hand-written, stateful in-memory stand-ins that
// tests of several packages share: one per interface the service consumes
// (a store, a credential sealer, a job queue, a clock). Each keeps the
// semantics of the real implementation that tests rely on, and counts what
// it was asked, so a test can check that something did or did not happen.
package fake

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Store is an in-memory store of webhooks, their statistics and their
// deliveries with internal/store's semantics: a created webhook is at
// version 1 and each update moves it on, an update from a stale version is
// EConflict, a missing webhook or delivery ENotFound; a delivery's attempt
// is saved once (a second save of it is EConflict); plaintext credentials
// are never kept. What goes in and what comes out are copies, as with a real
// store.
type Store struct {
	// ReadDelay is how long a webhook read takes to answer, so that
	// concurrent callers overlap it (and race one another) as they would on
	// a real store.
	ReadDelay time.Duration

	mu          sync.Mutex
	webhooks    map[string]*webhook.Webhook
	stats       map[string]webhook.Stats
	deliveries  map[string]*webhook.Delivery
	deactivated []string
	recoveries  map[string]*webhook.Recovery // recovery.go
	drains      map[string]*webhook.Drain    // held.go
	released    int
	calls       int
	reads       int
	saves       int
	err         error
}

// NewStore returns a store holding copies of ws, as they are.
func NewStore(ws ...*webhook.Webhook) *Store {
	s := &Store{
		webhooks:   map[string]*webhook.Webhook{},
		stats:      map[string]webhook.Stats{},
		deliveries: map[string]*webhook.Delivery{},
	}
	for _, w := range ws {
		s.Put(w)
	}
	return s
}

// Put stores a copy of w as it is (version included), replacing any webhook
// with its id: a test's way to set the scene.
func (s *Store) Put(w *webhook.Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhooks[w.ID] = stored(w)
}

// Fail makes every later call return err (nil: succeed again).
func (s *Store) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// SetStats sets a webhook's statistics.
func (s *Store) SetStats(id string, st webhook.Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats[id] = st
}

func stored(w *webhook.Webhook) *webhook.Webhook {
	c := Copy(w)
	c.Credentials = nil // the real store has no field for plaintext credentials
	if c.Previous != nil {
		c.Previous.Secret = ""
	}
	return c
}

// enter locks the store and counts the call; the caller unlocks.
func (s *Store) enter() error {
	s.mu.Lock()
	s.calls++
	return s.err
}

// CreateWebhook stores w at version 1; an existing id is EConflict.
func (s *Store) CreateWebhook(_ context.Context, w *webhook.Webhook) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	if _, ok := s.webhooks[w.ID]; ok {
		return webhook.Errorf(webhook.EConflict, "webhook %s already exists", w.ID)
	}
	w.Version = 1
	s.webhooks[w.ID] = stored(w)
	return nil
}

// GetWebhook returns a copy of the webhook with id, or ENotFound. The copy
// is taken at once and returned after ReadDelay, so others may write in
// between.
func (s *Store) GetWebhook(_ context.Context, id string) (*webhook.Webhook, error) {
	w, err := s.getWebhook(id)
	if s.ReadDelay > 0 {
		time.Sleep(s.ReadDelay)
	}
	return w, err
}

func (s *Store) getWebhook(id string) (*webhook.Webhook, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return nil, err
	}
	s.reads++
	w, ok := s.webhooks[id]
	if !ok {
		return nil, notFound(id)
	}
	return Copy(w), nil
}

// ListWebhooks pages through the webhooks in id order. Its cursors are its
// own ("c<offset>"); any other is EInvalid "cursor".
func (s *Store) ListWebhooks(_ context.Context, f webhook.ListFilter) (webhook.Page[*webhook.Webhook], error) {
	defer s.mu.Unlock()
	var page webhook.Page[*webhook.Webhook]
	if err := s.enter(); err != nil {
		return page, err
	}
	start := 0
	if f.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(f.Cursor, "c"))
		if err != nil || n < 0 || !strings.HasPrefix(f.Cursor, "c") {
			return page, webhook.Invalid("cursor", "cursor is malformed")
		}
		start = n
	}
	var match []*webhook.Webhook
	for _, id := range slices.Sorted(maps.Keys(s.webhooks)) {
		w := s.webhooks[id]
		if (f.Status == "" || w.Status == f.Status) && (f.Event == "" || w.Subscribes(f.Event)) {
			match = append(match, Copy(w))
		}
	}
	start = min(start, len(match))
	end := min(start+f.Limit, len(match))
	page.Items = match[start:end]
	if end < len(match) {
		page.NextCursor = fmt.Sprintf("c%d", end)
	}
	return page, nil
}

// UpdateWebhook replaces a webhook read at w.Version and moves w.Version on;
// a stale version is EConflict.
func (s *Store) UpdateWebhook(_ context.Context, w *webhook.Webhook) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	cur, ok := s.webhooks[w.ID]
	if !ok {
		return notFound(w.ID)
	}
	if cur.Version != w.Version {
		return webhook.Errorf(webhook.EConflict, "webhook %s was changed since it was read (stale version)", w.ID)
	}
	w.Version++
	s.webhooks[w.ID] = stored(w)
	return nil
}

// DeleteWebhook removes a webhook and its statistics (its deliveries stay).
func (s *Store) DeleteWebhook(_ context.Context, id string) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	if _, ok := s.webhooks[id]; !ok {
		return notFound(id)
	}
	delete(s.webhooks, id)
	delete(s.stats, id)
	return nil
}

// DeactivateWebhook makes a webhook inactive (a new version, status_reason
// gone) and records that it was asked to.
func (s *Store) DeactivateWebhook(ctx context.Context, id string) (bool, error) {
	return s.DisableWebhook(ctx, id, webhook.ReasonGone)
}

// DisableWebhook makes a webhook inactive for reason (a new version) and
// records that it was asked to; already inactive is no change (changed
// false).
func (s *Store) DisableWebhook(_ context.Context, id string, reason webhook.StatusReason) (bool, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return false, err
	}
	s.deactivated = append(s.deactivated, id)
	w, ok := s.webhooks[id]
	if !ok {
		return false, notFound(id)
	}
	if w.Status == webhook.StatusInactive {
		return false, nil
	}
	w.Status, w.StatusReason = webhook.StatusInactive, reason
	w.Version++
	return true, nil
}

// GetStats returns a webhook's statistics; zero when none were recorded.
func (s *Store) GetStats(_ context.Context, id string) (webhook.Stats, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return webhook.Stats{}, err
	}
	return s.stats[id], nil
}

// GetStatsSince returns a webhook's statistics with only the hours from
// since on, as the real store reads a window.
func (s *Store) GetStatsSince(_ context.Context, id string, since time.Time) (webhook.Stats, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return webhook.Stats{}, err
	}
	st := s.stats[id]
	var hours []webhook.HourStats
	for _, h := range st.Hours {
		if !h.Start.Before(since) {
			hours = append(hours, h)
		}
	}
	st.Hours = hours
	return st, nil
}

// GetDelivery returns a copy of a webhook's delivery, or ENotFound.
func (s *Store) GetDelivery(_ context.Context, webhookID, id string) (*webhook.Delivery, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return nil, err
	}
	d, ok := s.deliveries[id]
	if !ok || d.WebhookID != webhookID {
		return nil, deliveryNotFound(id)
	}
	return Copy(d), nil
}

// SaveAttempt records d with its newest attempt, which must follow the
// recorded ones: an attempt already recorded is EConflict.
func (s *Store) SaveAttempt(_ context.Context, d *webhook.Delivery) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	s.saves++
	recorded := 0
	if prev, ok := s.deliveries[d.ID]; ok {
		recorded = len(prev.Attempts)
		if prev.Status == webhook.DeliveryHeld {
			// Held: only a drain's release makes it attemptable.
			return webhook.Errorf(webhook.EConflict, "delivery %s is held", d.ID)
		}
	}
	if recorded != len(d.Attempts)-1 {
		return webhook.Errorf(webhook.EConflict, "attempt %d of delivery %s is already recorded", len(d.Attempts), d.ID)
	}
	s.deliveries[d.ID] = Copy(d)
	return nil
}

// RequeueDelivery makes a failed delivery pending again, its next attempt
// starting a new series; EConflict unless it is failed.
func (s *Store) RequeueDelivery(_ context.Context, webhookID, id string, now time.Time) (*webhook.Delivery, error) {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return nil, err
	}
	d, ok := s.deliveries[id]
	if !ok || d.WebhookID != webhookID {
		return nil, deliveryNotFound(id)
	}
	if d.Status != webhook.DeliveryFailed {
		return nil, webhook.Errorf(webhook.EConflict, "delivery %s is %s; only a failed delivery can be retried", id, d.Status)
	}
	next := now.UTC()
	d.Status, d.SeriesStart, d.NextAttemptAt, d.CompletedAt = webhook.DeliveryPending, len(d.Attempts)+1, &next, nil
	return Copy(d), nil
}

// UndoRequeue puts a requeued delivery back to failed, if it is still
// pending with no attempt since.
func (s *Store) UndoRequeue(_ context.Context, d *webhook.Delivery, completedAt time.Time) error {
	defer s.mu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	cur, ok := s.deliveries[d.ID]
	if ok && cur.Status == webhook.DeliveryPending && len(cur.Attempts) == len(d.Attempts) {
		done := completedAt.UTC()
		cur.Status, cur.CompletedAt, cur.NextAttemptAt = webhook.DeliveryFailed, &done, nil
	}
	return nil
}

// Webhook returns a copy of the stored webhook with id, or nil.
func (s *Store) Webhook(id string) *webhook.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.webhooks[id]; ok {
		return Copy(w)
	}
	return nil
}

// Delivery returns the stored delivery with id; the zero Delivery if there
// is none.
func (s *Store) Delivery(id string) webhook.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.deliveries[id]; ok {
		return *Copy(d)
	}
	return webhook.Delivery{}
}

// Len returns how many webhooks are stored.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.webhooks)
}

// Deliveries returns how many deliveries are stored.
func (s *Store) Deliveries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.deliveries)
}

// Deactivated returns the ids DeactivateWebhook was called with, in order.
func (s *Store) Deactivated() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deactivated)
}

// Calls returns how many calls of the store's interfaces were made.
func (s *Store) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// WebhookReads returns how many GetWebhook calls were made.
func (s *Store) WebhookReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// Saves returns how many SaveAttempt calls were made.
func (s *Store) Saves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// Snapshot is every stored webhook and delivery as JSON lines, in id order:
// what a test compares to show that a refused request changed nothing.
func (s *Store) Snapshot() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(s.webhooks)) {
		j, _ := json.Marshal(s.webhooks[id])
		b.Write(j)
		b.WriteByte('\n')
	}
	for _, id := range slices.Sorted(maps.Keys(s.deliveries)) {
		j, _ := json.Marshal(s.deliveries[id])
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func notFound(id string) error {
	return webhook.Errorf(webhook.ENotFound, "webhook %s not found", id)
}

func deliveryNotFound(id string) error {
	return webhook.Errorf(webhook.ENotFound, "delivery %s not found", id)
}
