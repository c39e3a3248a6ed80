package delivery

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// sleepRunner takes took[webhook] per attempt (fake time, in a synctest
// bubble) and notes when each webhook's attempts ended.
type sleepRunner struct {
	took map[string]time.Duration

	mu       sync.Mutex
	inflight map[string]int
	most     map[string]int
	ended    map[string][]time.Time
}

func (r *sleepRunner) Run(_ context.Context, job queue.Job, _ bool) (webhook.StatsDelta, error) {
	r.mu.Lock()
	r.inflight[job.WebhookID]++
	r.most[job.WebhookID] = max(r.most[job.WebhookID], r.inflight[job.WebhookID])
	r.mu.Unlock()
	time.Sleep(r.took[job.WebhookID])
	r.mu.Lock()
	r.inflight[job.WebhookID]--
	r.ended[job.WebhookID] = append(r.ended[job.WebhookID], time.Now())
	r.mu.Unlock()
	return webhook.StatsDelta{Attempts: 1, Succeeded: 1, TotalResponseMS: r.took[job.WebhookID].Milliseconds()}, nil
}

func newSleepRunner(took map[string]time.Duration) *sleepRunner {
	return &sleepRunner{took: took, inflight: map[string]int{}, most: map[string]int{}, ended: map[string][]time.Time{}}
}

// slowAndQuick is a handler deferring to q, whose runner r takes 5 s for
// webhook slow and 10 ms for quick (in a synctest bubble).
func slowAndQuick() (slow, quick string, r *sleepRunner, q *fake.Queue, h *Handler) {
	slow, quick = webhook.NewID(webhook.WebhookIDPrefix), webhook.NewID(webhook.WebhookIDPrefix)
	r = newSleepRunner(map[string]time.Duration{slow: 5 * time.Second, quick: 10 * time.Millisecond})
	q = &fake.Queue{}
	h = NewHandler(r, nil, &statsLog{}, HandlerOptions{Log: slog.New(slog.DiscardHandler), Defer: q})
	return slow, quick, r, q, h
}

// TestIsolationBoundsASlowWebhook: batches of 8 jobs to an endpoint that
// takes 5 s and 2 to a quick one. The first attempt of each webhook runs
// alone (nothing is known of them yet); the slow one's other jobs wait 200
// ms for it, then go back to the queue, the same jobs, spaced by what the
// attempt has taken so far (at least 1 s). Known slow, its jobs over its one
// slot go back at once, spaced by its average (5 s). The quick endpoint's
// jobs end within their own time, and a batch lasts one slow attempt.
func TestIsolationBoundsASlowWebhook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow, quick, r, q, h := slowAndQuick()
		batch := func() events.SQSEvent {
			var ev events.SQSEvent
			for n := range 10 {
				wh := slow
				if n == 3 || n == 7 {
					wh = quick
				}
				ev.Records = append(ev.Records, jobMsg(t, n, wh))
			}
			return ev
		}

		start := time.Now()
		res, err := h.Handle(context.Background(), batch())
		require.NoError(t, err)
		assert.Empty(t, res.BatchItemFailures, "a deferred job's message is done")
		assert.Equal(t, 5*time.Second, time.Since(start), "one slow attempt's time")
		assert.Equal(t, 1, r.most[slow], "one slow attempt at a time")
		require.Len(t, r.ended[quick], 2)
		assert.Equal(t, 20*time.Millisecond, r.ended[quick][1].Sub(start), "the quick jobs: one after the other until the first ended")
		require.Len(t, q.Sent, 7)
		// Deferred after 200 ms: 1 s (SQS's least), then 200 ms apart.
		for _, j := range q.Sent {
			assert.Equal(t, slow, j.WebhookID)
			assert.Equal(t, 1, j.Attempt, "deferring spends no attempt")
		}
		// (Sorted: the waiters take their delays in one order and add their
		// jobs to the batch's deferrals in another.)
		assert.Equal(t, []time.Duration{1000 * time.Millisecond, 1200 * time.Millisecond, 1400 * time.Millisecond,
			1600 * time.Millisecond, 1800 * time.Millisecond, 2000 * time.Millisecond, 2200 * time.Millisecond}, slices.Sorted(slices.Values(q.Delays)))

		q.Sent, q.Delays = nil, nil
		start = time.Now()
		_, err = h.Handle(context.Background(), batch())
		require.NoError(t, err)
		assert.Equal(t, 5*time.Second, time.Since(start), "known slow: one slow attempt's time")
		for _, at := range r.ended[quick][2:] {
			assert.Equal(t, 10*time.Millisecond, at.Sub(start), "known quick: the quick jobs run at once")
		}
		require.Len(t, q.Sent, 7, "deferred at once")
		// 5 s apart: the average.
		delays := slices.Sorted(slices.Values(q.Delays))
		assert.Equal(t, 5*time.Second, delays[0])
		assert.Equal(t, 35*time.Second, delays[6])
		assert.Len(t, r.ended[slow], 2)

		// Deferred jobs that cannot be sent back fail their messages,
		// which then come back as they are.
		q.SendErr = errors.New("throttled")
		res, err = h.Handle(context.Background(), batch())
		require.NoError(t, err)
		assert.Len(t, res.BatchItemFailures, 7)
	})
}

// TestIsolationIdleBatchDefersAtOnce: while a slow webhook's first attempt
// runs in another batch, a batch of its jobs and a quick one's does not
// wait out the 200 ms for it once the quick job is done: its poller would
// be held while the healthy jobs behind it wait in the queue.
func TestIsolationIdleBatchDefersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow, quick, r, q, h := slowAndQuick()
		var first sync.WaitGroup
		first.Go(func() {
			_, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{jobMsg(t, 0, slow)}})
			assert.NoError(t, err)
		})
		synctest.Wait() // its attempt is in flight

		ev := events.SQSEvent{Records: []events.SQSMessage{jobMsg(t, 1, slow), jobMsg(t, 2, quick), jobMsg(t, 3, slow)}}
		start := time.Now()
		res, err := h.Handle(context.Background(), ev)
		require.NoError(t, err)
		assert.Empty(t, res.BatchItemFailures)
		assert.Equal(t, 10*time.Millisecond, time.Since(start), "the quick job's time, not the 200 ms wait")
		assert.Len(t, r.ended[quick], 1)
		require.Len(t, q.Sent, 2, "the slow webhook's jobs deferred")
		for _, j := range q.Sent {
			assert.Equal(t, slow, j.WebhookID)
		}
		first.Wait()
	})
}

// TestIsolationWithoutDeferWaits: with no queue to defer to, jobs of a slow
// webhook wait for its slot, one at a time.
func TestIsolationWithoutDeferWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := webhook.NewID(webhook.WebhookIDPrefix)
		r := newSleepRunner(map[string]time.Duration{slow: 2 * time.Second})
		h := NewHandler(r, nil, &statsLog{}, HandlerOptions{Log: slog.New(slog.DiscardHandler)})
		var ev events.SQSEvent
		for n := range 3 {
			ev.Records = append(ev.Records, jobMsg(t, n, slow))
		}
		start := time.Now()
		_, err := h.Handle(context.Background(), ev)
		require.NoError(t, err)
		assert.Equal(t, 6*time.Second, time.Since(start))
		assert.Equal(t, 1, r.most[slow])
		assert.Len(t, r.ended[slow], 3)
	})
}

// TestIsolationQuickWebhookTakesEverySlot: a quick webhook is not held to
// one slot once its first attempt ended.
func TestIsolationQuickWebhookTakesEverySlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		quick := webhook.NewID(webhook.WebhookIDPrefix)
		r := newSleepRunner(map[string]time.Duration{quick: 100 * time.Millisecond})
		h := NewHandler(r, nil, &statsLog{}, HandlerOptions{Log: slog.New(slog.DiscardHandler), Defer: &fake.Queue{}})
		var ev events.SQSEvent
		for n := range 10 {
			ev.Records = append(ev.Records, jobMsg(t, n, quick))
		}
		start := time.Now()
		_, err := h.Handle(context.Background(), ev)
		require.NoError(t, err)
		assert.Equal(t, 200*time.Millisecond, time.Since(start), "the first alone, then the other nine at once")
		assert.Equal(t, 9, r.most[quick])
	})
}

// TestGateSchedule: deferred jobs of one webhook are spaced by what an
// attempt takes / its slots from the last one scheduled, at least 1 s, at
// most SQS's 15 minutes.
func TestGateSchedule(t *testing.T) {
	clock := fake.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	g := newGate(Isolation{PerWebhook: 10, SlowPerWebhook: 2, Slow: time.Second}, clock.Now, true)
	for _, tc := range []struct {
		avg  time.Duration
		want []time.Duration
	}{
		{avg: 10 * time.Second, want: []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second}},
		{avg: time.Second, want: []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second}},
		{avg: time.Hour, want: []time.Duration{15 * time.Minute, 15 * time.Minute}},
	} {
		h := &hookLoad{avg: tc.avg, next: clock.Now().Add(-time.Minute)} // the earlier ones have come back
		var got []time.Duration
		for range tc.want {
			got = append(got, g.schedule(h, clock.Now()))
		}
		assert.Equal(t, tc.want, got, "avg %s", tc.avg)
	}
}

// TestGateLearnsResponseTimes: a run that sent nothing (a rate-limited
// wait, an early job) teaches the gate nothing; an attempt's response time
// does, however long the run took.
func TestGateLearnsResponseTimes(t *testing.T) {
	clock := fake.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	g := newGate(DefaultIsolation, clock.Now, true)
	release, _, ok := g.enter(context.Background(), "wh", nil)
	require.True(t, ok)
	clock.Advance(3 * time.Second)
	release(responseTime(webhook.StatsDelta{}))
	assert.Zero(t, g.hooks["wh"].avg, "no attempt: still unknown")

	release, _, ok = g.enter(context.Background(), "wh", nil)
	require.True(t, ok)
	clock.Advance(3 * time.Second) // 2.9 s of it waiting for a rate slot
	release(responseTime(webhook.StatsDelta{Attempts: 1, TotalResponseMS: 100}))
	assert.Equal(t, 100*time.Millisecond, g.hooks["wh"].avg, "the endpoint's time, not the run's")
}
