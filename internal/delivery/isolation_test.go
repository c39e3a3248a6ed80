package delivery

import (
	"context"
	"log/slog"
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
	return webhook.StatsDelta{Attempts: 1, Succeeded: 1}, nil
}

func newSleepRunner(took map[string]time.Duration) *sleepRunner {
	return &sleepRunner{took: took, inflight: map[string]int{}, most: map[string]int{}, ended: map[string][]time.Time{}}
}

// TestIsolationBoundsASlowWebhook: a batch of 8 jobs to an endpoint that
// takes 5 s and 2 to a quick one. Before anything is known of the slow one,
// its jobs over the bound wait for a slot (4 at a time) and the quick jobs
// end at once. Once it is known slow, the jobs over the bound go back to the
// queue, the same jobs, spaced by the time a slot takes to free (5 s / 4),
// and the batch lasts one slow attempt, not two.
func TestIsolationBoundsASlowWebhook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow, quick := webhook.NewID(webhook.WebhookIDPrefix), webhook.NewID(webhook.WebhookIDPrefix)
		r := newSleepRunner(map[string]time.Duration{slow: 5 * time.Second, quick: 10 * time.Millisecond})
		q := &fake.Queue{}
		h := NewHandler(r, nil, &statsLog{}, HandlerOptions{Log: slog.New(slog.DiscardHandler), Defer: q})
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
		assert.Empty(t, res.BatchItemFailures)
		assert.Equal(t, 10*time.Second, time.Since(start), "unknown yet: 8 slow jobs, 4 at a time")
		assert.Equal(t, 4, r.most[slow], "never more than the bound at once")
		for _, at := range r.ended[quick] {
			assert.Equal(t, 10*time.Millisecond, at.Sub(start), "the quick endpoint does not wait for the slow one")
		}
		assert.Empty(t, q.Sent)

		start = time.Now()
		ev := batch()
		res, err = h.Handle(context.Background(), ev)
		require.NoError(t, err)
		assert.Empty(t, res.BatchItemFailures, "a deferred job's message is done")
		assert.Equal(t, 5*time.Second, time.Since(start), "known slow: one slow attempt's time")
		require.Len(t, q.Sent, 4)
		assert.Equal(t, []time.Duration{1250 * time.Millisecond, 2500 * time.Millisecond, 3750 * time.Millisecond, 5 * time.Second}, q.Delays,
			"spaced by a slot's time: 5 s / 4")
		for _, j := range q.Sent {
			assert.Equal(t, slow, j.WebhookID)
			assert.Equal(t, 1, j.Attempt, "deferring spends no attempt")
		}
		assert.Len(t, r.ended[slow], 8+4)
	})
}

// TestIsolationWithoutDeferWaits: with no queue to defer to, jobs over the
// bound wait for a slot, however slow their webhook.
func TestIsolationWithoutDeferWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := webhook.NewID(webhook.WebhookIDPrefix)
		r := newSleepRunner(map[string]time.Duration{slow: 2 * time.Second})
		h := NewHandler(r, nil, &statsLog{}, HandlerOptions{Log: slog.New(slog.DiscardHandler), Isolation: Isolation{PerWebhook: 2, Slow: time.Second}})
		for range 2 {
			var ev events.SQSEvent
			for n := range 4 {
				ev.Records = append(ev.Records, jobMsg(t, n, slow))
			}
			start := time.Now()
			_, err := h.Handle(context.Background(), ev)
			require.NoError(t, err)
			assert.Equal(t, 4*time.Second, time.Since(start))
		}
		assert.Equal(t, 2, r.most[slow])
		assert.Len(t, r.ended[slow], 8)
	})
}

// TestGateSchedule: deferred jobs of one webhook are spaced by average /
// bound from the last one scheduled, at least 1 s, at most SQS's 15 minutes.
func TestGateSchedule(t *testing.T) {
	clock := fake.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	g := newGate(Isolation{PerWebhook: 2, Slow: time.Second}, clock.Now)
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
			got = append(got, g.schedule(h))
		}
		assert.Equal(t, tc.want, got, "avg %s", tc.avg)
	}
}
