package delivery

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestRatePolicyNext(t *testing.T) {
	p := RatePolicy{Waits: 2, Spread: 100 * time.Millisecond, Requeue: time.Second}
	at := time.Date(2026, 1, 1, 0, 0, 7, 300e6, time.UTC)
	for _, tc := range []struct {
		name    string
		now     time.Time
		waits   int
		rand    float64
		wait    time.Duration
		requeue bool
	}{
		{"first refusal waits for the next second", at, 1, 0, 700 * time.Millisecond, false},
		{"plus its spread", at, 1, 0.5, 750 * time.Millisecond, false},
		{"on the second's start, a whole second", at.Truncate(time.Second), 2, 0, time.Second, false},
		{"past its waits it is re-queued", at, 3, 0.5, time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wait, requeue := p.Next(tc.now, tc.waits, func() float64 { return tc.rand })
			assert.Equal(t, tc.wait, wait)
			assert.Equal(t, tc.requeue, requeue)
		})
	}
}

// rateFixture is an attempter with a rate limit of limit per second on its
// webhook, a fake clock its waits move on and in-memory rate slots.
func rateFixture(t *testing.T, limit int, p RatePolicy) (*fixture, *fake.Clock, *fake.RateSlots) {
	t.Helper()
	f := newFixture(t, 200)
	f.setHook(func(w *webhook.Webhook) { w.RateLimit = &webhook.RateLimit{PerSecond: limit} })
	clock := fake.NewClock(f.now.Add(400 * time.Millisecond))
	slots := &fake.RateSlots{}
	a, err := NewAttempter(f.store, &fake.Secrets{}, f.queue, Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    clock.Now, Rand: func() float64 { return 0 }, Log: quiet,
		Rates: slots, RatePolicy: p, Sleep: clock.Sleep,
	})
	require.NoError(t, err)
	f.a = a
	return f, clock, slots
}

// TestRateLimitWaitsForTheNextSecond: jobs over the limit wait for the next
// second in the function, then are attempted; nothing is spent waiting.
func TestRateLimitWaitsForTheNextSecond(t *testing.T) {
	f, clock, slots := rateFixture(t, 2, RatePolicy{Waits: 2, Requeue: time.Second})
	start := clock.Now()
	for i := range 5 {
		job := f.job(1)
		job.DeliveryID = webhook.DeliveryIDFor("evt_"+string(rune('a'+i)), f.hook.ID, f.now)
		_, err := f.a.Run(context.Background(), job, false)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 5, f.hits.Load(), "every job is sent")
	assert.Empty(t, f.queue.Sent, "none went back to the queue")
	for s := range 3 {
		assert.LessOrEqual(t, slots.Taken(f.hook.ID, start.Add(time.Duration(s)*time.Second)), 2, "second %d", s)
	}
	assert.Equal(t, 2, slots.Taken(f.hook.ID, start), "the first second is used up")
	n, slept := clock.Slept()
	assert.Equal(t, 2, n, "job 3 and job 5 waited")
	assert.Equal(t, 1600*time.Millisecond, slept, "to the next second each time")
	assert.Equal(t, 5, f.store.Saves(), "one attempt recorded per job")
}

// TestRateLimitRequeues: a job refused more often than the policy waits is
// sent again with the same attempt and the re-queue delay; nothing is sent
// to the endpoint or recorded.
func TestRateLimitRequeues(t *testing.T) {
	f, _, _ := rateFixture(t, 1, RatePolicy{Waits: 0, Requeue: time.Second})
	_, err := f.a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	other := f.job(1)
	other.DeliveryID = webhook.DeliveryIDFor("evt_y", f.hook.ID, f.now)
	d, err := f.a.Run(context.Background(), other, false)
	require.NoError(t, err)
	assert.Zero(t, d, "waiting counts nothing")
	assert.EqualValues(t, 1, f.hits.Load())
	require.Len(t, f.queue.Sent, 1)
	assert.Equal(t, other, f.queue.Sent[0], "the same job, same attempt")
	assert.Equal(t, []time.Duration{time.Second}, f.queue.Delays)
	assert.Equal(t, 1, f.store.Saves(), "the re-queued job recorded nothing")
}

// TestRateLimitErrors: a counter that cannot be reached sends nothing and
// fails the job (it comes back); a webhook without a limit takes no slot.
func TestRateLimitErrors(t *testing.T) {
	f, _, slots := rateFixture(t, 1, DefaultRatePolicy)
	slots.Err = errors.New("throttled")
	_, err := f.a.Run(context.Background(), f.job(1), false)
	require.ErrorContains(t, err, "throttled")
	assert.Zero(t, f.hits.Load())

	slots.Err = nil
	f.setHook(func(w *webhook.Webhook) { w.RateLimit = nil })
	f.a.forget(f.hook.ID)
	takes := slots.Takes
	_, err = f.a.Run(context.Background(), f.job(1), false)
	require.NoError(t, err)
	assert.Equal(t, takes, slots.Takes, "no take without a limit")
	assert.EqualValues(t, 1, f.hits.Load())
}
