package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/recovery"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/secrets"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/trigger"
)

// Compile-time checks that the concrete types satisfy the pipeline's
// interfaces.
var (
	_ trigger.Subscribers = (*store.Store)(nil)
	_ trigger.Keys        = (*store.Store)(nil)
	_ trigger.JobSender   = (*queue.Queue)(nil)
	_ delivery.Store      = (*store.Store)(nil)
	_ delivery.StatsAdder = (*store.Store)(nil)
	_ delivery.Opener     = (*secrets.KMS)(nil)
	_ delivery.Scheduler  = (*queue.Queue)(nil)
	_ delivery.Runner     = (*delivery.Attempter)(nil)
	_ delivery.Triggerer  = (*trigger.Service)(nil)
	_ delivery.Recoverer  = (*recovery.Service)(nil)
	_ recovery.Store      = (*store.Store)(nil)
	_ recovery.Sender     = (*queue.Queue)(nil)
)

// DeliveryRequires lists the settings the delivery function needs.
var DeliveryRequires = []string{"TABLE_WEBHOOKS", "TABLE_DELIVERIES", "DELIVERY_QUEUE_URL", "KMS_KEY_ID"}

// JobSendConcurrency is how many SendMessageBatch calls one fan-out has in
// flight: a trigger to 1,000 subscribers is 100 batches, ~13 round trips at 8
// (internal/devtools/bench BenchmarkTriggerFanOut).
const JobSendConcurrency = 8

// Pipeline is the event side of the service, built once per process.
type Pipeline struct {
	Store     *store.Store
	Secrets   *secrets.KMS
	Jobs      *queue.Queue
	Triggers  *trigger.Service
	Attempter *delivery.Attempter
	Handler   *delivery.Handler
	// Recovery starts bulk recoveries (the API) and carries them on (the
	// delivery function's recovery messages).
	Recovery *recovery.Service
}

// NewPipeline builds the trigger service and the delivery handler for cfg.
// now may be nil (time.Now); tests pass a controllable clock.
func NewPipeline(cfg config.Config, clients *awsx.Clients, log *slog.Logger, now func() time.Time) (*Pipeline, error) {
	if err := cfg.Require(DeliveryRequires...); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	p := &Pipeline{
		Store:   store.New(clients.DynamoDB, store.Tables{Webhooks: cfg.WebhooksTable, Deliveries: cfg.DeliveriesTable}, store.WithRetentionDays(cfg.RetentionDays)),
		Secrets: secrets.NewKMS(clients.KMS, cfg.KMSKeyID),
		Jobs:    queue.New(clients.SQS, cfg.DeliveryQueueURL, queue.WithClock(now), queue.WithConcurrency(JobSendConcurrency)),
	}
	p.Triggers = trigger.New(p.Store, p.Jobs, p.Store, now, log)
	a, err := delivery.NewAttempter(p.Store, p.Secrets, p.Jobs, delivery.Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: cfg.AllowPrivate}),
		Now:    now,
		Log:    log,
	})
	if err != nil {
		return nil, err
	}
	p.Attempter = a
	p.Recovery, err = recovery.New(recovery.Options{
		Store: p.Store, Sender: p.Jobs, Retention: p.Store.Retention(), Clock: now, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	p.Handler = delivery.NewHandler(a, p.Triggers, p.Store, delivery.HandlerOptions{Log: log, Recovery: p.Recovery})
	return p, nil
}

// SQSHandler is the delivery function's Lambda handler.
func (p *Pipeline) SQSHandler() func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return p.Handler.Handle
}
