// Package trigger turns an event into deliveries: it finds the event's active
// subscribers through the subscription index, fixes a delivery id for each,
// and enqueues one job per delivery. The HTTP API (POST /events) and the
// events queue (messages from other AWS services) both come through here.
package trigger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Subscribers finds the ids of the active webhooks subscribed to an event.
type Subscribers interface {
	ActiveSubscribers(ctx context.Context, event string) ([]string, error)
}

// JobSender enqueues delivery jobs.
type JobSender interface {
	SendJobs(ctx context.Context, jobs []queue.Job, delays []time.Duration) error
}

// Keys stores idempotency records.
type Keys interface {
	// ClaimIdempotencyKey stores rec unless a record with its key exists.
	// It returns the record in force and whether that is rec (claimed).
	ClaimIdempotencyKey(ctx context.Context, rec webhook.IdempotencyRecord) (webhook.IdempotencyRecord, bool, error)
	// CompleteIdempotencyKey stores the answer of a finished trigger.
	CompleteIdempotencyKey(ctx context.Context, key string, deliveries int) error
}

// IdempotencyTTL is how long a key is remembered (Stripe and Svix keep 24 h).
const IdempotencyTTL = 24 * time.Hour

// Source says where a trigger came from; it decides how repeats are caught.
type Source int

const (
	// FromAPI: a repeat is caught by the caller's Idempotency-Key, which is
	// stored with the first answer.
	FromAPI Source = iota
	// FromQueue: the key is the message's own id (stable across SQS
	// redeliveries). Nothing is stored: the event and delivery ids are
	// derived from the key, so a redelivered message enqueues the same
	// deliveries again and their records, keyed by delivery id, stay single.
	FromQueue
)

// Request is one event to trigger.
type Request struct {
	Event          string
	Data           json.RawMessage
	Metadata       json.RawMessage
	IdempotencyKey string
	Source         Source
	// Time is the event's time (the payload's timestamp); zero means now.
	// Queue triggers pass a time that is stable across redeliveries.
	Time time.Time
}

// Result is the answer to a trigger.
type Result struct {
	EventID    string `json:"event_id"`
	Deliveries int    `json:"deliveries"`
}

// MaxKeyLen bounds an Idempotency-Key.
const MaxKeyLen = 255

// Service triggers events.
type Service struct {
	subs Subscribers
	jobs JobSender
	keys Keys
	now  func() time.Time
	log  *slog.Logger
}

// New returns a Service. now and log may be nil (time.Now, slog.Default).
func New(subs Subscribers, jobs JobSender, keys Keys, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{subs: subs, jobs: jobs, keys: keys, now: now, log: log}
}

// Validate checks a request before anything is written.
func Validate(r Request) error {
	switch {
	case r.Event == "":
		return webhook.Invalid("event", "event is required")
	case !webhook.IsEvent(r.Event):
		return webhook.Invalid("event", "unknown event %q; GET /events/types lists the supported events", r.Event)
	case len(r.IdempotencyKey) > MaxKeyLen:
		return webhook.Invalid("Idempotency-Key", "the idempotency key is longer than %d characters", MaxKeyLen)
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"data", r.Data}, {"metadata", r.Metadata}} {
		if len(f.raw) > 0 && f.raw[0] != '{' && string(f.raw) != "null" {
			return webhook.Invalid(f.name, "%s must be a JSON object", f.name)
		}
	}
	return queue.CheckPayload(r.Data, r.Metadata)
}

// Trigger makes the event durable as one job per subscriber and returns its
// id and the number of deliveries. When it fails part-way, the jobs already
// sent stand; the error says how to finish the trigger without duplicates:
// repeat it with the same idempotency key (for a request without one, the
// error names the event id to use as the key).
func (s *Service) Trigger(ctx context.Context, r Request) (Result, error) {
	if err := Validate(r); err != nil {
		return Result{}, err
	}
	now := s.now().UTC()
	at := r.Time
	if at.IsZero() {
		at = now
	}
	at = at.UTC().Truncate(time.Millisecond)

	var eventID string
	switch {
	case r.IdempotencyKey != "" && r.Source == FromQueue:
		eventID = webhook.DerivedID(webhook.EventIDPrefix, at, r.IdempotencyKey)
	case r.IdempotencyKey != "":
		rec := webhook.IdempotencyRecord{
			Key: r.IdempotencyKey, Fingerprint: fingerprint(r),
			EventID: webhook.NewID(webhook.EventIDPrefix), EventTime: at,
			CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL),
		}
		prev, claimed, err := s.keys.ClaimIdempotencyKey(ctx, rec)
		if err != nil {
			return Result{}, s.unfinished(ctx, r, "", at, now, fmt.Errorf("claim idempotency key: %w", err))
		}
		if !claimed {
			if prev.Fingerprint != rec.Fingerprint {
				return Result{}, &webhook.Error{Code: webhook.EConflict, Field: "Idempotency-Key",
					Message: "this Idempotency-Key was already used with a different request"}
			}
			if prev.Done {
				return Result{EventID: prev.EventID, Deliveries: prev.Deliveries}, nil
			}
			// A first try that did not finish: finish it, with its ids.
			rec = prev
		}
		eventID, at = rec.EventID, rec.EventTime
	default:
		eventID = webhook.NewID(webhook.EventIDPrefix)
	}

	n, err := s.fanOut(ctx, r, eventID, at, now)
	if err != nil {
		return Result{}, s.unfinished(ctx, r, eventID, at, now, err)
	}
	if r.IdempotencyKey != "" && r.Source == FromAPI {
		if err := s.keys.CompleteIdempotencyKey(ctx, r.IdempotencyKey, n); err != nil {
			// The deliveries are enqueued; a repeat with this key finds the
			// record unfinished and enqueues the same delivery ids again.
			s.log.WarnContext(ctx, "complete idempotency key", "event_id", eventID, "error", err)
		}
	}
	return Result{EventID: eventID, Deliveries: n}, nil
}

func (s *Service) fanOut(ctx context.Context, r Request, eventID string, at, now time.Time) (int, error) {
	ids, err := s.subs.ActiveSubscribers(ctx, r.Event)
	if err != nil {
		return 0, fmt.Errorf("find subscribers of %s: %w", r.Event, err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	jobs := make([]queue.Job, len(ids))
	for i, wh := range ids {
		jobs[i] = queue.Job{
			DeliveryID: webhook.DeliveryIDFor(eventID, wh, at),
			WebhookID:  wh,
			EventID:    eventID,
			Event:      r.Event,
			Attempt:    1,
			CreatedAt:  now,
			Timestamp:  at,
			Data:       r.Data,
			Metadata:   r.Metadata,
		}
	}
	if err := s.jobs.SendJobs(ctx, jobs, nil); err != nil {
		return 0, fmt.Errorf("enqueue %d deliveries of %s: %w", len(jobs), eventID, err)
	}
	return len(jobs), nil
}

// unfinished turns a failed fan-out into an error the caller can act on.
// Payload errors are the caller's (4xx); anything else is internal, and the
// message says how to repeat the trigger safely.
func (s *Service) unfinished(ctx context.Context, r Request, eventID string, at, now time.Time, err error) error {
	var we *webhook.Error
	if errors.As(err, &we) && we.Code != webhook.EInternal {
		return err
	}
	s.log.ErrorContext(ctx, "trigger failed part-way", "event", r.Event, "event_id", eventID, "error", err)
	msg := "the event could not be enqueued completely; repeat the request with the same Idempotency-Key"
	if r.Source == FromAPI && r.IdempotencyKey == "" && eventID != "" {
		// Make the partial trigger finishable: remember it under its event
		// id, and tell the caller to repeat with that id as the key.
		rec := webhook.IdempotencyRecord{Key: eventID, Fingerprint: fingerprint(r), EventID: eventID,
			EventTime: at, CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL)}
		if _, _, cerr := s.keys.ClaimIdempotencyKey(ctx, rec); cerr == nil {
			msg = fmt.Sprintf("the event could not be enqueued completely; repeat the request with the header Idempotency-Key: %s", eventID)
		} else {
			s.log.ErrorContext(ctx, "remember partial trigger", "event_id", eventID, "error", cerr)
			msg = "the event could not be enqueued completely; some subscribers may receive it"
		}
	}
	return &webhook.Error{Code: webhook.EUnavailable, Message: msg}
}

// fingerprint identifies a request's content, to tell a repeat from a
// different request that reuses a key.
func fingerprint(r Request) string {
	h := sha256.New()
	for _, p := range [][]byte{[]byte(r.Event), compact(r.Data), compact(r.Metadata)} {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func compact(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
