package delivery

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Triggerer fans events out into delivery jobs: results[i] and errs[i]
// answer reqs[i], each request failing alone.
type Triggerer interface {
	TriggerBatch(ctx context.Context, reqs []webhook.TriggerRequest) ([]webhook.TriggerResult, []error)
}

// StatsAdder adds to a webhook's counters.
type StatsAdder interface {
	AddStats(ctx context.Context, webhookID string, d webhook.StatsDelta) error
}

// Handler is the delivery function: it consumes both queues. A job message
// is attempted; any other message is an event from another AWS service and is
// triggered, together with the batch's other events. It answers with partial batch failures, so one bad message never
// re-runs its batch-mates.
type Handler struct {
	attempter   *Attempter
	trigger     Triggerer
	stats       StatsAdder
	concurrency int
}

// NewHandler returns a Handler running at most concurrency messages of a
// batch at once (10 when ≤ 0: a whole SQS batch, so one slow endpoint does
// not hold up the others).
func NewHandler(a *Attempter, t Triggerer, s StatsAdder, concurrency int) *Handler {
	if concurrency <= 0 {
		concurrency = 10
	}
	return &Handler{attempter: a, trigger: t, stats: s, concurrency: concurrency}
}

// Handle processes a batch. It never returns an error: a failed message is
// listed in BatchItemFailures and comes back after its visibility timeout
// (and reaches the DLQ after maxReceiveCount).
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := h.attempter.opt.Log
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("request_id", lc.AwsRequestID)
	}
	var (
		mu       sync.Mutex
		failures []events.SQSBatchItemFailure
		stats    = map[string]*webhook.StatsDelta{}
		wg       sync.WaitGroup
		sem      = make(chan struct{}, h.concurrency)
	)
	fail := func(msg events.SQSMessage, err error) {
		mu.Lock()
		defer mu.Unlock()
		log.ErrorContext(ctx, "message failed; it will be retried", "message_id", msg.MessageId,
			"receive_count", msg.Attributes["ApproximateReceiveCount"], "error", err)
		failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
	}
	var (
		jobs []events.SQSMessage
		evs  []eventMessage
	)
	for _, msg := range ev.Records {
		if queue.IsJob(msg.Body) {
			jobs = append(jobs, msg)
			continue
		}
		e, err := eventRequest(msg)
		if err != nil {
			fail(msg, err)
			continue
		}
		evs = append(evs, e)
	}
	if len(evs) > 0 {
		// The batch's events fan out together: one subscriber query per
		// event type and one SendMessageBatch per 10 jobs, not one of each
		// per event.
		wg.Go(func() {
			reqs := make([]webhook.TriggerRequest, len(evs))
			for i, e := range evs {
				reqs[i] = e.req
			}
			results, errs := h.trigger.TriggerBatch(ctx, reqs)
			for i, e := range evs {
				if errs[i] != nil {
					fail(e.msg, errs[i])
					continue
				}
				h.attempter.opt.Log.InfoContext(ctx, "event triggered", "message_id", e.msg.MessageId, "via", e.req.Via,
					"event", e.req.Event, "event_id", results[i].EventID, "deliveries", results[i].Deliveries)
			}
		})
	}
	for _, msg := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			webhookID, d, err := h.job(ctx, msg)
			if err != nil {
				fail(msg, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if d.Attempts > 0 {
				if stats[webhookID] == nil {
					stats[webhookID] = &webhook.StatsDelta{}
				}
				stats[webhookID].Add(d)
			}
		}()
	}
	wg.Wait()

	// One counter update per webhook per batch, not per attempt: DynamoDB
	// bills each write, and a batch often holds several deliveries to one
	// endpoint. A failure here loses counts, never deliveries.
	for id, d := range stats {
		if err := h.stats.AddStats(ctx, id, *d); err != nil {
			log.ErrorContext(ctx, "update stats", "webhook_id", id, "error", err)
		}
	}
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

// job attempts a job message.
func (h *Handler) job(ctx context.Context, msg events.SQSMessage) (string, webhook.StatsDelta, error) {
	job, err := queue.DecodeJob(msg.Body)
	if err != nil {
		return "", webhook.StatsDelta{}, err
	}
	n, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
	d, err := h.attempter.Run(ctx, job, n > 1)
	return job.WebhookID, d, err
}

// eventMessage is an event message of a batch and what it triggers.
type eventMessage struct {
	msg events.SQSMessage
	req webhook.TriggerRequest
}

// eventRequest reads an event message into the trigger it asks for.
func eventRequest(msg events.SQSMessage) (eventMessage, error) {
	req, err := queue.ParseEvent(msg.Body, msg.MessageId)
	if err != nil {
		return eventMessage{}, err
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
	return eventMessage{msg: msg, req: req}, nil
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
