package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/systemprompt-io/webhooks/internal/health"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/retry"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Store is what a delivery attempt needs of storage.
type Store interface {
	GetWebhook(ctx context.Context, id string) (*webhook.Webhook, error)
	GetDelivery(ctx context.Context, webhookID, id string) (*webhook.Delivery, error)
	// SaveAttempt records d with its newest attempt: a new record for a
	// delivery's first attempt, an appended attempt otherwise. It fails with
	// EConflict when that attempt is already recorded (a duplicate job), and
	// with ENotFound when the delivery is past its retention.
	SaveAttempt(ctx context.Context, d *webhook.Delivery) error
	// DeactivateWebhook makes a webhook inactive after a 410 Gone; changed
	// says this call did (not one before it).
	DeactivateWebhook(ctx context.Context, id string) (changed bool, err error)
}

// Opener decrypts a webhook's sealed credentials.
type Opener interface {
	Open(ctx context.Context, webhookID string, sealed []byte) (map[string]string, error)
}

// Scheduler enqueues the next attempt of a delivery, or a job again.
type Scheduler interface {
	SendJobs(ctx context.Context, jobs []queue.Job, delays []time.Duration) error
	Resend(ctx context.Context, job queue.Job) error
}

var defaultRand retry.Rand = rand.Float64

// Options tune an Attempter. Zero values take the defaults.
type Options struct {
	Client   *http.Client     // the guarded client (safehttp); required
	Now      func() time.Time // clock; time.Now
	Rand     retry.Rand       // jitter source; math/rand/v2
	Log      *slog.Logger     // slog.Default
	MaxBody  int64            // response bytes read per attempt; DefaultMaxBody
	CacheTTL time.Duration    // how long a webhook (with opened credentials) is reused; 15 s
	// Margin is kept free before the Lambda deadline: an attempt that could
	// not finish before it is not started (the job is reported failed and
	// comes back). 3 s.
	Margin time.Duration
	// Tokens gets the access tokens of oauth2 webhooks; default an
	// oauth2.Provider on Client and Now (oauth.go).
	Tokens Tokens
	// Health and Circuit are the circuit breaker and the auto-disable
	// (circuit.go): without a Health store, or with Circuit.OpenAfter and
	// Circuit.DisableAfter 0, every job is sent and no health is kept.
	Health  HealthStore
	Circuit health.Policy
	// Rates enforces webhooks' rate limits (ratelimit.go); nil: none are.
	Rates      RateSlots
	RatePolicy RatePolicy                                 // DefaultRatePolicy
	Sleep      func(context.Context, time.Duration) error // a rate-limited job's wait; wait.Sleep
	// Ops is told of the operational transitions (ops.go); nil tells
	// nobody.
	Ops Operations
	// Held and Drains park deliveries that cannot be sent (held pause,
	// auto-disable, open circuit) as held records and drain them
	// (hold.go); without them such jobs wait in SQS, re-sent.
	Held   HeldStore
	Drains DrainSender
}

// Attempter makes one attempt of a delivery: it sends the request, records
// the attempt and schedules the next one.
type Attempter struct {
	store Store
	open  Opener
	jobs  Scheduler
	opt   Options

	mu      sync.Mutex
	hooks   map[string]cachedHook
	loading singleflight.Group // one read + KMS Decrypt per webhook, however many jobs of a batch want it
	brk     breaker
	drn     drains
}

type cachedHook struct {
	w       *webhook.Webhook
	fetched time.Time
}

// NewAttempter returns an Attempter.
func NewAttempter(store Store, open Opener, jobs Scheduler, opt Options) (*Attempter, error) {
	if opt.Client == nil {
		return nil, errors.New("delivery: an HTTP client is required")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Rand == nil {
		opt.Rand = defaultRand
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = DefaultMaxBody
	}
	if opt.CacheTTL == 0 {
		opt.CacheTTL = 15 * time.Second
	}
	if opt.Margin == 0 {
		opt.Margin = 3 * time.Second
	}
	if opt.RatePolicy == (RatePolicy{}) {
		opt.RatePolicy = DefaultRatePolicy
	}
	if opt.Tokens == nil {
		var err error
		if opt.Tokens, err = newTokens(opt); err != nil {
			return nil, err
		}
	}
	return &Attempter{store: store, open: open, jobs: jobs, opt: opt, hooks: map[string]cachedHook{}}, nil
}

// Run attempts job. It returns what the attempt adds to the webhook's
// statistics, and an error only for internal failures (storage, queue): the
// job should then come back. An endpoint's failure is not an error; the
// retry policy handles it. redelivered says the job's message was received
// before (its processing then failed part-way).
func (a *Attempter) Run(ctx context.Context, job queue.Job, redelivered bool) (webhook.StatsDelta, error) {
	log := a.opt.Log.With("delivery_id", job.DeliveryID, "webhook_id", job.WebhookID, "attempt", job.Attempt)
	if !job.Due(a.opt.Now()) {
		// A wait longer than SQS can delay a message: send the rest again.
		if err := a.jobs.Resend(ctx, job); err != nil {
			return webhook.StatsDelta{}, fmt.Errorf("re-send early job %s: %w", job.DeliveryID, err)
		}
		return webhook.StatsDelta{}, nil
	}
	w, err := a.webhook(ctx, job.WebhookID)
	if webhook.ErrorCode(err) == webhook.ENotFound {
		log.WarnContext(ctx, "webhook deleted; delivery dropped")
		return webhook.StatsDelta{}, nil
	} else if err != nil {
		return webhook.StatsDelta{}, err
	}

	if w.HoldsDeliveries() && !job.Test && a.holding() {
		return webhook.StatsDelta{}, a.park(ctx, job, "paused with hold", time.Time{})
	}
	gate, err := a.gate(ctx, w, job)
	if err != nil {
		return webhook.StatsDelta{}, err
	}
	if gate.Verdict == health.Hold {
		return webhook.StatsDelta{}, a.wait(ctx, w, job, gate.Until)
	}

	d, done, err := a.delivery(ctx, w, job, redelivered)
	if err != nil || done {
		return webhook.StatsDelta{}, err
	}

	if ok, err := a.admit(ctx, w, job); !ok || err != nil {
		return webhook.StatsDelta{}, err // over the rate limit: not an attempt
	}
	timeout := timeoutOf(w)
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl) - a.opt.Margin
		if left < time.Second {
			return webhook.StatsDelta{}, fmt.Errorf("delivery: attempt %s: %s left before the function's deadline", job.DeliveryID, left)
		}
		timeout = min(timeout, left)
	}
	if gate.Verdict == health.Probe {
		if gate, err = a.claim(ctx, job, timeout); err != nil {
			return webhook.StatsDelta{}, err
		}
		if gate.Verdict == health.Hold {
			return webhook.StatsDelta{}, a.wait(ctx, w, job, gate.Until)
		}
	}

	res, started := a.send(ctx, w, job, timeout)
	now := a.opt.Now().UTC().Truncate(time.Millisecond)
	dec := retry.Decide(w.Retry, job.Attempt-d.SeriesStart+1, res.StatusCode, res.Header, res.Err, now, a.opt.Rand)
	// The retry waits in SQS, by whole seconds: the record says that wait
	// and when it ends, not the policy's finer one.
	dec = dec.WithDelay(queue.Wait(dec.Delay), now)
	at := newAttempt(job.Attempt, started, res)
	if dec.Status != webhook.DeliverySucceeded {
		at.Error = dec.Reason
	}
	counted := d.SeriesStart > 1 && !d.Uncounted // its end was counted before (a retry's series)
	record(d, job, at, dec, now)

	if dec.MarkInactive {
		// Before the delivery shows failed, so whoever sees the 410 in its
		// history also sees the webhook paused.
		changed, err := a.store.DeactivateWebhook(ctx, w.ID)
		if err != nil && webhook.ErrorCode(err) != webhook.ENotFound {
			return webhook.StatsDelta{}, fmt.Errorf("deactivate webhook %s after 410 Gone: %w", w.ID, err)
		}
		a.forget(w.ID)
		if changed {
			data := lastOf(job, at)
			data.Reason = webhook.ReasonGone
			a.emit(ctx, w, job, webhook.EventWebhookDisabled, now, data)
		}
	}
	if err := a.store.SaveAttempt(ctx, d); webhook.ErrorCode(err) == webhook.EConflict {
		// Another copy of this job recorded the attempt first; it schedules
		// what follows.
		log.InfoContext(ctx, "attempt already recorded by a duplicate job")
		return webhook.StatsDelta{}, nil
	} else if webhook.ErrorCode(err) == webhook.ENotFound {
		// The delivery passed its retention: it is no longer shown, so
		// neither the attempt nor a next one is recorded or counted.
		log.WarnContext(ctx, "delivery past its retention; attempt not recorded, job dropped", "error", err)
		return webhook.StatsDelta{}, nil
	} else if err != nil {
		return webhook.StatsDelta{}, fmt.Errorf("record attempt %d of %s: %w", job.Attempt, job.DeliveryID, err)
	}
	a.report(ctx, w, job, gate.Verdict == health.Probe, at, dec.Status == webhook.DeliverySucceeded, now)
	if dec.Status == webhook.DeliveryFailed {
		// SaveAttempt's condition let this attempt alone record the end.
		a.emit(ctx, w, job, webhook.EventDeliveryFailed, now, lastOf(job, at))
	}
	if gate.Verdict == health.Probe && dec.Status == webhook.DeliverySucceeded {
		// The circuit closed: what it held is drained.
		if err := a.StartDrain(ctx, w.ID); err != nil {
			log.ErrorContext(ctx, "start drain after the circuit closed", "error", err)
		}
	}
	// A success is the batch summary's count (Debug here); a failure or a
	// retry is logged in full.
	level := slog.LevelDebug
	if dec.Status != webhook.DeliverySucceeded {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "attempt", "status", d.Status, "status_code", res.StatusCode, "duration_ms", at.DurationMS,
		"reason", dec.Reason, "retry_in_ms", dec.Delay.Milliseconds())

	if dec.Status == webhook.DeliveryRetrying {
		if err := a.scheduleNext(ctx, job, dec.Delay); err != nil {
			return webhook.StatsDelta{}, err
		}
	}
	if job.Test {
		return webhook.StatsDelta{}, nil
	}
	return delta(d, at, now, counted), nil
}

// delivery returns the record the attempt adds to, or done when the job's
// attempt was already made. A redelivered job whose attempt is recorded
// sends its successor again, in case the first processing failed between
// recording and scheduling. A concurrent duplicate is not redelivered: it
// loses SaveAttempt's condition and schedules nothing.
func (a *Attempter) delivery(ctx context.Context, w *webhook.Webhook, job queue.Job, redelivered bool) (*webhook.Delivery, bool, error) {
	fresh := newDelivery(job)
	if job.Attempt == 1 && !redelivered {
		// No read for a first attempt: SaveAttempt's condition catches a
		// duplicate, and the read would cost as much as the write.
		return fresh, false, nil
	}
	d, err := a.store.GetDelivery(ctx, job.WebhookID, job.DeliveryID)
	if webhook.ErrorCode(err) == webhook.ENotFound && job.Attempt == 1 {
		return fresh, false, nil
	} else if webhook.ErrorCode(err) == webhook.ENotFound {
		a.opt.Log.WarnContext(ctx, "job for a delivery that no longer exists; dropped", "delivery_id", job.DeliveryID)
		return nil, true, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("get delivery %s: %w", job.DeliveryID, err)
	}
	last := len(d.Attempts)
	switch {
	case last >= job.Attempt:
		if redelivered && d.Status == webhook.DeliveryRetrying && last == job.Attempt && d.NextAttemptAt != nil {
			return nil, true, a.scheduleNext(ctx, job, d.NextAttemptAt.Sub(a.opt.Now()))
		}
		if redelivered && d.Status == webhook.DeliveryFailed && last == job.Attempt && d.CompletedAt != nil {
			// The first processing may have ended before it told of the
			// failure: tell again, at the recorded time, so the event's
			// deliveries keep their ids (at least once).
			a.emit(ctx, w, job, webhook.EventDeliveryFailed, *d.CompletedAt, failedOf(job, d))
		}
		return nil, true, nil
	case last != job.Attempt-1 || d.Status.Final():
		a.opt.Log.WarnContext(ctx, "job out of step with its delivery; dropped",
			"delivery_id", job.DeliveryID, "recorded_attempts", last, "status", d.Status)
		return nil, true, nil
	}
	return d, false, nil
}

func (a *Attempter) scheduleNext(ctx context.Context, job queue.Job, wait time.Duration) error {
	next := job
	next.Attempt++
	next.NotBefore = time.Time{}
	if err := a.jobs.SendJobs(ctx, []queue.Job{next}, []time.Duration{max(wait, 0)}); err != nil {
		return fmt.Errorf("schedule attempt %d of %s: %w", next.Attempt, job.DeliveryID, err)
	}
	return nil
}

// send builds and sends the request. A request that cannot be built (a bad
// credential, say) is an attempt that failed permanently.
func (a *Attempter) send(ctx context.Context, w *webhook.Webhook, job queue.Job, timeout time.Duration) (Result, time.Time) {
	started := a.opt.Now().UTC().Truncate(time.Millisecond) // the API's times have ms precision
	body, err := Payload{WebhookID: w.ID, Event: job.Event, Timestamp: job.Timestamp, Data: job.Data, Metadata: job.Metadata}.Body()
	if err != nil {
		return Result{Err: err}, started
	}
	req, err := NewRequest(ctx, w, Meta{DeliveryID: job.DeliveryID, Event: job.Event, Attempt: job.Attempt, Time: started}, body)
	if err != nil {
		return Result{Err: err}, started
	}
	if w.AuthType == webhook.AuthOAuth2 {
		return a.sendOAuth2(ctx, w, req, timeout), started
	}
	return Send(ctx, a.opt.Client, req, timeout, a.opt.MaxBody), started
}

// newDelivery is the record a job's first attempt creates.
func newDelivery(job queue.Job) *webhook.Delivery {
	return &webhook.Delivery{
		ID: job.DeliveryID, WebhookID: job.WebhookID, EventID: job.EventID, Event: job.Event,
		CreatedAt: job.CreatedAt, SeriesStart: 1, Test: job.Test,
	}
}

// newAttempt records attempt n, started at started, answered by res.
func newAttempt(n int, started time.Time, res Result) webhook.Attempt {
	return webhook.Attempt{
		Attempt:      n,
		StartedAt:    started.UTC(),
		StatusCode:   res.StatusCode,
		DurationMS:   res.Duration.Milliseconds(),
		ResponseBody: res.Excerpt(webhook.MaxResponseExcerpt),
		Timings:      res.Timings.record(),
	}
}

// timeoutOf is a webhook's attempt timeout (the default if it has none).
func timeoutOf(w *webhook.Webhook) time.Duration {
	if w.TimeoutMS <= 0 {
		return webhook.DefaultTimeoutMS * time.Millisecond
	}
	return time.Duration(w.TimeoutMS) * time.Millisecond
}

// record applies an attempt and its decision to d.
func record(d *webhook.Delivery, job queue.Job, at webhook.Attempt, dec retry.Decision, now time.Time) {
	d.Attempts = append(d.Attempts, at)
	d.Status = dec.Status
	d.NextAttemptAt, d.CompletedAt = nil, nil
	d.EventTime, d.Data, d.Metadata = time.Time{}, nil, nil
	switch dec.Status {
	case webhook.DeliveryRetrying:
		next := dec.NextAttemptAt.UTC().Truncate(time.Millisecond)
		d.NextAttemptAt = &next
	case webhook.DeliveryFailed:
		// Keep the event, so a manual retry can send it again.
		d.EventTime, d.Data, d.Metadata = job.Timestamp, job.Data, job.Metadata
		fallthrough
	default:
		done := now.UTC()
		d.CompletedAt = &done
	}
	if dec.Status.Final() {
		d.Uncounted = false // counted now
	}
}

// delta is what an attempt adds to the statistics: every attempt counts
// towards the response time, a delivery counts once, when it ends. A
// manually retried delivery (again: a later series, not one after a hold)
// was counted failed already: if it now succeeds it moves from failed to
// successful, if it fails again the counts stay.
func delta(d *webhook.Delivery, at webhook.Attempt, now time.Time, again bool) webhook.StatsDelta {
	s := webhook.StatsDelta{Attempts: 1, TotalResponseMS: at.DurationMS, LastDeliveryAt: now}
	// The hour's bucket counts what happened in it: a manual retry's end
	// counts again there, the earlier hour keeps its failure.
	s.Hour.Start = now.UTC().Truncate(time.Hour)
	s.Hour.Latency[webhook.LatencyBucket(at.DurationMS)] = 1
	switch d.Status {
	case webhook.DeliverySucceeded:
		s.Succeeded, s.LastSuccessAt = 1, now
		s.Hour.Succeeded = 1
		if again {
			s.Failed = -1
		}
	case webhook.DeliveryFailed:
		s.LastFailureAt = now
		s.Hour.Failed = 1
		if !again {
			s.Failed = 1
		}
	case webhook.DeliveryRetrying, webhook.DeliveryPending:
		s.Hour.Retrying = 1
	}
	return s
}

// webhook returns w with opened credentials, from a short per-container
// cache: KMS Decrypt costs more than the rest of an attempt.
func (a *Attempter) webhook(ctx context.Context, id string) (*webhook.Webhook, error) {
	now := a.opt.Now()
	a.mu.Lock()
	c, ok := a.hooks[id]
	a.mu.Unlock()
	if ok && now.Sub(c.fetched) < a.opt.CacheTTL {
		return c.w, nil
	}
	w, err, _ := a.loading.Do(id, func() (any, error) { return a.fetch(ctx, id, now) })
	if err != nil {
		return nil, err
	}
	return w.(*webhook.Webhook), nil
}

// fetch reads a webhook and opens its credentials, refreshing the cache.
func (a *Attempter) fetch(ctx context.Context, id string, now time.Time) (*webhook.Webhook, error) {
	w, err := a.store.GetWebhook(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get webhook %s: %w", id, err)
	}
	if err := OpenCredentials(ctx, a.open, w, now); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.hooks[id] = cachedHook{w: w, fetched: now}
	a.mu.Unlock()
	return w, nil
}

// OpenCredentials opens w's sealed credentials into w.Credentials and, when
// a rotation's previous secret is still valid at now, that one into
// w.Previous.Secret (one more KMS Decrypt, only during an overlap); an
// expired previous secret is dropped. The delivery function and test sends
// both open a webhook this way.
func OpenCredentials(ctx context.Context, open Opener, w *webhook.Webhook, now time.Time) error {
	var err error
	if len(w.SealedCredentials) > 0 {
		if w.Credentials, err = open.Open(ctx, w.ID, w.SealedCredentials); err != nil {
			return fmt.Errorf("open credentials of webhook %s: %w", w.ID, err)
		}
	}
	w.DropExpiredPrevious(now)
	if w.Previous != nil {
		prev, err := open.Open(ctx, w.ID, w.Previous.Sealed)
		if err != nil {
			return fmt.Errorf("open previous secret of webhook %s: %w", w.ID, err)
		}
		w.Previous.Secret = prev["secret"]
	}
	return nil
}

func (a *Attempter) forget(id string) {
	a.mu.Lock()
	delete(a.hooks, id)
	a.mu.Unlock()
}

// TestData and TestMetadata are the sample payload of a test delivery (the
// seed's webhooks:test sends the custom event).
var (
	TestData     = json.RawMessage(`{"message":"This is a test webhook delivery","test":true}`)
	TestMetadata = json.RawMessage(`{"source":"webhooks:test"}`)
)

// TestResult is the answer to a test delivery.
type TestResult struct {
	Delivery *webhook.Delivery
	Result   Result // the response (Body is the kept excerpt)
	Success  bool
	Error    string
}

// Test sends the sample custom event to w, whose credentials are open, now,
// whatever its status and events, waits for the answer and records it as a
// test delivery: one attempt, not retried, not counted in the statistics.
func (a *Attempter) Test(ctx context.Context, w *webhook.Webhook) (*TestResult, error) {
	now := a.opt.Now()
	eventID := webhook.NewID(webhook.EventIDPrefix)
	at := now.UTC().Truncate(time.Millisecond)
	job := queue.Job{
		DeliveryID: webhook.DeliveryIDFor(eventID, w.ID, at), WebhookID: w.ID, EventID: eventID,
		Event: webhook.EventCustom, Attempt: 1, CreatedAt: at, Timestamp: at,
		Data: TestData, Metadata: TestMetadata, Test: true,
	}
	res, started := a.send(ctx, w, job, timeoutOf(w))
	dec := retry.Decision{Status: webhook.DeliverySucceeded}
	att := newAttempt(1, started, res)
	if retry.Classify(res.StatusCode, res.Err) != retry.Success {
		// A test is one attempt: it fails without a retry.
		dec.Status = webhook.DeliveryFailed
		att.Error = retry.Describe(res.StatusCode, res.Err)
	}
	d := newDelivery(job)
	record(d, job, att, dec, a.opt.Now().UTC().Truncate(time.Millisecond))
	if err := a.store.SaveAttempt(ctx, d); err != nil {
		return nil, fmt.Errorf("record test delivery of %s: %w", w.ID, err)
	}
	d.Data, d.Metadata = nil, nil
	return &TestResult{Delivery: d, Result: res, Success: dec.Status == webhook.DeliverySucceeded, Error: att.Error}, nil
}
