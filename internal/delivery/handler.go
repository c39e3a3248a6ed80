package delivery

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"golang.org/x/sync/errgroup"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/trigger"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Runner attempts delivery jobs (implemented by *Attempter).
type Runner interface {
	// Run attempts job and returns what the attempt adds to the webhook's
	// statistics; an error means the job should come back.
	Run(ctx context.Context, job queue.Job, redelivered bool) (webhook.StatsDelta, error)
}

// Triggerer fans events out into delivery jobs, handing them to jobs (nil:
// its own queue): results[i] and errs[i] answer reqs[i], each request
// failing alone (implemented by *trigger.Service).
type Triggerer interface {
	TriggerBatchVia(ctx context.Context, reqs []webhook.TriggerRequest, jobs trigger.JobSender) ([]webhook.TriggerResult, []error)
}

// StatsAdder adds to a webhook's counters.
type StatsAdder interface {
	AddStats(ctx context.Context, webhookID string, d webhook.StatsDelta) error
}

// HandlerOptions tune a Handler. Zero values take the defaults.
type HandlerOptions struct {
	Log *slog.Logger // slog.Default
	// Concurrency is how many job messages of a batch are attempted at once:
	// 10 (a whole SQS batch, so one slow endpoint does not hold up the
	// others).
	Concurrency int
	// Recovery carries bulk recoveries on (recovery messages); without it a
	// recovery message fails (recovery.go).
	Recovery Recoverer
	// Isolation bounds one webhook's share of the instance (isolation.go);
	// a zero member takes DefaultIsolation's.
	Isolation Isolation
	// Defer sends back the jobs of a slow webhook over its bound; nil: they
	// wait for a slot in the function.
	Defer JobSender
	Now   func() time.Time // time.Now
	// Queue is the DeliveryQueue. With it, the first Inline jobs a batch's
	// events fan out to are attempted in place and the rest sent to Queue
	// (inline.go); without it every job goes through the trigger service's
	// queue.
	Queue trigger.JobSender
	// Inline is how many fanned-out jobs per batch are attempted in place:
	// DefaultInline; negative: none.
	Inline int
	// Drains carries held deliveries on (drain messages, hold.go); without
	// it a drain message fails.
	Drains Drainer
}

// Drainer carries a webhook's held deliveries on (implemented by
// *Attempter); an error means the message should come back.
type Drainer interface {
	Drain(ctx context.Context, m queue.DrainMessage) error
}

// Handler is the delivery function: it consumes both queues. A job message
// is attempted; any other message is an event from another AWS service and is
// triggered, together with the batch's other events. It answers with partial
// batch failures, so one bad message never re-runs its batch-mates.
type Handler struct {
	jobs    Runner
	trigger Triggerer
	stats   StatsAdder
	opt     HandlerOptions
	gate    *gate
}

// NewHandler returns a Handler that attempts job messages with jobs and
// triggers event messages with t.
func NewHandler(jobs Runner, t Triggerer, s StatsAdder, opt HandlerOptions) *Handler {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 10
	}
	opt.Isolation = opt.Isolation.withDefaults()
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Inline == 0 {
		opt.Inline = DefaultInline
	}
	return &Handler{jobs: jobs, trigger: t, stats: s, opt: opt, gate: newGate(opt.Isolation, opt.Now, opt.Defer != nil)}
}

// Handle processes a batch. It never returns an error: a failed message is
// listed in BatchItemFailures and comes back after its visibility timeout
// (and reaches the DLQ after maxReceiveCount).
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	b := &batch{log: h.opt.Log, stats: map[string]*webhook.StatsDelta{}}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		b.log = b.log.With("request_id", lc.AwsRequestID)
	}
	jobs, evs := b.route(ctx, ev.Records)
	var wg sync.WaitGroup
	// The events fan out beside the jobs: they wait on SQS, not on an
	// endpoint, and take no job's place.
	wg.Go(func() { h.triggerEvents(ctx, b, evs) })
	wg.Go(func() { h.continueRecoveries(ctx, b) })
	wg.Go(func() { h.drain(ctx, b) })
	h.attempt(ctx, b, jobs)
	h.sendDeferred(ctx, b)
	wg.Wait()
	h.addStats(ctx, b)
	b.summary(ctx, len(jobs), len(evs))
	return events.SQSEventResponse{BatchItemFailures: b.failures}, nil
}

// summary is the batch's one line at Info: what a first attempt that
// succeeds logs (its own line is Debug), so that CloudWatch Logs costs cents
// per million deliveries. Failed attempts, retries and failed messages have
// their own Warn or Error lines, and every attempt is in its delivery's
// record.
func (b *batch) summary(ctx context.Context, jobs, evs int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	args := make([]any, 0, 12)
	if b.inline > 0 {
		args = append(args, "in_place", b.inline)
	}
	if jobs > 0 || b.inline > 0 {
		args = append(args, "jobs", jobs, "succeeded", b.done.Succeeded, "failed", b.done.Failed,
			"retrying", b.done.Attempts-b.done.Succeeded-b.done.Failed)
	}
	if evs > 0 {
		args = append(args, "events", evs, "deliveries", b.deliveries)
	}
	args = append(args, "errors", len(b.failures))
	b.log.InfoContext(ctx, "batch", args...)
}

// batch is what one Handle call gathers from its messages.
type batch struct {
	log *slog.Logger // with the Lambda request id

	mu       sync.Mutex
	failures []events.SQSBatchItemFailure
	stats    map[string]*webhook.StatsDelta // by webhook id
	done     webhook.StatsDelta             // every attempt's, for the summary
	// deliveries the batch's events were fanned out to
	deliveries int

	recoveries []events.SQSMessage // recovery messages (route)
	deferred   deferrals           // isolation.go
	idle       *idleBatch          // its jobs all wait at the gate (isolation.go)
	// inline is how many of them were attempted in place (inline.go)
	inline int
	drains []events.SQSMessage // drain messages (route)
}

// fail reports msg failed, to come back.
func (b *batch) fail(ctx context.Context, msg events.SQSMessage, err error) {
	b.log.ErrorContext(ctx, "message failed; it will be retried", "message_id", msg.MessageId,
		"receive_count", msg.Attributes["ApproximateReceiveCount"], "error", err)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures = append(b.failures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
}

// count adds an attempt's statistics to its webhook's.
func (b *batch) count(webhookID string, d webhook.StatsDelta) {
	if d.Attempts == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done.Add(d)
	if b.stats[webhookID] == nil {
		b.stats[webhookID] = &webhook.StatsDelta{}
	}
	b.stats[webhookID].Add(d)
}

// route sorts the batch's messages into jobs and events; an event message
// that cannot be read fails at once.
func (b *batch) route(ctx context.Context, msgs []events.SQSMessage) (jobs []events.SQSMessage, evs []eventMessage) {
	for _, msg := range msgs {
		if queue.IsRecovery(msg.Body) {
			b.recoveries = append(b.recoveries, msg)
			continue
		}
		if queue.IsDrain(msg.Body) {
			b.drains = append(b.drains, msg)
			continue
		}
		if queue.IsJob(msg.Body) {
			jobs = append(jobs, msg)
			continue
		}
		req, err := eventRequest(msg)
		if err != nil {
			b.fail(ctx, msg, err)
			continue
		}
		evs = append(evs, eventMessage{msg: msg, req: req})
	}
	return jobs, evs
}

// attempt runs the job messages, at most Concurrency at once.
func (h *Handler) attempt(ctx context.Context, b *batch, jobs []events.SQSMessage) {
	var g errgroup.Group // no WithContext: one job's failure must not cancel the others
	g.SetLimit(h.opt.Concurrency)
	b.idle = newIdleBatch(len(jobs))
	for _, msg := range jobs {
		g.Go(func() error {
			defer b.idle.add(-1)
			webhookID, d, err := h.job(ctx, b, msg)
			if err != nil {
				b.fail(ctx, msg, err)
				return nil
			}
			b.count(webhookID, d)
			return nil
		})
	}
	g.Wait()
}

// job attempts a job message.
func (h *Handler) job(ctx context.Context, b *batch, msg events.SQSMessage) (string, webhook.StatsDelta, error) {
	job, err := queue.DecodeJob(msg.Body)
	if err != nil {
		return "", webhook.StatsDelta{}, err
	}
	release, deferred, err := h.isolate(ctx, b, msg, job)
	if err != nil || deferred {
		return job.WebhookID, webhook.StatsDelta{}, err
	}
	n, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
	d, err := h.jobs.Run(ctx, job, n > 1)
	release(responseTime(d))
	return job.WebhookID, d, err
}

// triggerEvents fans the batch's events out together: one subscriber query
// per event name and one SendMessageBatch per 10 jobs, not one of each per
// event.
func (h *Handler) triggerEvents(ctx context.Context, b *batch, evs []eventMessage) {
	if len(evs) == 0 {
		return
	}
	reqs := make([]webhook.TriggerRequest, len(evs))
	redelivered := false
	for i, e := range evs {
		reqs[i] = e.req
		n, _ := strconv.Atoi(e.msg.Attributes["ApproximateReceiveCount"])
		redelivered = redelivered || n > 1
	}
	results, errs := h.trigger.TriggerBatchVia(ctx, reqs, h.inlineSender(b, redelivered))
	for i, e := range evs {
		if errs[i] != nil {
			b.fail(ctx, e.msg, errs[i])
			continue
		}
		b.mu.Lock()
		b.deliveries += results[i].Deliveries
		b.mu.Unlock()
		b.log.DebugContext(ctx, "event triggered", "message_id", e.msg.MessageId, "via", e.req.Via,
			"event", e.req.Event, "event_id", results[i].EventID, "deliveries", results[i].Deliveries)
	}
}

// addStats makes one counter update per webhook per batch, not per attempt:
// DynamoDB bills each write, and a batch often holds several deliveries to
// one endpoint. A failure here loses counts, never deliveries.
func (h *Handler) addStats(ctx context.Context, b *batch) {
	for id, d := range b.stats {
		if err := h.stats.AddStats(ctx, id, *d); err != nil {
			b.log.ErrorContext(ctx, "update stats", "webhook_id", id, "error", err)
		}
	}
}

// eventMessage is an event message of a batch and what it triggers.
type eventMessage struct {
	msg events.SQSMessage
	req webhook.TriggerRequest
}

// eventRequest reads an event message into the trigger it asks for.
func eventRequest(msg events.SQSMessage) (webhook.TriggerRequest, error) {
	req, err := queue.ParseEvent(msg.Body, msg.MessageId)
	if err != nil {
		return req, err
	}
	switch {
	case req.Source == webhook.FromAPI:
		// A key the producer chose may come back in another message (with
		// another SentTimestamp): it is remembered, and the event timed, as
		// the API's are.
		req.Time = time.Time{}
	case req.Time.IsZero():
		req.Time = sentAt(msg)
	}
	return req, nil
}

// sentAt is when SQS first accepted the message: the same on every
// redelivery, so a redelivered event derives the same ids.
func sentAt(msg events.SQSMessage) time.Time {
	ms, err := strconv.ParseInt(msg.Attributes["SentTimestamp"], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// drain runs the batch's drain messages one after another (one per webhook
// at a time, a page each).
func (h *Handler) drain(ctx context.Context, b *batch) {
	for _, msg := range b.drains {
		m, err := queue.DecodeDrain(msg.Body)
		switch {
		case err != nil:
		case h.opt.Drains == nil:
			err = errors.New("delivery: a drain message, and no drainer is wired")
		default:
			err = h.opt.Drains.Drain(ctx, m)
		}
		if err != nil {
			b.fail(ctx, msg, err)
		}
	}
}
