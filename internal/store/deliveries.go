package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// deliveryItem is a delivery record in the deliveries table. Attribute names
// of the attempts are short because DynamoDB bills writes per KB of item,
// names included, and every retry rewrites the whole list.
type deliveryItem struct {
	WebhookID     string        `dynamo:"webhook_id,hash"`
	ID            string        `dynamo:"id,range"`
	EventID       string        `dynamo:"event_id,omitempty"`
	Event         string        `dynamo:"event"`
	Status        string        `dynamo:"status"`
	Test          bool          `dynamo:"test,omitempty"`
	Attempts      []attemptItem `dynamo:"attempts"`
	SeriesStart   int           `dynamo:"series_start"`
	NextAttemptAt *time.Time    `dynamo:"next_attempt_at,omitempty"`
	CreatedAt     time.Time     `dynamo:"created_at"`
	CompletedAt   *time.Time    `dynamo:"completed_at,omitempty"`
	ExpiresAt     time.Time     `dynamo:"expires_at,unixtime"`
	// The event, kept only while the delivery is failed (for a manual retry).
	EventTime *time.Time `dynamo:"event_time,omitempty"`
	Data      string     `dynamo:"data,omitempty"`
	Metadata  string     `dynamo:"metadata,omitempty"`
	// The bulk recovery that last re-queued it (recoveries.go).
	RecoveredBy string `dynamo:"recovered_by,omitempty"`
	// A series after a hold of a delivery that had not ended (held.go).
	Uncounted bool `dynamo:"uncounted,omitempty"`
}

type attemptItem struct {
	N         int       `dynamo:"n"`
	StartedAt time.Time `dynamo:"at"`
	Code      int       `dynamo:"code,omitempty"`
	MS        int64     `dynamo:"ms"`
	Err       string    `dynamo:"err,omitempty"`
	Body      string    `dynamo:"body,omitempty"`
	// Timings, absent when no phase was measured (and on attempts recorded
	// before they were).
	T *timingsItem `dynamo:"t,omitempty"`
}

// timingsItem is an attempt's split timings, short names: a record holds
// up to 20 attempts and DynamoDB bills per KB.
type timingsItem struct {
	DNS  *float64 `dynamo:"dns,omitempty"`
	Conn *float64 `dynamo:"conn,omitempty"`
	TLS  *float64 `dynamo:"tls,omitempty"`
	FB   *float64 `dynamo:"fb,omitempty"`
}

func toAttemptItem(a webhook.Attempt) attemptItem {
	it := attemptItem{N: a.Attempt, StartedAt: a.StartedAt.UTC(), Code: a.StatusCode, MS: a.DurationMS, Err: a.Error, Body: a.ResponseBody}
	if t := a.Timings; t != (webhook.Timings{}) {
		it.T = &timingsItem{DNS: t.DNSMS, Conn: t.ConnectMS, TLS: t.TLSMS, FB: t.FirstByteMS}
	}
	return it
}

func (it attemptItem) attempt() webhook.Attempt {
	a := webhook.Attempt{Attempt: it.N, StartedAt: it.StartedAt, StatusCode: it.Code, DurationMS: it.MS, Error: it.Err, ResponseBody: it.Body}
	if it.T != nil {
		a.Timings = webhook.Timings{DNSMS: it.T.DNS, ConnectMS: it.T.Conn, TLSMS: it.T.TLS, FirstByteMS: it.T.FB}
	}
	return a
}

func (s *Store) toDeliveryItem(d *webhook.Delivery) deliveryItem {
	it := deliveryItem{
		WebhookID: d.WebhookID, ID: d.ID,
		EventID: d.EventID, Event: d.Event, Status: string(d.Status), Test: d.Test,
		SeriesStart: max(d.SeriesStart, 1), NextAttemptAt: utcPtr(d.NextAttemptAt),
		CreatedAt: d.CreatedAt.UTC(), CompletedAt: utcPtr(d.CompletedAt),
		ExpiresAt: expiresAt(d, s.retention),
		Data:      string(d.Data), Metadata: string(d.Metadata),
		RecoveredBy: d.RecoveredBy, Uncounted: d.Uncounted,
	}
	if !d.EventTime.IsZero() {
		t := d.EventTime.UTC()
		it.EventTime = &t
	}
	for _, a := range d.Attempts {
		it.Attempts = append(it.Attempts, toAttemptItem(a))
	}
	return it
}

func (it *deliveryItem) delivery() *webhook.Delivery {
	d := &webhook.Delivery{
		ID: it.ID, WebhookID: it.WebhookID, EventID: it.EventID, Event: it.Event,
		Status: webhook.DeliveryStatus(it.Status), Test: it.Test, SeriesStart: max(it.SeriesStart, 1),
		NextAttemptAt: it.NextAttemptAt, CreatedAt: it.CreatedAt, CompletedAt: it.CompletedAt,
		Attempts:    make([]webhook.Attempt, len(it.Attempts)),
		RecoveredBy: it.RecoveredBy, Uncounted: it.Uncounted,
	}
	if it.EventTime != nil {
		d.EventTime = *it.EventTime
	}
	if it.Data != "" {
		d.Data = json.RawMessage(it.Data)
	}
	if it.Metadata != "" {
		d.Metadata = json.RawMessage(it.Metadata)
	}
	for i, a := range it.Attempts {
		d.Attempts[i] = a.attempt()
	}
	return d
}

// expiresAt is the delivery's TTL: retention after it was created (its
// trigger), or after the time its id names (a UUIDv7 of the event's time)
// if that is later, rounded up to the second TTL counts in. Never before the
// id's time plus retention, so the cleanup sweep may select expired records
// by a key condition on id (internal/cleanup).
func expiresAt(d *webhook.Delivery, retention time.Duration) time.Time {
	t := d.CreatedAt
	if idt, ok := webhook.IDTime(webhook.DeliveryIDPrefix, d.ID); ok && idt.After(t) {
		t = idt
	}
	t = t.Add(retention).UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func deliveryNotFound(id string) error {
	return webhook.Errorf(webhook.ENotFound, "delivery %s not found", id)
}

// SaveAttempt records d with its newest attempt (the last of d.Attempts),
// writing the whole record: on the first attempt only if no record exists,
// on a later one only if the record holds exactly the attempts before it.
// Either condition failing means a duplicate job recorded the attempt
// already: EConflict. (A put costs what an update would: DynamoDB bills the
// larger of the old and new item either way.)
//
// A delivery past its retention is ENotFound, without a call: it could
// never be shown, and TTL or the sweep may already have deleted it (a write
// would bring it back until TTL deletes it again).
func (s *Store) SaveAttempt(ctx context.Context, d *webhook.Delivery) error {
	n := len(d.Attempts)
	if n == 0 {
		return fmt.Errorf("store: save delivery %s: no attempt to save", d.ID)
	}
	it := s.toDeliveryItem(d)
	if expired(it.ExpiresAt, s.now()) {
		return webhook.Errorf(webhook.ENotFound, "delivery %s is past its retention of %s", d.ID, s.retention)
	}
	put := s.deliveries.Put(it)
	if n == 1 {
		// Or a drained held record that had no attempt yet (held.go).
		put = put.If("attribute_not_exists('id') OR ('status' = ? AND (attribute_not_exists('attempts') OR size('attempts') = ?))", string(webhook.DeliveryPending), 0)
	} else {
		put = put.If("size('attempts') = ?", n-1)
	}
	err := put.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return webhook.Errorf(webhook.EConflict, "attempt %d of delivery %s is already recorded", d.Attempts[n-1].Attempt, d.ID)
	} else if err != nil {
		return fmt.Errorf("save attempt %d of delivery %s: %w", d.Attempts[n-1].Attempt, d.ID, err)
	}
	return nil
}

// GetDelivery returns one delivery of a webhook with all its attempts
// (strongly consistent), or ENotFound. A delivery past its retention is
// ENotFound, whether or not TTL has deleted it yet.
func (s *Store) GetDelivery(ctx context.Context, webhookID, id string) (*webhook.Delivery, error) {
	if !webhook.ValidID(webhook.WebhookIDPrefix, webhookID) || !webhook.ValidID(webhook.DeliveryIDPrefix, id) {
		return nil, deliveryNotFound(id)
	}
	var it deliveryItem
	err := s.deliveries.Get(AttrWebhookID, webhookID).Range(AttrID, dynamo.Equal, id).Consistent(true).One(ctx, &it)
	if errors.Is(err, dynamo.ErrNotFound) {
		return nil, deliveryNotFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("get delivery %s: %w", id, err)
	}
	if expired(it.ExpiresAt, s.now()) {
		return nil, deliveryNotFound(id) // TTL just has not deleted it yet
	}
	return it.delivery(), nil
}

// ListDeliveries returns one page of a webhook's deliveries, newest first,
// optionally of one status. It queries the webhook's partition only; limits
// and cursors behave as in ListWebhooks. Deliveries past their retention are
// not shown (a filter: they are read, at the end of the listing, only until
// TTL or the sweep deletes them; no key condition on id can exclude them,
// since an id carries the producer's event time, which may be older than
// the retention while the delivery was triggered today).
func (s *Store) ListDeliveries(ctx context.Context, webhookID string, f webhook.DeliveryFilter) (webhook.Page[*webhook.Delivery], error) {
	var page webhook.Page[*webhook.Delivery]
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return page, err
	}
	if f.Status != "" && !webhook.KnownDeliveryStatus(f.Status) {
		return page, webhook.Invalid("status", "status must be pending, retrying, held, succeeded or failed")
	}
	filter := fingerprint("deliveries", webhookID, string(f.Status))
	before, err := decodeCursor(f.Cursor, filter, webhook.DeliveryIDPrefix)
	if err != nil {
		return page, err
	}
	if !webhook.ValidID(webhook.WebhookIDPrefix, webhookID) {
		return page, nil
	}
	q := s.deliveries.Get(AttrWebhookID, webhookID).Order(dynamo.Descending).Limit(limit+1).
		Filter(visibleFilter, TTLAttribute, s.now().Unix())
	if before != "" {
		q = q.Range(AttrID, dynamo.Less, before)
	}
	if f.Status != "" {
		q = q.Filter("'status' = ?", string(f.Status))
	}
	var items []deliveryItem
	if err := q.All(ctx, &items); err != nil {
		return page, fmt.Errorf("list deliveries of %s: %w", webhookID, err)
	}
	if len(items) > limit {
		items = items[:limit]
		page.NextCursor = encodeCursor(filter, items[limit-1].ID)
	}
	for i := range items {
		page.Items = append(page.Items, items[i].delivery())
	}
	return page, nil
}

// pageLimit is the page size of a listing's Limit: 0 asks for the default.
func pageLimit(n int) (int, error) {
	if n == 0 {
		return webhook.DefaultListLimit, nil
	}
	return webhook.CheckListLimit(n)
}

// RequeueDelivery starts a new attempt series of a failed delivery: status
// pending, the series starting at the next attempt. It returns the delivery
// with its kept event, to send again. A delivery that is not failed is
// EConflict.
func (s *Store) RequeueDelivery(ctx context.Context, webhookID, id string, now time.Time) (*webhook.Delivery, error) {
	d, err := s.GetDelivery(ctx, webhookID, id)
	if err != nil {
		return nil, err
	}
	if err := s.requeue(ctx, d, now, ""); err != nil {
		return nil, err
	}
	return d, nil
}

// UndoRequeue puts a delivery that RequeueDelivery made pending back to
// failed, when its job could not be sent. It does nothing if an attempt was
// recorded since.
func (s *Store) UndoRequeue(ctx context.Context, d *webhook.Delivery, completedAt time.Time) error {
	err := s.deliveries.Update(AttrWebhookID, d.WebhookID).Range(AttrID, d.ID).
		Set("status", string(webhook.DeliveryFailed)).Set("completed_at", completedAt.UTC()).
		Remove("next_attempt_at").
		If("'status' = ? AND size('attempts') = ?", string(webhook.DeliveryPending), len(d.Attempts)).
		Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("undo requeue of delivery %s: %w", d.ID, err)
	}
	return nil
}

// AddStats adds d to a webhook's counters and to its hour's bucket in one
// update (ADD is atomic, so concurrent batches never lose each other's
// counts). The bucket's slot decides the update's form (buckets.go): when
// its condition fails, another writer moved the slot on and another form is
// sent. The first update of an hour also puts the hours it found as items
// of their own: a second request once per webhook and hour.
func (s *Store) AddStats(ctx context.Context, webhookID string, d webhook.StatsDelta) error {
	if !webhook.ValidID(webhook.WebhookIDPrefix, webhookID) {
		return notFound(webhookID)
	}
	var (
		err  error
		old  dynamo.Item
		mode bucketMode
	)
	hour, modes := hourNumber(d.Hour.Start), []bucketMode{bucketSkip}
	if !d.Hour.Start.IsZero() {
		modes = s.hours.modes(webhookID, hour)
	}
	for _, mode = range modes {
		u := s.statsUpdate(webhookID).
			Add("total_deliveries", d.Succeeded+d.Failed).
			Add("successful", d.Succeeded).
			Add("failed", d.Failed).
			Add("attempts", d.Attempts).
			Add("total_response_ms", d.TotalResponseMS)
		for path, t := range map[string]time.Time{"last_delivery_at": d.LastDeliveryAt, "last_success_at": d.LastSuccessAt, "last_failure_at": d.LastFailureAt} {
			if !t.IsZero() {
				u = u.Set(path, t.UTC())
			}
		}
		u = withBucket(u, &d.Hour, mode)
		if mode == bucketReset {
			err = u.OldValue(ctx, &old)
			if errors.Is(err, dynamo.ErrNotFound) {
				err = nil // the item's first write: no hour finished
			}
		} else {
			err = u.Run(ctx)
		}
		if !dynamo.IsCondCheckFailed(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("add stats of %s: %w", webhookID, err)
	}
	if mode != bucketSkip {
		s.hours.wrote(webhookID, hour)
	}
	if mode == bucketReset {
		if err := s.putHours(ctx, webhookID, old); err != nil {
			return fmt.Errorf("add stats of %s: put the finished hours: %w", webhookID, err)
		}
	}
	return nil
}

// DeactivateWebhook sets a webhook inactive because its endpoint answered
// 410 Gone (status_reason gone), keeping its subscription index in step.
// Already inactive is no change.
func (s *Store) DeactivateWebhook(ctx context.Context, id string) (bool, error) {
	return s.DisableWebhook(ctx, id, webhook.ReasonGone)
}

// DisableWebhook sets a webhook inactive for reason. Already inactive is no
// change (its first reason stays). changed says this call made it inactive:
// the write is conditional on the version read, so of concurrent calls one
// changes it (the webhook.disabled transition).
func (s *Store) DisableWebhook(ctx context.Context, id string, reason webhook.StatusReason) (changed bool, err error) {
	for attempt := 1; ; attempt++ {
		w, err := s.GetWebhook(ctx, id)
		if err != nil {
			return false, err
		}
		if w.Status == webhook.StatusInactive {
			return false, nil
		}
		w.Status, w.StatusReason, w.UpdatedAt = webhook.StatusInactive, reason, time.Now().UTC()
		err = s.UpdateWebhook(ctx, w)
		if webhook.ErrorCode(err) == webhook.EConflict && attempt < txRetries {
			continue // changed meanwhile: read again
		}
		return err == nil, err
	}
}
