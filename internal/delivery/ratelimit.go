package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/retry"
	"github.com/systemprompt-io/webhooks/internal/wait"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// RateSlots counts the requests a rate-limited webhook received per second,
// across every delivery function instance (implemented by *store.Store:
// one conditional UpdateItem per take).
type RateSlots interface {
	// TakeRateSlot takes one of limit slots of webhookID's second holding
	// at; false when they are all taken.
	TakeRateSlot(ctx context.Context, webhookID string, at time.Time, limit int) (bool, error)
}

// RatePolicy is what a job refused a rate slot does: wait in the function
// for the next second when the wait is short, else go back to the queue.
// Neither is an attempt: nothing is sent or recorded, no attempt is spent.
type RatePolicy struct {
	// Waits is how many times a refused job waits for the next second in
	// the function (holding its handler slot) before it is re-queued: 2.
	Waits int
	// Spread is the most a waiting job adds to the start of the next second
	// (uniformly drawn), so the instances that were refused do not all take
	// at the same instant: 100 ms.
	Spread time.Duration
	// Requeue is the SQS delay of a re-queued job (whole seconds): 1 s. A
	// limit lower than its endpoint's backlog per second keeps re-queuing
	// the excess, 1 s at a time, until the backlog has passed.
	Requeue time.Duration
}

// DefaultRatePolicy is the delivery function's.
var DefaultRatePolicy = RatePolicy{Waits: 2, Spread: 100 * time.Millisecond, Requeue: time.Second}

// Next says what a job refused its waits-th slot (from 1) at now does:
// wait that long and take again, or (requeue) go back to the queue with the
// Requeue delay.
func (p RatePolicy) Next(now time.Time, waits int, r retry.Rand) (wait time.Duration, requeue bool) {
	if waits > p.Waits {
		return p.Requeue, true
	}
	next := now.Truncate(time.Second).Add(time.Second)
	return next.Sub(now) + time.Duration(r()*float64(p.Spread)), false
}

// admit takes a slot of w's rate limit for job's attempt (at once when w
// has none). A job refused more often than the policy waits is sent again
// with its delay and admit answers false: the job's message is done, the
// new one carries the same attempt.
func (a *Attempter) admit(ctx context.Context, w *webhook.Webhook, job queue.Job) (bool, error) {
	if w.RateLimit == nil || a.opt.Rates == nil {
		return true, nil
	}
	sleep := a.opt.Sleep
	if sleep == nil {
		sleep = wait.Sleep
	}
	for refused := 1; ; refused++ {
		now := a.opt.Now()
		ok, err := a.opt.Rates.TakeRateSlot(ctx, w.ID, now, w.RateLimit.PerSecond)
		if err != nil {
			return false, fmt.Errorf("delivery: rate limit of %s: %w", w.ID, err)
		}
		if ok {
			return true, nil
		}
		d, requeue := a.opt.RatePolicy.Next(now, refused, a.opt.Rand)
		if !requeue {
			if dl, has := ctx.Deadline(); has && time.Until(dl)-a.opt.Margin < d+time.Second {
				requeue = true // no time left to wait and then attempt
			}
		}
		if requeue {
			if err := a.jobs.SendJobs(ctx, []queue.Job{job}, []time.Duration{a.opt.RatePolicy.Requeue}); err != nil {
				return false, fmt.Errorf("delivery: re-queue rate-limited %s: %w", job.DeliveryID, err)
			}
			a.opt.Log.InfoContext(ctx, "rate limited; job re-queued", "delivery_id", job.DeliveryID,
				"webhook_id", w.ID, "attempt", job.Attempt, "per_second", w.RateLimit.PerSecond)
			return false, nil
		}
		if err := sleep(ctx, d); err != nil {
			return false, err
		}
	}
}
