// Package manage carries the webhook management use cases: create, read,
// list, change (a JSON merge patch), pause, resume and delete a webhook,
// read its statistics, send it a test delivery and retry a failed delivery.
// It owns their rules (defaults, secret generation, validation, sealing,
// re-applying an update that lost a race) and nothing of their transport:
// the HTTP API decodes a request, calls a Service and encodes the answer,
// and the Service is tested without HTTP.
package manage

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	randv2 "math/rand/v2"
	"time"

	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/wait"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Store is the storage of webhooks and their statistics (implemented by
// *store.Store).
type Store interface {
	CreateWebhook(ctx context.Context, w *webhook.Webhook) error
	GetWebhook(ctx context.Context, id string) (*webhook.Webhook, error)
	ListWebhooks(ctx context.Context, f webhook.ListFilter) (webhook.Page[*webhook.Webhook], error)
	// UpdateWebhook writes w if the stored version is still w.Version
	// (EConflict otherwise) and moves w.Version on.
	UpdateWebhook(ctx context.Context, w *webhook.Webhook) error
	DeleteWebhook(ctx context.Context, id string) error
	GetStats(ctx context.Context, id string) (webhook.Stats, error)
	// GetStatsSince is GetStats with the hourly buckets from hour since on.
	GetStatsSince(ctx context.Context, id string, since time.Time) (webhook.Stats, error)
}

// Secrets seals a webhook's credentials before they are stored and opens
// them when a use case needs them (implemented by *secrets.KMS).
type Secrets interface {
	Seal(ctx context.Context, webhookID string, creds map[string]string) ([]byte, error)
	Open(ctx context.Context, webhookID string, sealed []byte) (map[string]string, error)
}

// Deliveries is the delivery history a manual retry changes (implemented
// by *store.Store).
type Deliveries interface {
	GetDelivery(ctx context.Context, webhookID, id string) (*webhook.Delivery, error)
	// RequeueDelivery makes a failed delivery pending again, its next
	// attempt starting a new series; EConflict unless it is failed.
	RequeueDelivery(ctx context.Context, webhookID, id string, now time.Time) (*webhook.Delivery, error)
	// UndoRequeue puts a requeued delivery back to failed.
	UndoRequeue(ctx context.Context, d *webhook.Delivery, completedAt time.Time) error
}

// JobSender enqueues delivery jobs (implemented by *queue.Queue).
type JobSender interface {
	SendJobs(ctx context.Context, jobs []queue.Job, delays []time.Duration) error
}

// Tester sends one test delivery to a webhook whose credentials are open,
// waits for the answer and records it (implemented by *delivery.Attempter).
type Tester interface {
	Test(ctx context.Context, w *webhook.Webhook) (*delivery.TestResult, error)
}

// DefaultReapplyFor is how long an update that names no version is
// re-applied after losing races with other writers before it gives up.
const DefaultReapplyFor = 5 * time.Second

// Options are a Service's dependencies and settings.
type Options struct {
	Store   Store   // required
	Secrets Secrets // required
	// Mask returns the shown form of credentials (secrets.Mask); required.
	Mask func(creds map[string]string) map[string]string
	// GenerateSecret makes an HMAC secret for a webhook given auth_type hmac
	// and no secret (secrets.GenerateHMACSecret); required.
	GenerateSecret func(io.Reader) (string, error)

	// Deliveries and Jobs serve Retry, Tester serves Test; without them
	// those use cases fail.
	Deliveries Deliveries
	Jobs       JobSender
	Tester     Tester
	// Health shows the endpoints' health on reads (and Resume clears it);
	// without it webhooks show a healthy endpoint.
	Health HealthReader
	// Drains drains a webhook's held deliveries after Resume (hold.go);
	// without it held deliveries wait for the next parked job's drain.
	Drains Drainer

	AllowPrivate   bool          // ALLOW_PRIVATE_TARGETS
	DefaultTimeout time.Duration // timeout of a webhook created without one; default 30 s
	// ReapplyFor bounds how long an update without a version is re-applied
	// after losing races; DefaultReapplyFor when zero.
	ReapplyFor time.Duration

	Clock  func() time.Time // default time.Now
	Rand   io.Reader        // generated secrets; default crypto/rand.Reader
	Jitter func() float64   // in [0,1), spreads the re-applies; default math/rand/v2
	// Sleep waits d between re-applies, or less if ctx ends (then it returns
	// ctx's error); default a timer.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger // default: discard
}

// Service carries the webhook management use cases. Make it with New; it is
// safe for concurrent use.
type Service struct {
	opt Options
}

// New returns a Service, or an error naming every required option missing.
func New(o Options) (*Service, error) {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("manage: Options.Store is required"))
	}
	if o.Secrets == nil {
		errs = append(errs, errors.New("manage: Options.Secrets is required"))
	}
	if o.Mask == nil {
		errs = append(errs, errors.New("manage: Options.Mask is required"))
	}
	if o.GenerateSecret == nil {
		errs = append(errs, errors.New("manage: Options.GenerateSecret is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = webhook.DefaultTimeoutMS * time.Millisecond
	}
	if o.ReapplyFor <= 0 {
		o.ReapplyFor = DefaultReapplyFor
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Jitter == nil {
		o.Jitter = randv2.Float64
	}
	if o.Sleep == nil {
		o.Sleep = wait.Sleep
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{opt: o}, nil
}

// now is the clock in milliseconds, the precision the API shows.
func (s *Service) now() time.Time { return s.opt.Clock().UTC().Truncate(time.Millisecond) }

// defaults is a webhook as a create starts it, and what a null in a patch
// returns an optional member to.
func (s *Service) defaults() *webhook.Webhook {
	return &webhook.Webhook{
		Method:    webhook.DefaultMethod,
		Headers:   map[string]string{},
		Status:    webhook.StatusActive,
		AuthType:  webhook.AuthNone,
		Retry:     webhook.DefaultRetryPolicy(),
		TimeoutMS: s.opt.DefaultTimeout.Milliseconds(),
	}
}

// CheckWebhookID answers an id that no webhook can have with ENotFound, as
// a lookup of it would; every use case that takes an id checks it first,
// without asking the store.
func CheckWebhookID(id string) error {
	if !webhook.ValidID(webhook.WebhookIDPrefix, id) {
		return webhook.Errorf(webhook.ENotFound, "webhook %s not found", webhook.Clip(id, 64))
	}
	return nil
}

// load reads a webhook, answering a malformed id without asking the store.
// A rotation's previous secret that has expired is dropped: it is not
// shown, and a write of w does not keep it.
func (s *Service) load(ctx context.Context, id string) (*webhook.Webhook, error) {
	if err := CheckWebhookID(id); err != nil {
		return nil, err
	}
	w, err := s.opt.Store.GetWebhook(ctx, id)
	if err != nil {
		return nil, err
	}
	w.DropExpiredPrevious(s.opt.Clock())
	return w, nil
}

// Re-apply backoff: the first wait is about reapplyBase, each next one up to
// twice as long, at most reapplyCap; each is jittered down to half, so
// writers that collided spread apart.
const (
	reapplyBase = 5 * time.Millisecond
	reapplyCap  = 250 * time.Millisecond
)

// reapply runs update until it does not lose a race with another writer
// (EConflict), waiting a growing, jittered while between tries, for at most
// ReapplyFor. For updates that name no version: the client asked to apply
// its change to whatever the webhook is now.
func (s *Service) reapply(ctx context.Context, id string, update func() error) error {
	deadline := s.opt.Clock().Add(s.opt.ReapplyFor)
	for try := 0; ; try++ {
		err := update()
		if webhook.ErrorCode(err) != webhook.EConflict {
			return err
		}
		wait := reapplyCap
		if try < 16 {
			wait = min(reapplyCap, reapplyBase<<try)
		}
		wait = wait/2 + time.Duration(s.opt.Jitter()*float64(wait/2))
		if s.opt.Clock().Add(wait).After(deadline) {
			return webhook.Errorf(webhook.EConflict,
				"webhook %s kept changing while this update was re-applied for %s; try again", id, s.opt.ReapplyFor)
		}
		if err := s.opt.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
