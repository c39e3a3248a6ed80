package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/health"
	"github.com/systemprompt-io/webhooks/internal/oauth2"
	"github.com/systemprompt-io/webhooks/internal/ops"
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
	_ trigger.Subscribers  = (*store.Store)(nil)
	_ trigger.Keys         = (*store.Store)(nil)
	_ trigger.JobSender    = (*queue.Queue)(nil)
	_ delivery.Store       = (*store.Store)(nil)
	_ delivery.HealthStore = (*store.Store)(nil)
	_ delivery.StatsAdder  = (*store.Store)(nil)
	_ delivery.Opener      = (*secrets.KMS)(nil)
	_ delivery.Scheduler   = (*queue.Queue)(nil)
	_ delivery.Runner      = (*delivery.Attempter)(nil)
	_ delivery.Triggerer   = (*trigger.Service)(nil)
	_ delivery.Tokens      = (*oauth2.Provider)(nil)
	_ delivery.Recoverer   = (*recovery.Service)(nil)
	_ delivery.Operations  = (*ops.Emitter)(nil)
	_ ops.Triggerer        = (*trigger.Service)(nil)
	_ recovery.Store       = (*store.Store)(nil)
	_ recovery.Sender      = (*queue.Queue)(nil)
	_ delivery.RateSlots   = (*store.Store)(nil)
	_ delivery.JobSender   = (*queue.Queue)(nil)
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
	// Tokens are the OAuth 2.0 access tokens of the process's oauth2
	// deliveries (and test sends), cached per webhook.
	Tokens *oauth2.Provider
	// Ops triggers the operational events and puts them on the bus.
	Ops *ops.Emitter
}

// PipelineOptions are NewPipelineWith's settings beyond the configuration.
type PipelineOptions struct {
	Now func() time.Time // the pipeline's clock; default time.Now
	// TokenNow is the clock OAuth 2.0 access tokens expire by; default Now.
	// Tests move it on to expire a token without waiting.
	TokenNow func() time.Time
	// CacheTTL is how long the delivery function keeps a webhook and its
	// health (default delivery.Options', 15 s). Measurements that must
	// not depend on how long a run takes set it longer.
	CacheTTL time.Duration
	// Bus, if set, is where the operational events go instead of
	// cfg.OperationsBus (tests record them).
	Bus ops.Publisher
}

// NewPipeline builds the trigger service and the delivery handler for cfg.
// now may be nil (time.Now); tests pass a controllable clock.
func NewPipeline(cfg config.Config, clients *awsx.Clients, log *slog.Logger, now func() time.Time) (*Pipeline, error) {
	return NewPipelineWith(cfg, clients, log, PipelineOptions{Now: now})
}

// NewPipelineWith is NewPipeline with every option.
func NewPipelineWith(cfg config.Config, clients *awsx.Clients, log *slog.Logger, o PipelineOptions) (*Pipeline, error) {
	if err := cfg.Require(DeliveryRequires...); err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.TokenNow == nil {
		o.TokenNow = now
	}
	p := &Pipeline{
		Store:   store.New(clients.DynamoDB, store.Tables{Webhooks: cfg.WebhooksTable, Deliveries: cfg.DeliveriesTable}, store.WithRetentionDays(cfg.RetentionDays)),
		Secrets: secrets.NewKMS(clients.KMS, cfg.KMSKeyID),
		Jobs: queue.New(clients.SQS, cfg.DeliveryQueueURL, queue.WithClock(now), queue.WithConcurrency(JobSendConcurrency),
			queue.WithFairGroups(cfg.FairQueue)),
	}
	p.Triggers = trigger.New(p.Store, p.Jobs, p.Store, now, log)
	// One guarded client for the endpoints and the token endpoints alike.
	client := safehttp.NewClient(safehttp.Options{AllowPrivate: cfg.AllowPrivate})
	tokens, err := oauth2.NewProvider(oauth2.Options{Client: client, Now: o.TokenNow})
	if err != nil {
		return nil, err
	}
	p.Tokens = tokens
	bus := o.Bus
	if bus == nil {
		bus = ops.NewBus(clients.EventBridge, cfg.OperationsBus)
	}
	p.Ops = ops.New(p.Triggers, bus, log)
	a, err := delivery.NewAttempter(p.Store, p.Secrets, p.Jobs, delivery.Options{
		Client:   client,
		Now:      now,
		Log:      log,
		Tokens:   tokens,
		CacheTTL: o.CacheTTL,
		Health:   p.Store,
		Circuit:  health.Policy{OpenAfter: cfg.CircuitOpenAfter, Cooldown: cfg.CircuitCooldown, DisableAfter: cfg.DisableAfter},
		Rates:    p.Store,
		Ops:      p.Ops,
		Held:     p.Store,
		Drains:   p.Jobs,
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
	// A slow webhook's jobs over its share of the instance go back to the
	// queue (delivery.Isolation).
	p.Handler = delivery.NewHandler(a, p.Triggers, p.Store, delivery.HandlerOptions{Log: log, Recovery: p.Recovery, Defer: p.Jobs, Now: now, Queue: p.Jobs, Drains: a})
	return p, nil
}

// SQSHandler is the delivery function's Lambda handler.
func (p *Pipeline) SQSHandler() func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return p.Handler.Handle
}

var _ delivery.HeldStore = (*store.Store)(nil)
