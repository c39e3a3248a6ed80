package delivery

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/systemprompt-io/webhooks/internal/queue"
)

// JobSender sends jobs back to the delivery queue (implemented by
// *queue.Queue).
type JobSender interface {
	SendJobs(ctx context.Context, jobs []queue.Job, delays []time.Duration) error
}

// Isolation bounds what one webhook takes of a delivery function instance,
// so that an endpoint that hangs until its timeout cannot hold every handler
// slot while healthy endpoints wait.
//
// At most PerWebhook attempts of one webhook run at once in the instance
// (across its batches). A job over the bound waits in the function for a
// slot when the webhook's attempts are quick; when they are slow (their
// moving average is at least Slow), it goes back to the queue instead, with
// a delay that spaces that webhook's deferred jobs by the time a slot takes
// to free (average / PerWebhook), so each comes back about when it can run
// and is not received over and over. A deferred job is the same job (same
// attempt): deferring spends no attempt and is no failure.
type Isolation struct {
	PerWebhook int           // 4 (of the handler's 10 slots)
	Slow       time.Duration // 1 s
}

// DefaultIsolation is the delivery function's.
var DefaultIsolation = Isolation{PerWebhook: 4, Slow: time.Second}

// gate holds the instance's per-webhook slots and attempt durations.
type gate struct {
	pol Isolation
	now func() time.Time

	mu    sync.Mutex
	hooks map[string]*hookLoad
}

type hookLoad struct {
	inflight int
	avg      time.Duration // moving average of an attempt's duration; 0 until one ended
	next     time.Time     // when the last deferred job was scheduled to come back
	free     chan struct{} // closed and replaced when a slot frees
}

func newGate(pol Isolation, now func() time.Time) *gate {
	return &gate{pol: pol, now: now, hooks: map[string]*hookLoad{}}
}

// maxTracked bounds the webhooks the gate remembers; idle ones are dropped
// beyond it.
const maxTracked = 4096

// enter takes a slot of webhookID: ok with a release to call when the
// attempt is over, or (ok false) the delay to send the job back with, when
// the webhook is slow and its slots are all taken. It waits for a slot
// otherwise (false with a zero delay if ctx ends first).
func (g *gate) enter(ctx context.Context, webhookID string) (release func(), deferFor time.Duration, ok bool) {
	for {
		g.mu.Lock()
		h := g.hooks[webhookID]
		if h == nil {
			if len(g.hooks) >= maxTracked {
				g.forgetIdle()
			}
			h = &hookLoad{free: make(chan struct{})}
			g.hooks[webhookID] = h
		}
		if h.inflight < g.pol.PerWebhook {
			h.inflight++
			g.mu.Unlock()
			start := g.now()
			return func() { g.leave(webhookID, h, g.now().Sub(start)) }, 0, true
		}
		if h.avg >= g.pol.Slow {
			d := g.schedule(h)
			g.mu.Unlock()
			return nil, d, false
		}
		free := h.free
		g.mu.Unlock()
		select {
		case <-free:
		case <-ctx.Done():
			return nil, 0, false
		}
	}
}

// schedule returns the delay of h's next deferred job: one slot's time
// (average / PerWebhook) after the previous one, at least 1 s (SQS delays by
// whole seconds), at most queue.MaxDelay. Called with g.mu held.
func (g *gate) schedule(h *hookLoad) time.Duration {
	now := g.now()
	step := h.avg / time.Duration(g.pol.PerWebhook)
	if h.next.Before(now) {
		h.next = now
	}
	h.next = h.next.Add(step)
	d := h.next.Sub(now)
	d = min(max(d, time.Second), queue.MaxDelay)
	h.next = now.Add(d)
	return d
}

func (g *gate) leave(webhookID string, h *hookLoad, took time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h.inflight--
	if h.avg == 0 {
		h.avg = took
	} else {
		h.avg = (7*h.avg + 3*took) / 10 // recent attempts weigh most: an endpoint that recovers is quick again soon
	}
	close(h.free)
	h.free = make(chan struct{})
	if h.inflight == 0 && g.hooks[webhookID] != h {
		g.hooks[webhookID] = h // forgotten while in flight: keep what it learnt
	}
}

// forgetIdle drops the webhooks with nothing in flight. Called with g.mu
// held.
func (g *gate) forgetIdle() {
	for id, h := range g.hooks {
		if h.inflight == 0 {
			delete(g.hooks, id)
		}
	}
}

// isolate takes a slot of job's webhook for its attempt; deferred says the
// job went back to the queue instead (its message is done).
func (h *Handler) isolate(ctx context.Context, b *batch, job queue.Job) (release func(), deferred bool, err error) {
	release, d, ok := h.gate.enter(ctx, job.WebhookID)
	switch {
	case ok:
		return release, false, nil
	case d == 0:
		return nil, false, fmt.Errorf("delivery: no slot for webhook %s: %w", job.WebhookID, ctx.Err())
	}
	if err := h.opt.Defer.SendJobs(ctx, []queue.Job{job}, []time.Duration{d}); err != nil {
		return nil, false, fmt.Errorf("delivery: defer job %s: %w", job.DeliveryID, err)
	}
	b.log.InfoContext(ctx, "endpoint slow and busy; job deferred", "delivery_id", job.DeliveryID,
		"webhook_id", job.WebhookID, "attempt", job.Attempt, "delay_ms", d.Milliseconds())
	return nil, true, nil
}

// neverSlow makes a gate without a way to defer wait for slots instead.
const neverSlow = time.Duration(math.MaxInt64)
