package delivery

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/systemprompt-io/webhooks/internal/health"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// HealthStore keeps the endpoints' health and applies the breaker's
// transitions atomically (implemented by *store.Store). Each write answers
// the state after it, so a function instance learns the circuit from its own
// attempts without a read.
type HealthStore interface {
	GetHealth(ctx context.Context, id string) (webhook.Health, error)
	RecordFailure(ctx context.Context, id string, at time.Time) (webhook.Health, error)
	// RecordSuccess answers closed when this write closed an open or
	// half-open circuit.
	RecordSuccess(ctx context.Context, id string) (h webhook.Health, closed bool, err error)
	OpenCircuit(ctx context.Context, id string, at time.Time, openAfter int, cooldown time.Duration) (webhook.Health, bool, error)
	ClaimProbe(ctx context.Context, id string, now time.Time, lease time.Duration, by string) (webhook.Health, bool, error)
	ProbeFailed(ctx context.Context, id string, at time.Time, by string, cooldown time.Duration) (webhook.Health, bool, error)
	// DisableWebhook makes a webhook inactive for reason (auto-disable);
	// changed says this call did.
	DisableWebhook(ctx context.Context, id string, reason webhook.StatusReason) (changed bool, err error)
}

// breaker is the Attempter's view of its endpoints' circuits: the health
// read at most once per CacheTTL per webhook (as the webhook itself), and
// replaced by the answer of every health write this instance makes.
type breaker struct {
	mu     sync.Mutex
	known  map[string]cachedHealth
	claims singleflight.Group // one probe claim per webhook at a time in this instance
	loads  singleflight.Group // one health read per webhook, however many jobs of a batch want it
}

type claimResult struct {
	h  webhook.Health
	ok bool
}

type cachedHealth struct {
	h       webhook.Health
	fetched time.Time
}

// breakerOn reports whether endpoint health is kept: a store for it, and
// the breaker or the auto-disable turned on.
func (a *Attempter) breakerOn() bool {
	return a.opt.Health != nil && (!a.opt.Circuit.Off() || a.opt.Circuit.DisableAfter > 0)
}

// healthOf is the health of webhook id as this instance knows it.
func (a *Attempter) healthOf(ctx context.Context, id string) (webhook.Health, error) {
	now := a.opt.Now()
	a.brk.mu.Lock()
	c, ok := a.brk.known[id]
	a.brk.mu.Unlock()
	if ok && now.Sub(c.fetched) < a.opt.CacheTTL {
		return c.h, nil
	}
	v, err, _ := a.brk.loads.Do(id, func() (any, error) {
		h, err := a.opt.Health.GetHealth(ctx, id)
		if err == nil {
			a.learn(id, h)
		}
		return h, err
	})
	if err != nil {
		return webhook.Health{}, fmt.Errorf("get health of %s: %w", id, err)
	}
	return v.(webhook.Health), nil
}

// learn keeps h as webhook id's health.
func (a *Attempter) learn(id string, h webhook.Health) {
	a.brk.mu.Lock()
	defer a.brk.mu.Unlock()
	if a.brk.known == nil {
		a.brk.known = map[string]cachedHealth{}
	}
	a.brk.known[id] = cachedHealth{h: h, fetched: a.opt.Now()}
}

// gate is the breaker's verdict on a job before its delivery is read. A job
// of an auto-disabled webhook waits, without probing, until a resume.
func (a *Attempter) gate(ctx context.Context, w *webhook.Webhook, job queue.Job) (health.Decision, error) {
	if !a.breakerOn() || job.Test {
		return health.Decision{Verdict: health.Send}, nil
	}
	if w.Status == webhook.StatusInactive && w.Reason() == webhook.ReasonAutoDisabled {
		return health.Decision{Verdict: health.Hold, Until: a.opt.Now().Add(a.opt.Circuit.DisabledHold())}, nil
	}
	h, err := a.healthOf(ctx, job.WebhookID)
	if err != nil {
		return health.Decision{}, err
	}
	return a.opt.Circuit.Gate(h, a.opt.Now()), nil
}

// probeToken names one attempt of one delivery as a probe's owner.
func probeToken(job queue.Job) string { return job.DeliveryID + "#" + strconv.Itoa(job.Attempt) }

// claim tries to make this job the circuit's probe. It answers Probe when
// the claim is won, Send when the circuit closed meanwhile, or Hold with
// when the job should come back.
func (a *Attempter) claim(ctx context.Context, job queue.Job, timeout time.Duration) (health.Decision, error) {
	now := a.opt.Now()
	// Jobs of one batch that find the probe due together make one claim:
	// the job whose claim it is may probe, the others learn its answer.
	mine := false
	v, err, _ := a.brk.claims.Do(job.WebhookID, func() (any, error) {
		mine = true
		h, ok, err := a.opt.Health.ClaimProbe(ctx, job.WebhookID, now, health.ProbeLease(timeout), probeToken(job))
		if err == nil {
			a.learn(job.WebhookID, h)
		}
		return claimResult{h: h, ok: ok}, err
	})
	if err != nil {
		return health.Decision{}, err
	}
	h, ok := v.(claimResult).h, v.(claimResult).ok && mine
	if ok {
		a.opt.Log.InfoContext(ctx, "circuit half-open; probing", "webhook_id", job.WebhookID, "delivery_id", job.DeliveryID, "attempt", job.Attempt)
		return health.Decision{Verdict: health.Probe}, nil
	}
	if dec := a.opt.Circuit.Gate(h, now); dec.Verdict != health.Probe {
		return dec, nil
	}
	// Due, yet the claim lost: the read is behind another job's claim. Come
	// back after a short while.
	return health.Decision{Verdict: health.Hold, Until: now.Add(time.Second)}, nil
}

// hold sends job back to wait until until, without spending an attempt:
// the same job (same attempt number) arrives again then.
func (a *Attempter) hold(ctx context.Context, w *webhook.Webhook, job queue.Job, until time.Time) error {
	wait := max(until.Sub(a.opt.Now()), time.Second)
	held := job
	held.NotBefore = time.Time{}
	if err := a.jobs.SendJobs(ctx, []queue.Job{held}, []time.Duration{wait}); err != nil {
		return fmt.Errorf("hold attempt %d of %s while the circuit is open: %w", job.Attempt, job.DeliveryID, err)
	}
	why := "circuit open"
	if w.Status == webhook.StatusInactive {
		why = string(w.Reason())
	}
	a.opt.Log.InfoContext(ctx, "attempt held", "reason", why, "delivery_id", job.DeliveryID,
		"webhook_id", job.WebhookID, "attempt", job.Attempt, "until", until.UTC().Format(time.RFC3339Nano))
	return nil
}

// report records an attempt's outcome in its endpoint's health: a success
// closes the circuit (written only when something is to clear, so a healthy
// endpoint costs no write), a failure counts and may open it, a failed probe
// re-opens it for a longer cooldown. A failure to record is logged, never
// the attempt's: the delivery's own record is what matters.
//
// The transitions won here (a conditional write's answer) are told to Ops:
// the write that opened the circuit, the one that closed it, the one that
// disabled the webhook, each of one instance only.
func (a *Attempter) report(ctx context.Context, w *webhook.Webhook, job queue.Job, probe bool, at webhook.Attempt, ok bool, now time.Time) {
	if !a.breakerOn() || job.Test {
		return
	}
	id := job.WebhookID
	known, _ := a.healthOf(ctx, id)
	var (
		h   webhook.Health
		err error
	)
	switch {
	case ok && known.Clean():
		return
	case ok:
		var closed bool
		h, closed, err = a.opt.Health.RecordSuccess(ctx, id)
		if err == nil && closed {
			a.opt.Log.InfoContext(ctx, "circuit closed", "webhook_id", id, "probe", probe)
			a.emit(ctx, w, job, webhook.EventWebhookRecovered, now, lastOf(job, at))
		}
	case probe:
		var reopened bool
		h, reopened, err = a.opt.Health.ProbeFailed(ctx, id, now, probeToken(job), a.opt.Circuit.NextCooldown(known))
		if err == nil && !reopened {
			h, err = a.opt.Health.RecordFailure(ctx, id, now)
		} else if err == nil {
			a.opt.Log.WarnContext(ctx, "probe failed; circuit open again", "webhook_id", id,
				"next_probe_at", h.NextProbeAt, "cooldown_ms", h.CooldownMS)
		}
	default:
		h, err = a.opt.Health.RecordFailure(ctx, id, now)
		if err == nil && a.opt.Circuit.ShouldOpen(h) {
			var opened bool
			h, opened, err = a.opt.Health.OpenCircuit(ctx, id, now, a.opt.Circuit.OpenAfter, a.opt.Circuit.FirstCooldown())
			if err == nil && opened {
				a.opt.Log.WarnContext(ctx, "circuit opened", "webhook_id", id,
					"consecutive_failures", h.ConsecutiveFailures, "next_probe_at", h.NextProbeAt)
				data := lastOf(job, at)
				data.ConsecutiveFailures, data.NextProbeAt = int(h.ConsecutiveFailures), h.NextProbeAt
				a.emit(ctx, w, job, webhook.EventWebhookFailing, now, data)
			}
		}
	}
	if err != nil {
		a.opt.Log.ErrorContext(ctx, "record endpoint health", "webhook_id", id, "error", err)
		return
	}
	a.learn(id, h)
	if !ok && w.Status == webhook.StatusActive && a.opt.Circuit.ShouldDisable(h, now) {
		a.disable(ctx, w, job, at, h, now)
	}
}

// disable makes a webhook that failed every attempt for DisableAfter
// inactive (auto_disabled); its jobs then wait until it is resumed.
func (a *Attempter) disable(ctx context.Context, w *webhook.Webhook, job queue.Job, at webhook.Attempt, h webhook.Health, now time.Time) {
	id := w.ID
	changed, err := a.opt.Health.DisableWebhook(ctx, id, webhook.ReasonAutoDisabled)
	if err != nil && webhook.ErrorCode(err) != webhook.ENotFound {
		a.opt.Log.ErrorContext(ctx, "auto-disable webhook", "webhook_id", id, "error", err)
		return
	}
	a.forget(id)
	if !changed {
		return // another instance (or a 410, or a pause) made it inactive first
	}
	a.opt.Log.WarnContext(ctx, "webhook auto-disabled: every attempt failed", "webhook_id", id,
		"failing_since", h.FailingSince, "consecutive_failures", h.ConsecutiveFailures)
	data := lastOf(job, at)
	data.Reason, data.ConsecutiveFailures = webhook.ReasonAutoDisabled, int(h.ConsecutiveFailures)
	a.emit(ctx, w, job, webhook.EventWebhookDisabled, now, data)
}
