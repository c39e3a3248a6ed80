// Package recovery carries bulk recovery: re-queue every failed delivery of
// a webhook in a time window, in the background, over SQS. The API starts a
// recovery (Start: validate, write the recovery with an empty cursor, send
// one recovery message on the delivery queue) and reads its progress (Get);
// the delivery function routes each recovery message to Continue, which
// carries the recovery on from its cursor, page by page, and sends the next
// message. Every step is conditional, so a function that dies anywhere is
// resumed by the message coming back, and a delivery is re-queued at most
// once per recovery (docs/internals.md, "Bulk recovery").
package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Store is what a recovery reads and writes (implemented by *store.Store).
type Store interface {
	GetWebhook(ctx context.Context, id string) (*webhook.Webhook, error)
	CreateRecovery(ctx context.Context, r *webhook.Recovery) error
	GetRecovery(ctx context.Context, webhookID, id string) (*webhook.Recovery, error)
	DeleteRecovery(ctx context.Context, webhookID, id string) error
	// AdvanceRecovery records a page, only from r's cursor (EConflict
	// when another processing recorded it first).
	AdvanceRecovery(ctx context.Context, r *webhook.Recovery, p webhook.RecoveryPage, now time.Time) error
	// RecoveryDeliveries reads up to limit deliveries of the window after
	// the cursor, in id order; last: no more.
	RecoveryDeliveries(ctx context.Context, webhookID string, since, until time.Time, after string, limit int) ([]*webhook.Delivery, bool, error)
	// RequeueForRecovery starts a new series of a failed delivery, marked
	// with the recovery's id, once per recovery (EConflict otherwise).
	RequeueForRecovery(ctx context.Context, d *webhook.Delivery, rid string, now time.Time) error
	GetDelivery(ctx context.Context, webhookID, id string) (*webhook.Delivery, error)
}

// Sender sends recovery messages and jobs (implemented by *queue.Queue).
type Sender interface {
	SendRecovery(ctx context.Context, m queue.RecoveryMessage) error
	SendJobs(ctx context.Context, jobs []queue.Job, delays []time.Duration) error
}

// Defaults of Options.
const (
	// DefaultPageSize deliveries are read, re-queued and recorded per step:
	// their jobs fill one SendMessageBatch, and a function that dies leaves
	// at most one step to do again.
	DefaultPageSize = 10
	// DefaultPagesPerMessage steps are taken per message (100 deliveries)
	// before the next message carries on: a message's work stays far
	// inside the function's timeout, and each message costs one read of the
	// recovery and one send.
	DefaultPagesPerMessage = 10
	// DefaultMargin is kept free before the function's deadline: a message
	// near it sends the next one instead of taking another step.
	DefaultMargin = 10 * time.Second
)

// Options are a Service's dependencies and settings.
type Options struct {
	Store  Store  // required
	Sender Sender // required
	// Retention is how long deliveries are kept: a window starting before
	// it starts at now - Retention (nothing older is kept), and the answer
	// says so. Required.
	Retention       time.Duration
	PageSize        int              // DefaultPageSize
	PagesPerMessage int              // DefaultPagesPerMessage
	Margin          time.Duration    // DefaultMargin
	Clock           func() time.Time // time.Now
	NewID           func() string    // webhook.NewID(RecoveryIDPrefix)
	Logger          *slog.Logger     // discard
}

// Service starts, shows and carries on bulk recoveries.
type Service struct {
	opt Options
}

// New returns a Service, or an error naming a required option missing.
func New(o Options) (*Service, error) {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("recovery: Options.Store is required"))
	}
	if o.Sender == nil {
		errs = append(errs, errors.New("recovery: Options.Sender is required"))
	}
	if o.Retention <= 0 {
		errs = append(errs, errors.New("recovery: Options.Retention is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.PagesPerMessage <= 0 {
		o.PagesPerMessage = DefaultPagesPerMessage
	}
	if o.Margin <= 0 {
		o.Margin = DefaultMargin
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.NewID == nil {
		o.NewID = func() string { return webhook.NewID(webhook.RecoveryIDPrefix) }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{opt: o}, nil
}

// Request is a recovery as asked: the window, and the one status that can be
// recovered. Zero Until means now; empty Status means failed.
type Request struct {
	Since  time.Time
	Until  time.Time
	Status webhook.DeliveryStatus
}

// Start validates r, writes a running recovery of webhook webhookID and
// sends its first message. Bad input is EInvalid naming the field, an
// unknown webhook ENotFound, both with nothing written. If the message
// cannot be sent, the recovery is deleted again and the error is
// EUnavailable.
func (s *Service) Start(ctx context.Context, webhookID string, r Request) (*webhook.Recovery, error) {
	now := s.opt.Clock().UTC().Truncate(time.Millisecond)
	rec, err := s.window(r, now)
	if err != nil {
		return nil, err
	}
	if _, err := s.opt.Store.GetWebhook(ctx, webhookID); err != nil {
		return nil, err
	}
	rec.ID, rec.WebhookID, rec.Status = s.opt.NewID(), webhookID, webhook.RecoveryRunning
	rec.CreatedAt, rec.UpdatedAt = now, now
	if err := s.opt.Store.CreateRecovery(ctx, rec); err != nil {
		return nil, err
	}
	if err := s.opt.Sender.SendRecovery(ctx, queue.RecoveryMessage{WebhookID: webhookID, RecoveryID: rec.ID}); err != nil {
		s.opt.Logger.ErrorContext(ctx, "recovery: send first message", "recovery_id", rec.ID, "error", err)
		if derr := s.opt.Store.DeleteRecovery(ctx, webhookID, rec.ID); derr != nil {
			s.opt.Logger.ErrorContext(ctx, "recovery: delete unsent recovery", "recovery_id", rec.ID, "error", derr)
		}
		return nil, webhook.Errorf(webhook.EUnavailable, "the recovery could not be queued; nothing was changed, try again")
	}
	return rec, nil
}

// window checks a request at now and returns the recovery's window.
func (s *Service) window(r Request, now time.Time) (*webhook.Recovery, error) {
	switch r.Status {
	case "", webhook.DeliveryFailed:
	default:
		return nil, webhook.Invalid("status", "status must be failed: only failed deliveries can be recovered")
	}
	if r.Since.IsZero() {
		return nil, webhook.Invalid("since", "since is required")
	}
	until := r.Until
	if until.IsZero() {
		until = now
	}
	switch {
	case until.After(now):
		return nil, webhook.Invalid("until", "until must not be in the future")
	case r.Since.After(until):
		return nil, webhook.Invalid("since", "since must not be after until")
	}
	since := r.Since
	if oldest := now.Add(-s.opt.Retention); since.Before(oldest) {
		// Nothing older is kept: start where the deliveries do, and say so
		// (requested_since keeps what was asked).
		since = oldest
	}
	if since.After(until) {
		return nil, webhook.Invalid("until", "until is before the oldest delivery kept (retention %s): nothing to recover", s.opt.Retention)
	}
	return &webhook.Recovery{Since: since.UTC(), RequestedSince: r.Since.UTC(), Until: until.UTC()}, nil
}

// Get returns a recovery of a webhook, or ENotFound.
func (s *Service) Get(ctx context.Context, webhookID, id string) (*webhook.Recovery, error) {
	if _, err := s.opt.Store.GetWebhook(ctx, webhookID); err != nil {
		return nil, err
	}
	return s.opt.Store.GetRecovery(ctx, webhookID, id)
}

// Continue carries a recovery on from its cursor: up to PagesPerMessage
// pages, then it sends the next message, unless the window is done. An
// error means the message should come back (it resumes from the cursor).
// redelivered says this message was received before: its processing died
// part-way, so the deliveries it marked but may not have sent a job for are
// sent one now (see resend).
func (s *Service) Continue(ctx context.Context, m queue.RecoveryMessage, redelivered bool) error {
	log := s.opt.Logger.With("recovery_id", m.RecoveryID, "webhook_id", m.WebhookID)
	r, err := s.opt.Store.GetRecovery(ctx, m.WebhookID, m.RecoveryID)
	if webhook.ErrorCode(err) == webhook.ENotFound {
		log.WarnContext(ctx, "recovery message for an unknown recovery; dropped")
		return nil
	} else if err != nil {
		return err
	}
	for range s.opt.PagesPerMessage {
		if r.Status != webhook.RecoveryRunning {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < s.opt.Margin {
			break
		}
		moved, err := s.page(ctx, r, redelivered)
		if err != nil {
			return err
		}
		if !moved {
			// Another processing of this recovery recorded the page first
			// (a duplicate message): that one carries on.
			log.InfoContext(ctx, "recovery page recorded by another message; this one stops")
			return nil
		}
	}
	if r.Status != webhook.RecoveryRunning {
		log.InfoContext(ctx, "recovery done", "scanned", r.Scanned, "queued", r.Queued, "skipped", r.Skipped)
		return nil
	}
	if err := s.opt.Sender.SendRecovery(ctx, m); err != nil {
		// The message comes back and sends it then: the cursor is kept.
		return fmt.Errorf("recovery %s: send next message: %w", r.ID, err)
	}
	return nil
}

// page takes one step: read the next deliveries after the cursor, re-queue
// the failed ones, send their jobs in one batch, record the cursor and the
// counts. moved is false when the cursor had moved meanwhile.
func (s *Service) page(ctx context.Context, r *webhook.Recovery, redelivered bool) (moved bool, err error) {
	ds, last, err := s.opt.Store.RecoveryDeliveries(ctx, r.WebhookID, r.Since, r.Until, r.Cursor, s.opt.PageSize)
	if err != nil {
		return false, err
	}
	p := webhook.RecoveryPage{Last: last}
	var jobs []queue.Job
	now := s.opt.Clock()
	for _, d := range ds {
		p.Scanned++
		p.Cursor = d.ID
		switch {
		case d.RecoveredBy == r.ID:
			// Re-queued by an earlier processing of this page, which died
			// before recording it.
			p.Queued++
			if s.resend(d, redelivered) {
				jobs = append(jobs, queue.RetryJob(d))
			}
		case d.Status == webhook.DeliveryFailed:
			err := s.opt.Store.RequeueForRecovery(ctx, d, r.ID, now)
			switch {
			case err == nil:
				p.Queued++
				jobs = append(jobs, queue.RetryJob(d))
			case webhook.ErrorCode(err) == webhook.EConflict:
				// Changed since it was read: retried by hand, or re-queued by
				// a duplicate message of this recovery (then it is ours).
				cur, gerr := s.opt.Store.GetDelivery(ctx, d.WebhookID, d.ID)
				if gerr == nil && cur.RecoveredBy == r.ID {
					p.Queued++
				} else {
					p.Skipped++
				}
			default:
				return false, err
			}
		}
	}
	if len(jobs) > 0 {
		if err := s.opt.Sender.SendJobs(ctx, jobs, nil); err != nil {
			return false, fmt.Errorf("recovery %s: send %d jobs: %w", r.ID, len(jobs), err)
		}
	}
	err = s.opt.Store.AdvanceRecovery(ctx, r, p, s.opt.Clock())
	if webhook.ErrorCode(err) == webhook.EConflict {
		return false, nil
	}
	return err == nil, err
}

// resend reports whether a delivery this recovery re-queued before needs its
// job sent again: only when the message is redelivered (its first
// processing died, perhaps between marking the delivery and sending the
// job) and the new series has not made an attempt yet. Were the job sent
// after all, the copy finds its attempt recorded and is dropped without a
// request (delivery.Attempter), since SQS shows a failed message again only
// after its visibility timeout, long after the first copy ran.
func (s *Service) resend(d *webhook.Delivery, redelivered bool) bool {
	return redelivered && d.Status == webhook.DeliveryPending && len(d.Attempts) == d.SeriesStart-1
}
