package delivery

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/trigger"
)

// DefaultInline is how many of a handler batch's fanned-out jobs are
// attempted in place: one wave of the batch's concurrency, so attempting in
// place adds at most one endpoint timeout (≤ 120 s) to the event batch and
// fits the function's 160 s.
const DefaultInline = 10

// inlineSender takes the jobs one handler batch's events fan out to. It
// attempts the first ones in place, in the invocation that fanned them out,
// instead of sending each to the DeliveryQueue and receiving it back: one
// SendMessageBatch, ReceiveMessage and DeleteMessageBatch share and one
// Lambda invocation less per delivery. The rest, and every job whose attempt
// could not be made or recorded (Run's error: storage, queue, too close to
// the deadline), go to the queue as before. A job is durable either way: an
// attempt in place is recorded (and its retry scheduled) before SendJobs
// returns, and the event message that carries it is deleted only after
// that; when neither the attempt nor the queue took it, SendJobs fails it and
// its event message comes back (docs/internals.md, "Attempts in place").
type inlineSender struct {
	h     *Handler
	b     *batch
	queue trigger.JobSender
	// redelivered: an event of the batch was received before, so an attempt
	// may already be recorded: Run reads the record first, as for a
	// redelivered job, instead of sending the request again.
	redelivered bool

	mu     sync.Mutex
	budget int             // attempts in place left
	done   map[string]bool // delivery ids attempted in place (a split send may offer them again)
}

var _ trigger.JobSender = (*inlineSender)(nil)

func (h *Handler) inlineSender(b *batch, redelivered bool) trigger.JobSender {
	if h.opt.Queue == nil || h.opt.Inline < 0 {
		return nil // the trigger service's own queue
	}
	return &inlineSender{h: h, b: b, queue: h.opt.Queue, redelivered: redelivered,
		budget: h.opt.Inline, done: map[string]bool{}}
}

// SendJobs attempts what it can of jobs in place and queues the rest; like
// queue.SendJobs, a *queue.PartialError names the jobs neither made durable.
func (s *inlineSender) SendJobs(ctx context.Context, jobs []queue.Job, delays []time.Duration) error {
	var here, rest []int
	s.mu.Lock()
	for i, j := range jobs {
		switch {
		case s.done[j.DeliveryID]:
		case s.budget > 0 && j.Attempt == 1 && (delays == nil || delays[i] <= 0):
			s.budget--
			here = append(here, i)
		default:
			rest = append(rest, i)
		}
	}
	s.mu.Unlock()

	var (
		g         errgroup.Group // no WithContext: one attempt's failure must not cancel the others
		mu        sync.Mutex
		attempted atomic.Int64
	)
	g.SetLimit(s.h.opt.Concurrency)
	for _, i := range here {
		g.Go(func() error {
			job := jobs[i]
			// Isolation: a webhook known slow is not attempted in place;
			// its job is queued like the rest, under the gate's bound.
			release, ok := s.h.gate.admit(job.WebhookID)
			if !ok {
				mu.Lock()
				rest = append(rest, i)
				mu.Unlock()
				return nil
			}
			d, err := s.h.jobs.Run(ctx, job, s.redelivered)
			release(responseTime(d))
			attempted.Add(1)
			if err != nil {
				s.b.log.WarnContext(ctx, "attempt in place failed; job queued", "delivery_id", job.DeliveryID,
					"webhook_id", job.WebhookID, "error", err)
				mu.Lock()
				rest = append(rest, i)
				mu.Unlock()
				return nil
			}
			s.b.count(job.WebhookID, d)
			s.mu.Lock()
			s.done[job.DeliveryID] = true
			s.mu.Unlock()
			return nil
		})
	}
	g.Wait()
	s.b.mu.Lock()
	s.b.inline += int(attempted.Load())
	s.b.mu.Unlock()
	if len(rest) == 0 {
		return nil
	}

	slices.Sort(rest)
	queued := make([]queue.Job, len(rest))
	var wait []time.Duration
	if delays != nil {
		wait = make([]time.Duration, len(rest))
	}
	for k, i := range rest {
		queued[k] = jobs[i]
		if delays != nil {
			wait[k] = delays[i]
		}
	}
	err := s.queue.SendJobs(ctx, queued, wait)
	var pe *queue.PartialError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &pe):
		// Nothing of rest was sent. The caller may offer each event's jobs
		// again on their own; those attempted here are not attempted twice.
		return err
	}
	failed := make([]int, 0, len(pe.Failed))
	for _, k := range pe.Failed {
		if k >= 0 && k < len(rest) {
			failed = append(failed, rest[k])
		}
	}
	return &queue.PartialError{Failed: failed, Err: pe.Err}
}
