package delivery

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/systemprompt-io/webhooks/internal/health"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// HeldStore parks and releases held deliveries and keeps each webhook's
// drain (implemented by *store.Store; docs/internals.md, "Hold and drain").
type HeldStore interface {
	HoldDelivery(ctx context.Context, d *webhook.Delivery) error
	HeldDeliveries(ctx context.Context, webhookID, from string, limit int) ([]*webhook.Delivery, bool, error)
	ReleaseHeld(ctx context.Context, d *webhook.Delivery, now time.Time) error
	// RestoreHeld undoes a ReleaseHeld whose job could not be sent.
	RestoreHeld(ctx context.Context, d *webhook.Delivery) error
	GetDrain(ctx context.Context, webhookID string) (webhook.Drain, error)
	LowerDrainFrom(ctx context.Context, webhookID, id string) error
	ClaimDrain(ctx context.Context, webhookID, token string, now, lease time.Time, force bool) (bool, error)
	AdvanceDrain(ctx context.Context, webhookID, token, was, next string) (bool, error)
	EndDrain(ctx context.Context, webhookID, token string) (bool, error)
}

// DrainSender sends drain messages (implemented by *queue.Queue).
type DrainSender interface {
	SendDrain(ctx context.Context, m queue.DrainMessage, delay time.Duration) error
}

var _ DrainSender = (*queue.Queue)(nil)

// Drain pacing: a page of DrainPage held deliveries is released per drain
// message, one message every DrainEvery, so a drain adds at most 10
// deliveries a second per webhook to the queue (bounded, in creation order).
const (
	DrainPage  = 10
	DrainEvery = time.Second
)

// forever is the lease of a drain whose webhook is inactive: nothing
// carries it on until a resume takes it over.
const forever = 100 * 365 * 24 * time.Hour

// drains is what an instance knows of its webhooks' drains: which are
// carried by some message (so parking does not claim again), until when.
type drains struct {
	mu    sync.Mutex
	known map[string]time.Time
}

func (a *Attempter) holding() bool { return a.opt.Held != nil && a.opt.Drains != nil }

// park records job's delivery as held instead of sending it: a new record
// for a first attempt, the record so far otherwise. Nothing is sent and no
// message waits: the webhook's drain carries it on (why: the log's reason).
func (a *Attempter) park(ctx context.Context, job queue.Job, why string, until time.Time) error {
	d := newDelivery(job)
	if job.Attempt > 1 {
		cur, err := a.store.GetDelivery(ctx, job.WebhookID, job.DeliveryID)
		if webhook.ErrorCode(err) == webhook.ENotFound {
			return nil
		} else if err != nil {
			return fmt.Errorf("get delivery %s to hold it: %w", job.DeliveryID, err)
		}
		if len(cur.Attempts) != job.Attempt-1 || cur.Status.Final() {
			return nil // out of step
		}
		d = cur
	}
	d.EventTime, d.Data, d.Metadata = job.Timestamp, job.Data, job.Metadata
	var err error
	if d.Status == webhook.DeliveryHeld {
		// Held by a copy of this job, which may have died before the
		// drain knew: made sure of below.
		err = webhook.Errorf(webhook.EConflict, "delivery %s is held", d.ID)
	} else {
		err = a.opt.Held.HoldDelivery(ctx, d)
	}
	switch webhook.ErrorCode(err) {
	case "":
	case webhook.EConflict:
		// A copy of this job parked it (or attempted it) first; the drain
		// is made sure of below all the same, in case that copy died.
	case webhook.ENotFound:
		return nil // past retention
	default:
		return err
	}
	if err := a.opt.Held.LowerDrainFrom(ctx, job.WebhookID, job.DeliveryID); err != nil {
		return err
	}
	a.opt.Log.InfoContext(ctx, "delivery held", "reason", why, "delivery_id", job.DeliveryID,
		"webhook_id", job.WebhookID, "attempt", job.Attempt)
	return a.ensureDrain(ctx, job.WebhookID, until, false)
}

// ensureDrain makes sure a drain message carries webhook id's held
// deliveries on, arriving at until (now for a resume or a close): it claims
// the drain if none holds it (or takes it over with force) and sends the
// message. An instance that saw a drain held skips the claim while it lasts.
func (a *Attempter) ensureDrain(ctx context.Context, id string, until time.Time, force bool) error {
	now := a.opt.Now()
	if !force {
		a.drn.mu.Lock()
		held := now.Before(a.drn.known[id])
		a.drn.mu.Unlock()
		if held {
			return nil
		}
	}
	token := webhook.NewID("drn_")
	delay := max(until.Sub(now), 0)
	ok, err := a.opt.Held.ClaimDrain(ctx, id, token, now, now.Add(leaseFor(delay)), force)
	if err != nil {
		return err
	}
	a.drn.mu.Lock()
	if a.drn.known == nil {
		a.drn.known = map[string]time.Time{}
	}
	a.drn.known[id] = now.Add(a.opt.CacheTTL)
	a.drn.mu.Unlock()
	if !ok {
		return nil
	}
	return a.opt.Drains.SendDrain(ctx, queue.DrainMessage{WebhookID: id, Token: token}, min(delay, queue.MaxDelay))
}

// leaseFor is how long a drain holds its claim for a message sent with
// delay: its arrival, and two visibility timeouts for a handler that fails.
func leaseFor(delay time.Duration) time.Duration {
	return min(delay, queue.MaxDelay) + 2*queue.VisibilityTimeout
}

// StartDrain takes webhook id's drain over and drains it, after a resume
// and after its circuit closed. The first page waits for the caches'
// lifetime (Options.CacheTTL), so no instance still holding the old state
// parks a job behind the drain.
func (a *Attempter) StartDrain(ctx context.Context, id string) error {
	if !a.holding() {
		return nil
	}
	return a.ensureDrain(ctx, id, a.opt.Now().Add(a.opt.CacheTTL), true)
}

// Drain carries a webhook's held deliveries on (a drain message): while
// the webhook is inactive the drain waits for a resume; while its circuit
// is open it sleeps until the probe is due, then releases the oldest held
// delivery as the probe; once closed and active it releases a page in
// creation order and comes back after DrainEvery, until none is held. A
// message of a drain taken over stops. An error means the message should
// come back.
func (a *Attempter) Drain(ctx context.Context, m queue.DrainMessage) error {
	if !a.holding() {
		return nil
	}
	dr, err := a.opt.Held.GetDrain(ctx, m.WebhookID)
	if err != nil {
		return err
	}
	if dr.Token != m.Token {
		return nil // taken over, or ended
	}
	log := a.opt.Log.With("webhook_id", m.WebhookID)
	w, err := a.store.GetWebhook(ctx, m.WebhookID)
	if webhook.ErrorCode(err) == webhook.ENotFound {
		return nil // deleted (with its drain item); held records expire with retention
	} else if err != nil {
		return err
	}
	now := a.opt.Now()
	if w.Status != webhook.StatusActive {
		// Held until a resume, which takes the drain over: no message
		// meanwhile.
		_, err := a.opt.Held.ClaimDrain(ctx, m.WebhookID, m.Token, now, now.Add(forever), false)
		return err
	}
	if a.breakerOn() {
		h, err := a.opt.Health.GetHealth(ctx, m.WebhookID)
		if err != nil {
			return err
		}
		a.learn(m.WebhookID, h)
		if h.State() != webhook.CircuitClosed {
			return a.drainProbe(ctx, w, m, dr, a.opt.Circuit.Gate(h, now))
		}
	}
	if dr.From == "" {
		// No held record was recorded: nothing to read.
		_, err := a.opt.Held.EndDrain(ctx, m.WebhookID, m.Token)
		return err
	}
	ds, last, err := a.opt.Held.HeldDeliveries(ctx, m.WebhookID, dr.From, DrainPage)
	if err != nil {
		return err
	}
	if err := a.release(ctx, ds); err != nil {
		return err
	}
	next := ""
	if !last {
		next = ds[len(ds)-1].ID + "!" // just after the page's last id
	}
	moved, err := a.opt.Held.AdvanceDrain(ctx, m.WebhookID, m.Token, dr.From, next)
	if err != nil {
		return err
	}
	if moved && last {
		// Look behind once more: a job parked meanwhile behind the pass
		// did not lower "from" (docs/internals.md, "Hold and drain").
		start := dr.From
		if dr.Pass != "" {
			start = min(dr.Pass, dr.From)
		}
		behind, _, err := a.opt.Held.HeldDeliveries(ctx, m.WebhookID, start, 1)
		if err != nil {
			return err
		}
		if len(behind) == 0 {
			ended, err := a.opt.Held.EndDrain(ctx, m.WebhookID, m.Token)
			if err != nil || ended {
				if ended {
					log.InfoContext(ctx, "drain done")
				}
				return err
			}
		} else if err := a.opt.Held.LowerDrainFrom(ctx, m.WebhookID, behind[0].ID); err != nil {
			return err
		}
	}
	return a.renew(ctx, m, DrainEvery)
}

// drainProbe carries a drain on while the circuit is open: it sleeps until
// the probe is due, then releases the oldest held delivery, whose job
// claims the probe as any job does. A success closes the circuit and takes
// the drain over (StartDrain); this message comes back after the probe's
// lease to try again if it failed.
func (a *Attempter) drainProbe(ctx context.Context, w *webhook.Webhook, m queue.DrainMessage, dr webhook.Drain, dec health.Decision) error {
	if dec.Verdict == health.Hold {
		return a.renew(ctx, m, dec.Until.Sub(a.opt.Now()))
	}
	var ds []*webhook.Delivery
	if dr.From != "" {
		var err error
		if ds, _, err = a.opt.Held.HeldDeliveries(ctx, m.WebhookID, dr.From, 1); err != nil {
			return err
		}
	}
	if len(ds) == 0 {
		// Nothing held: the next job parked starts a drain again.
		if moved, err := a.opt.Held.AdvanceDrain(ctx, m.WebhookID, m.Token, dr.From, ""); err != nil || !moved {
			return err
		}
		_, err := a.opt.Held.EndDrain(ctx, m.WebhookID, m.Token)
		return err
	}
	if err := a.release(ctx, ds); err != nil {
		return err
	}
	return a.renew(ctx, m, health.ProbeLease(timeoutOf(w))+time.Second)
}

// release makes held deliveries pending, each once (a conditional write),
// and sends their jobs in one batch.
func (a *Attempter) release(ctx context.Context, ds []*webhook.Delivery) error {
	now := a.opt.Now().UTC().Truncate(time.Millisecond)
	var jobs []queue.Job
	for _, d := range ds {
		err := a.opt.Held.ReleaseHeld(ctx, d, now)
		if webhook.ErrorCode(err) == webhook.EConflict {
			continue // released by a copy of this message
		} else if err != nil {
			return err
		}
		jobs = append(jobs, queue.RetryJob(d))
	}
	if len(jobs) == 0 {
		return nil
	}
	if err := a.jobs.SendJobs(ctx, jobs, nil); err != nil {
		// Held again, so the message coming back releases them again.
		for _, j := range jobs {
			d := &webhook.Delivery{ID: j.DeliveryID, WebhookID: j.WebhookID, Attempts: make([]webhook.Attempt, j.Attempt-1)}
			if rerr := a.opt.Held.RestoreHeld(ctx, d); rerr != nil {
				a.opt.Log.ErrorContext(ctx, "drain: hold a released delivery again", "delivery_id", d.ID, "error", rerr)
			}
		}
		return fmt.Errorf("drain: send %d released jobs: %w", len(jobs), err)
	}
	return nil
}

// renew extends the drain's claim and sends its next message after wait.
func (a *Attempter) renew(ctx context.Context, m queue.DrainMessage, wait time.Duration) error {
	now := a.opt.Now()
	wait = min(max(wait, time.Second), queue.MaxDelay)
	ok, err := a.opt.Held.ClaimDrain(ctx, m.WebhookID, m.Token, now, now.Add(leaseFor(wait)), false)
	if err != nil || !ok {
		return err
	}
	return a.opt.Drains.SendDrain(ctx, m, wait)
}

// wait keeps a job the breaker holds: parked as a held delivery (hold.go),
// or without a HeldStore sent back to SQS until until (circuit.go's hold).
func (a *Attempter) wait(ctx context.Context, w *webhook.Webhook, job queue.Job, until time.Time) error {
	if !a.holding() {
		return a.hold(ctx, w, job, until)
	}
	why := "circuit open"
	if w.Status == webhook.StatusInactive {
		why = string(w.Reason())
		until = time.Time{} // a resume drains it
	}
	return a.park(ctx, job, why, until)
}
