package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// JobSender sends jobs back to the delivery queue (implemented by
// *queue.Queue).
type JobSender interface {
	SendJobs(ctx context.Context, jobs []queue.Job, delays []time.Duration) error
}

// Isolation bounds what one webhook takes of a delivery function instance,
// so that an endpoint that hangs until its timeout cannot hold the handler's
// slots, and the batches they are in, while healthy endpoints wait.
//
// A webhook is slow while its attempts take Slow or more: their moving
// average, or an attempt in flight for that long already. At most
// PerWebhook attempts of a quick webhook run at once in the instance (across
// its batches; by default every slot: a quick webhook frees them at once, and
// a batch of one webhook's jobs should not take several rounds); a job over
// that waits in the function for a slot. A slow webhook, and one whose first
// attempt in this instance has not ended yet, gets SlowPerWebhook; a job of
// a webhook not known yet waits at most Wait for its first attempt to end;
// a job of a slow webhook over that goes back to the queue instead (when
// the handler has a JobSender), with a delay that spaces that webhook's
// deferred jobs by the time a slot takes to free (average / SlowPerWebhook),
// so each comes back about when it can run instead of being received over
// and over. A deferred job is the same job (same attempt): deferring spends
// no attempt and is no failure.
type Isolation struct {
	PerWebhook     int           // 10 (the handler's slots)
	SlowPerWebhook int           // 1
	Slow           time.Duration // 1 s
	Wait           time.Duration // 200 ms
}

// DefaultIsolation is the delivery function's.
var DefaultIsolation = Isolation{PerWebhook: 10, SlowPerWebhook: 1, Slow: time.Second, Wait: 200 * time.Millisecond}

// withDefaults gives each zero (or negative) member DefaultIsolation's, so a
// partial setting cannot leave a webhook no slot.
func (i Isolation) withDefaults() Isolation {
	d := DefaultIsolation
	return Isolation{
		PerWebhook:     cmp.Or(max(i.PerWebhook, 0), d.PerWebhook),
		SlowPerWebhook: cmp.Or(max(i.SlowPerWebhook, 0), d.SlowPerWebhook),
		Slow:           cmp.Or(max(i.Slow, 0), d.Slow),
		Wait:           cmp.Or(max(i.Wait, 0), d.Wait),
	}
}

// gate holds the instance's per-webhook slots and attempt durations.
type gate struct {
	pol      Isolation
	now      func() time.Time
	canDefer bool

	mu    sync.Mutex
	hooks map[string]*hookLoad
}

type hookLoad struct {
	starts []time.Time   // of the attempts in flight
	avg    time.Duration // moving average of an attempt's duration; 0 until one ended
	next   time.Time     // when the last deferred job was scheduled to come back
	free   chan struct{} // closed and replaced when a slot frees
}

func newGate(pol Isolation, now func() time.Time, canDefer bool) *gate {
	return &gate{pol: pol, now: now, canDefer: canDefer, hooks: map[string]*hookLoad{}}
}

// took is what h's attempts take: the moving average, or longer if an
// attempt in flight has run longer already.
func (h *hookLoad) took(now time.Time) time.Duration {
	d := h.avg
	for _, s := range h.starts {
		d = max(d, now.Sub(s))
	}
	return d
}

// maxTracked bounds the webhooks the gate remembers; idle ones are dropped
// beyond it.
const maxTracked = 4096

// enter takes a slot of webhookID: ok with a release to call when the
// attempt is over, or (ok false) the delay to send the job back with, when
// the webhook is slow and its slots are taken. It waits for a slot
// otherwise (false with a zero delay if ctx ends first), looking again at
// least every Slow (Wait while nothing is known of the webhook), since a
// webhook can turn slow while a job waits.
//
// idle (nil: never) is closed once nothing of the job's batch runs but jobs
// waiting here: a job of a webhook not known yet is then deferred at once,
// as it would be after Wait, since waiting longer only holds the batch (and
// its poller) while the healthy jobs behind it in the queue wait.
func (g *gate) enter(ctx context.Context, webhookID string, idle *idleBatch) (release func(took time.Duration), deferFor time.Duration, ok bool) {
	waitFrom := g.now()
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
		now := g.now()
		slow := h.took(now) >= g.pol.Slow
		limit := g.pol.PerWebhook
		if slow || h.avg == 0 {
			limit = g.pol.SlowPerWebhook
		}
		if len(h.starts) < limit {
			h.starts = append(h.starts, now)
			g.mu.Unlock()
			return func(took time.Duration) { g.leave(webhookID, h, now, took) }, 0, true
		}
		unknown := h.avg == 0 && (now.Sub(waitFrom) >= g.pol.Wait || idle.done())
		if (slow || unknown) && g.canDefer {
			d := g.schedule(h, now)
			g.mu.Unlock()
			return nil, d, false
		}
		free := h.free
		look := g.pol.Slow
		var idleCh <-chan struct{} // only an unknown webhook's job stops waiting when the batch is idle
		if h.avg == 0 {
			look = min(look, g.pol.Wait)
			if g.canDefer {
				idleCh = idle.closed()
			}
		}
		g.mu.Unlock()
		t := time.NewTimer(look)
		idle.add(-1)
		select {
		case <-free:
		case <-t.C:
		case <-idleCh:
		case <-ctx.Done():
			t.Stop()
			idle.add(1)
			return nil, 0, false
		}
		idle.add(1)
		t.Stop()
	}
}

// idleBatch counts a batch's jobs that are not waiting at the gate (not yet
// there, or attempting) and is done, for good, once none is.
type idleBatch struct {
	mu   sync.Mutex
	n    int
	ch   chan struct{}
	shut bool
}

func newIdleBatch(jobs int) *idleBatch {
	b := &idleBatch{n: jobs, ch: make(chan struct{})}
	b.add(0)
	return b
}

// add changes the count by d; the first time it reaches zero closes the
// batch's channel. Nil-safe, as are done and closed.
func (b *idleBatch) add(d int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += d
	if b.n <= 0 && !b.shut {
		b.shut = true
		close(b.ch)
	}
}

func (b *idleBatch) done() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.shut
}

// closed is closed once the batch is idle; never for a nil one.
func (b *idleBatch) closed() <-chan struct{} {
	if b == nil {
		return nil
	}
	return b.ch
}

// admit takes a slot of webhookID for an attempt in place (inline.go)
// without waiting: refused (false) when the webhook is known slow, so its
// job goes through the queue and enter's bound; a webhook not yet seen is
// let through, its attempt teaching the gate as any other.
func (g *gate) admit(webhookID string) (release func(took time.Duration), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.hooks[webhookID]
	if h == nil {
		if len(g.hooks) >= maxTracked {
			g.forgetIdle()
		}
		h = &hookLoad{free: make(chan struct{})}
		g.hooks[webhookID] = h
	}
	now := g.now()
	if h.took(now) >= g.pol.Slow {
		return nil, false
	}
	h.starts = append(h.starts, now)
	return func(took time.Duration) { g.leave(webhookID, h, now, took) }, true
}

// schedule returns the delay of h's next deferred job: one slot's time
// (what an attempt takes / SlowPerWebhook) after the previous one, at least
// 1 s (SQS delays by whole seconds), at most queue.MaxDelay. Called with g.mu
// held.
func (g *gate) schedule(h *hookLoad, now time.Time) time.Duration {
	step := h.took(now) / time.Duration(g.pol.SlowPerWebhook)
	if h.next.Before(now) {
		h.next = now
	}
	h.next = h.next.Add(step)
	d := h.next.Sub(now)
	d = min(max(d, time.Second), queue.MaxDelay)
	h.next = now.Add(d)
	return d
}

// leave gives back a slot; took is the endpoint's response time, or
// negative when no request was sent (a rate-limited or early job), which
// teaches nothing.
func (g *gate) leave(webhookID string, h *hookLoad, started time.Time, took time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(h.starts, started); i >= 0 {
		h.starts = slices.Delete(h.starts, i, i+1)
	}
	switch {
	case took < 0:
	case h.avg == 0:
		h.avg = max(took, 1) // known from now on, however quick
	default:
		h.avg = (7*h.avg + 3*took) / 10 // recent attempts weigh most: an endpoint that recovers is quick again soon
	}
	close(h.free)
	h.free = make(chan struct{})
	if g.hooks[webhookID] != h {
		g.hooks[webhookID] = h // forgotten while in flight: keep what it learnt
	}
}

// forgetIdle drops the webhooks with nothing in flight. Called with g.mu
// held.
func (g *gate) forgetIdle() {
	for id, h := range g.hooks {
		if len(h.starts) == 0 {
			delete(g.hooks, id)
		}
	}
}

// isolate takes a slot of job's webhook for its attempt; deferred says the
// job is to go back to the queue instead (sendDeferred sends it, with the
// batch's others).
func (h *Handler) isolate(ctx context.Context, b *batch, msg events.SQSMessage, job queue.Job) (release func(took time.Duration), deferred bool, err error) {
	release, d, ok := h.gate.enter(ctx, job.WebhookID, b.idle)
	switch {
	case ok:
		return release, false, nil
	case d == 0:
		return nil, false, fmt.Errorf("delivery: no slot for webhook %s: %w", job.WebhookID, ctx.Err())
	}
	b.deferred.add(msg, job, d)
	return nil, true, nil
}

// responseTime is what an attempt's endpoint took, from what it adds to the
// statistics (the rate limit's wait is not in it); negative when it made no
// attempt.
func responseTime(d webhook.StatsDelta) time.Duration {
	if d.Attempts <= 0 {
		return -1
	}
	return time.Duration(d.TotalResponseMS/d.Attempts) * time.Millisecond
}

// deferrals are the jobs of a batch that go back to the queue, sent together
// once its attempts are over: one SendMessageBatch per 10, not one each.
type deferrals struct {
	mu     sync.Mutex
	msgs   []events.SQSMessage
	jobs   []queue.Job
	delays []time.Duration
}

func (d *deferrals) add(msg events.SQSMessage, job queue.Job, delay time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs, d.jobs, d.delays = append(d.msgs, msg), append(d.jobs, job), append(d.delays, delay)
}

// sendDeferred sends the batch's deferred jobs back to the queue. A job not
// sent fails its message, which then comes back as it is.
func (h *Handler) sendDeferred(ctx context.Context, b *batch) {
	d := &b.deferred
	if len(d.jobs) == 0 {
		return
	}
	err := h.opt.Defer.SendJobs(ctx, d.jobs, d.delays)
	if err == nil {
		for i, job := range d.jobs {
			b.log.InfoContext(ctx, "endpoint slow and busy; job deferred", "delivery_id", job.DeliveryID,
				"webhook_id", job.WebhookID, "attempt", job.Attempt, "delay_ms", d.delays[i].Milliseconds())
		}
		return
	}
	failed := make([]int, len(d.jobs))
	for i := range failed {
		failed[i] = i
	}
	var pe *queue.PartialError
	if errors.As(err, &pe) {
		failed = pe.Failed
	}
	for _, i := range failed {
		b.fail(ctx, d.msgs[i], fmt.Errorf("delivery: defer job %s: %w", d.jobs[i].DeliveryID, err))
	}
}
