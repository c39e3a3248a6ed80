// Package trigger turns an event into deliveries: it finds the event's active
// subscribers through the subscription index, keeps those whose payload
// filter the event passes, fixes a delivery id for each, and enqueues one job
// per delivery. The HTTP API (POST /events) and the
// events queue (messages from other AWS services) both come through here.
package trigger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Subscribers finds the active webhooks subscribed to an event, with their
// payload filters.
type Subscribers interface {
	ActiveSubscriptions(ctx context.Context, event string) ([]webhook.Subscription, error)
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

// MaxKeyLen bounds an Idempotency-Key.
const MaxKeyLen = 255

// Service triggers events.
type Service struct {
	subs Subscribers
	jobs JobSender
	keys Keys
	now  func() time.Time
	log  *slog.Logger
	// filters holds the compiled payload filters met so far.
	filters filterCache
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
func Validate(r webhook.TriggerRequest) error {
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
func (s *Service) Trigger(ctx context.Context, r webhook.TriggerRequest) (webhook.TriggerResult, error) {
	r, err := prepare(r)
	if err != nil {
		return webhook.TriggerResult{}, err
	}
	return s.trigger(ctx, r, s.now().UTC())
}

// prepare validates r and compacts its payload: the form every job of the
// event carries, so that the payload is read here once, not once per job.
func prepare(r webhook.TriggerRequest) (webhook.TriggerRequest, error) {
	if err := Validate(r); err != nil {
		return r, err
	}
	r.Data, r.Metadata = jsonx.Compact(r.Data), jsonx.Compact(r.Metadata)
	return r, nil
}

// trigger is Trigger of a prepared request.
func (s *Service) trigger(ctx context.Context, r webhook.TriggerRequest, now time.Time) (webhook.TriggerResult, error) {
	at := eventTime(r, now)

	var eventID string
	switch {
	case r.Source == webhook.FromQueue:
		eventID = queueEventID(r, at)
	case r.IdempotencyKey != "":
		rec := webhook.IdempotencyRecord{
			Key: r.IdempotencyKey, Fingerprint: fingerprint(r),
			EventID: webhook.NewID(webhook.EventIDPrefix), EventTime: at,
			CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL),
		}
		prev, claimed, err := s.keys.ClaimIdempotencyKey(ctx, rec)
		if err != nil {
			return webhook.TriggerResult{}, s.unfinished(ctx, r, "", at, now, fmt.Errorf("claim idempotency key: %w", err), false)
		}
		if !claimed {
			if prev.Fingerprint != rec.Fingerprint {
				return webhook.TriggerResult{}, &webhook.Error{Code: webhook.EConflict, Field: "Idempotency-Key",
					Message: "this Idempotency-Key was already used with a different request"}
			}
			if prev.Done {
				return webhook.TriggerResult{EventID: prev.EventID, Deliveries: prev.Deliveries}, nil
			}
			// A first try that did not finish: finish it, with its ids.
			rec = prev
		}
		eventID, at = rec.EventID, rec.EventTime
	default:
		eventID = webhook.NewID(webhook.EventIDPrefix)
	}

	p := &pending{r: r, eventID: eventID, at: at}
	s.fanOut(ctx, []*pending{p}, now)
	if p.err != nil {
		return webhook.TriggerResult{}, s.unfinished(ctx, r, eventID, at, now, p.err, false)
	}
	if r.IdempotencyKey != "" && r.Source == webhook.FromAPI {
		if err := s.keys.CompleteIdempotencyKey(ctx, r.IdempotencyKey, p.n); err != nil {
			// The deliveries are enqueued; a repeat with this key finds the
			// record unfinished and enqueues the same delivery ids again.
			s.log.WarnContext(ctx, "complete idempotency key", "event_id", eventID, "error", err)
		}
	}
	return webhook.TriggerResult{EventID: eventID, Deliveries: p.n}, nil
}

// TriggerBatch triggers several events at once, as the delivery function
// receives them from the events queue: results[i] and errs[i] answer
// reqs[i], and a request fails alone (bad input, or jobs SQS did not take).
// Queue requests (FromQueue) are fanned out together: one subscriber query
// per distinct event and one SendJobs for all their jobs, so a batch of 10
// one-subscriber events costs 1 SendMessageBatch, not 10. Their ids are
// derived as Trigger derives them, so a failed request, redelivered, enqueues
// the same deliveries again. Other requests (a producer's own key, which is
// claimed and completed as for the API) go the way of Trigger, concurrently.
// Each request is validated once.
func (s *Service) TriggerBatch(ctx context.Context, reqs []webhook.TriggerRequest) ([]webhook.TriggerResult, []error) {
	return s.TriggerBatchVia(ctx, reqs, nil)
}

// TriggerBatchVia is TriggerBatch with the queue requests' jobs handed to
// jobs instead of the service's queue (nil: the service's): the delivery
// function attempts an event's first deliveries in place and queues the
// rest (delivery.Handler). jobs must make every job it accepts durable, or
// fail it, as SendJobs does.
func (s *Service) TriggerBatchVia(ctx context.Context, reqs []webhook.TriggerRequest, jobs JobSender) ([]webhook.TriggerResult, []error) {
	if jobs == nil {
		jobs = s.jobs
	}
	results, errs := make([]webhook.TriggerResult, len(reqs)), make([]error, len(reqs))
	now := s.now().UTC()
	var (
		batch []*pending
		index []int // batch[k] answers reqs[index[k]]
		wg    sync.WaitGroup
	)
	for i, r := range reqs {
		r, err := prepare(r)
		if err != nil {
			errs[i] = err
			continue
		}
		if r.Source != webhook.FromQueue {
			wg.Go(func() { results[i], errs[i] = s.trigger(ctx, r, now) })
			continue
		}
		at := eventTime(r, now)
		batch = append(batch, &pending{r: r, eventID: queueEventID(r, at), at: at})
		index = append(index, i)
	}
	s.fanOutVia(ctx, batch, now, jobs)
	for k, p := range batch {
		i := index[k]
		if p.err != nil {
			errs[i] = s.unfinished(ctx, p.r, p.eventID, p.at, now, p.err, false)
			continue
		}
		results[i] = webhook.TriggerResult{EventID: p.eventID, Deliveries: p.n}
	}
	wg.Wait()
	return results, errs
}

// eventTime is a request's event time as ids and payloads carry it.
func eventTime(r webhook.TriggerRequest, now time.Time) time.Time {
	at := r.Time
	if at.IsZero() {
		at = now
	}
	return at.UTC().Truncate(time.Millisecond)
}

// queueEventID is a queue request's event id: derived from its key (the
// message's, stable across redeliveries) and time, so that a redelivered
// message names the same event and deliveries; random without a key.
func queueEventID(r webhook.TriggerRequest, at time.Time) string {
	if r.IdempotencyKey == "" {
		return webhook.NewID(webhook.EventIDPrefix)
	}
	return webhook.DerivedID(webhook.EventIDPrefix, at, r.IdempotencyKey)
}

// pending is a validated request with its ids, being fanned out; fanOut
// sets n (its deliveries) or err.
type pending struct {
	r       webhook.TriggerRequest
	eventID string
	at      time.Time
	n       int
	err     error
}

// fanOut enqueues one job per subscriber for each of ps: it queries the
// subscribers of each distinct event once, and sends every job in one
// SendJobs call. Jobs SQS did not take fail only the requests they belong to.
func (s *Service) fanOut(ctx context.Context, ps []*pending, now time.Time) {
	s.fanOutVia(ctx, ps, now, s.jobs)
}

// fanOutVia is fanOut through sender.
func (s *Service) fanOutVia(ctx context.Context, ps []*pending, now time.Time, sender JobSender) {
	if len(ps) == 0 {
		return
	}
	subs := s.subscribers(ctx, ps)
	doc := &lazyDocument{}
	defer doc.release()
	var (
		jobs  []queue.Job
		owner []*pending // owner[j] is the request of jobs[j]
	)
	for _, p := range ps {
		all, err := subs[p.r.Event].subs, subs[p.r.Event].err
		if err != nil {
			p.err = fmt.Errorf("find subscribers of %s: %w", p.r.Event, err)
			continue
		}
		ids := s.matching(ctx, p, all, doc)
		for _, wh := range ids {
			jobs = append(jobs, queue.Job{
				DeliveryID: webhook.DeliveryIDFor(p.eventID, wh, p.at),
				WebhookID:  wh,
				EventID:    p.eventID,
				Event:      p.r.Event,
				Attempt:    1,
				CreatedAt:  now,
				Timestamp:  p.at,
				Data:       p.r.Data,
				Metadata:   p.r.Metadata,
			})
			owner = append(owner, p)
		}
		p.n = len(ids)
	}
	s.send(ctx, sender, jobs, owner, true)
}

// send sends jobs in one SendJobs call and fails the requests (owner[j] is
// jobs[j]'s, each request's jobs together) whose jobs were not all sent.
func (s *Service) send(ctx context.Context, sender JobSender, jobs []queue.Job, owner []*pending, split bool) {
	if len(jobs) == 0 {
		return
	}
	err := sender.SendJobs(ctx, jobs, nil)
	if err == nil {
		return
	}
	fail := func(p *pending, err error) {
		p.err = fmt.Errorf("enqueue %d deliveries of %s: %w", p.n, p.eventID, err)
		p.n = 0
	}
	var pe *queue.PartialError
	if !errors.As(err, &pe) {
		// Nothing was sent: a job that cannot be encoded fails the whole
		// call. Send each request's jobs alone, so only the bad one fails.
		if split && owner[0] != owner[len(owner)-1] {
			for from := 0; from < len(owner); {
				to := from + 1
				for to < len(owner) && owner[to] == owner[from] {
					to++
				}
				s.send(ctx, sender, jobs[from:to], owner[from:to], false)
				from = to
			}
			return
		}
		for j, p := range owner {
			if j == 0 || owner[j-1] != p {
				fail(p, err)
			}
		}
		return
	}
	failed := map[*pending]int{}
	for _, j := range pe.Failed {
		if j >= 0 && j < len(owner) {
			failed[owner[j]]++
		}
	}
	for p, k := range failed {
		fail(p, fmt.Errorf("%d not sent: %w", k, pe.Err))
	}
}

type subscribersOf struct {
	subs []webhook.Subscription
	err  error
}

// subscribers queries the subscribers of each distinct event of ps once,
// the queries at once.
func (s *Service) subscribers(ctx context.Context, ps []*pending) map[string]*subscribersOf {
	out := map[string]*subscribersOf{}
	var wg sync.WaitGroup
	for _, p := range ps {
		if out[p.r.Event] != nil {
			continue
		}
		res := &subscribersOf{}
		out[p.r.Event] = res
		event := p.r.Event
		wg.Go(func() { res.subs, res.err = s.subs.ActiveSubscriptions(ctx, event) })
	}
	wg.Wait()
	return out
}

// unfinished turns a failed fan-out into an error the caller can act on.
// Payload errors are the caller's (4xx); anything else is internal, and the
// message says how to repeat the trigger safely.
// In a batch (POST /events/batch) the key is the event's idempotency_key.
func (s *Service) unfinished(ctx context.Context, r webhook.TriggerRequest, eventID string, at, now time.Time, err error, batch bool) error {
	var we *webhook.Error
	if errors.As(err, &we) && we.Code != webhook.EInternal {
		return err
	}
	s.log.ErrorContext(ctx, "trigger failed part-way", "event", r.Event, "event_id", eventID, "error", err)
	msg := "the event could not be enqueued completely; repeat the request with the same Idempotency-Key"
	if batch {
		msg = "the event could not be enqueued completely; send it again with the same idempotency_key"
	}
	if r.Source == webhook.FromAPI && r.IdempotencyKey == "" && eventID != "" {
		// Make the partial trigger finishable: remember it under its event
		// id, and tell the caller to repeat with that id as the key.
		rec := webhook.IdempotencyRecord{Key: eventID, Fingerprint: fingerprint(r), EventID: eventID,
			EventTime: at, CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL)}
		if _, _, cerr := s.keys.ClaimIdempotencyKey(ctx, rec); cerr == nil {
			msg = fmt.Sprintf("the event could not be enqueued completely; repeat the request with the header Idempotency-Key: %s", eventID)
			if batch {
				msg = fmt.Sprintf(`the event could not be enqueued completely; send it again with "idempotency_key": %q`, eventID)
			}
		} else {
			s.log.ErrorContext(ctx, "remember partial trigger", "event_id", eventID, "error", cerr)
			msg = "the event could not be enqueued completely; some subscribers may receive it"
		}
	}
	return &webhook.Error{Code: webhook.EUnavailable, Message: msg}
}

// fingerprint identifies a request's content, to tell a repeat from a
// different request that reuses a key.
func fingerprint(r webhook.TriggerRequest) string {
	h := sha256.New()
	for _, p := range [][]byte{[]byte(r.Event), jsonx.Compact(r.Data), jsonx.Compact(r.Metadata)} {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
