package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/health"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// withBreaker gives the fixture's attempter a breaker over hs.
func (f *fixture) withBreaker(t *testing.T, hs *fake.Health, p health.Policy) *Attempter {
	t.Helper()
	a, err := NewAttempter(f.store, &fake.Secrets{}, f.queue, Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    func() time.Time { return f.now }, Rand: func() float64 { return 0.5 }, Log: quiet,
		Health: hs, Circuit: p,
	})
	require.NoError(t, err)
	return a
}

// firstAttempt is a new delivery's first job (each its own event).
func (f *fixture) firstAttempt(n int) queue.Job {
	j := f.job(1)
	j.EventID = "evt_" + string(rune('a'+n))
	j.DeliveryID = webhook.DeliveryIDFor(j.EventID, f.hook.ID, f.now.Add(time.Duration(n)*time.Millisecond))
	return j
}

func TestCircuitOpensHoldsProbesAndCloses(t *testing.T) {
	ctx := context.Background()
	// Five failures, then success: the circuit opens after 3, the first
	// probe fails, the second succeeds.
	f := newFixture(t, 500, 500, 500, 500, 200)
	f.setHook(func(w *webhook.Webhook) { w.Retry.MaxAttempts = 1 })
	hs := &fake.Health{}
	a := f.withBreaker(t, hs, health.Policy{OpenAfter: 3, Cooldown: time.Minute})
	id := f.hook.ID

	for i := range 3 {
		_, err := a.Run(ctx, f.firstAttempt(i), false)
		require.NoError(t, err)
	}
	require.EqualValues(t, 3, f.hits.Load())
	h := hs.Of(id)
	assert.Equal(t, webhook.CircuitOpen, h.Circuit, "open after exactly 3 failures")
	assert.Equal(t, f.now.Add(time.Minute), *h.NextProbeAt)

	// While open: nothing is sent, nothing recorded, the job comes back
	// at the probe time with its attempt unspent.
	saves := f.store.Saves()
	held := f.firstAttempt(3)
	st, err := a.Run(ctx, held, false)
	require.NoError(t, err)
	assert.Zero(t, st.Attempts)
	assert.EqualValues(t, 3, f.hits.Load())
	assert.Equal(t, saves, f.store.Saves())
	require.Len(t, f.queue.Sent, 1)
	assert.Equal(t, held, f.queue.Sent[0], "the same job, same attempt")
	assert.Equal(t, time.Minute, f.queue.Delays[0])

	// A millisecond early: held again.
	f.now = f.now.Add(time.Minute - time.Millisecond)
	_, err = a.Run(ctx, held, false)
	require.NoError(t, err)
	assert.EqualValues(t, 3, f.hits.Load())
	assert.Equal(t, time.Second, f.queue.Delays[1], "at least a second")

	// Due: one probe, which fails and re-opens for twice as long.
	f.now = f.now.Add(time.Millisecond)
	_, err = a.Run(ctx, held, false)
	require.NoError(t, err)
	assert.EqualValues(t, 4, f.hits.Load())
	h = hs.Of(id)
	assert.Equal(t, webhook.CircuitOpen, h.Circuit)
	assert.Equal(t, int64(120000), h.CooldownMS)
	assert.Equal(t, f.now.Add(2*time.Minute), *h.NextProbeAt)
	assert.Equal(t, int64(4), h.ConsecutiveFailures)

	// The next probe succeeds and closes the circuit; then jobs flow.
	f.now = f.now.Add(2 * time.Minute)
	_, err = a.Run(ctx, f.firstAttempt(4), false)
	require.NoError(t, err)
	assert.EqualValues(t, 5, f.hits.Load())
	assert.True(t, hs.Of(id).Clean())
	writes := hs.Writes()
	_, err = a.Run(ctx, f.firstAttempt(5), false)
	require.NoError(t, err)
	assert.EqualValues(t, 6, f.hits.Load())
	assert.Equal(t, writes, hs.Writes(), "a success at a healthy endpoint writes no health")
}

func TestOneProbeAcrossInstances(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 200)
	hs := &fake.Health{}
	p := health.Policy{OpenAfter: 3, Cooldown: time.Minute}
	opened := f.now.Add(-time.Minute)
	hs.Set(f.hook.ID, webhook.Health{Circuit: webhook.CircuitOpen, ConsecutiveFailures: 3, OpenedAt: &opened,
		NextProbeAt: &f.now, CooldownMS: 60000})
	// Two function instances, each with its own cache, see the probe due;
	// the first one's probe is slow, and the second must not probe meanwhile.
	a1, a2 := f.withBreaker(t, hs, p), f.withBreaker(t, hs, p)
	block := make(chan struct{})
	var hits atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-block
	}))
	t.Cleanup(slow.Close)
	f.setHook(func(w *webhook.Webhook) { w.URL = slow.URL })
	done := make(chan error)
	go func() {
		_, err := a1.Run(ctx, f.firstAttempt(0), false)
		done <- err
	}()
	require.Eventually(t, func() bool { return hits.Load() == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, webhook.CircuitHalfOpen, hs.Of(f.hook.ID).Circuit)
	_, err := a2.Run(ctx, f.firstAttempt(1), false)
	require.NoError(t, err)
	close(block)
	require.NoError(t, <-done)
	assert.EqualValues(t, 1, hits.Load(), "one probe")
	require.Len(t, f.queue.Sent, 1, "the other job was held")
	assert.Equal(t, health.ProbeLease(5*time.Second), f.queue.Delays[0], "until the probe's claim lapses")
	assert.True(t, hs.Of(f.hook.ID).Clean(), "the probe closed the circuit")
}

func TestBreakerOffAndTests(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, http.StatusInternalServerError)
	f.setHook(func(w *webhook.Webhook) { w.Retry.MaxAttempts = 1 })
	hs := &fake.Health{}
	a := f.withBreaker(t, hs, health.Policy{}) // CIRCUIT_OPEN_AFTER=0
	for i := range 5 {
		_, err := a.Run(ctx, f.firstAttempt(i), false)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 5, f.hits.Load())
	assert.Zero(t, hs.Writes()+hs.Reads(), "an off breaker keeps no health")
}

// TestAutoDisable: an endpoint failing every attempt for DisableAfter (and
// at least OpenAfter times) is made inactive, auto_disabled; its jobs then
// wait without probing, and after a resume (health cleared) they are sent.
func TestAutoDisable(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 500)
	f.setHook(func(w *webhook.Webhook) { w.Retry.MaxAttempts = 1 })
	hs := &fake.Health{Store: f.store}
	p := health.Policy{OpenAfter: 3, Cooldown: time.Hour, DisableAfter: 120 * time.Hour}
	a := f.withBreaker(t, hs, p)
	id := f.hook.ID
	start := f.now

	// Three failures open the circuit; hourly probes fail until 120 h have
	// passed since the first failure.
	n := 0
	run := func() {
		t.Helper()
		_, err := a.Run(ctx, f.firstAttempt(n), false)
		require.NoError(t, err)
		n++
	}
	for range 3 {
		run()
	}
	require.Equal(t, webhook.CircuitOpen, hs.Of(id).Circuit)
	for f.now.Sub(start) < 119*time.Hour {
		f.now = *hs.Of(id).NextProbeAt
		run()
		require.Empty(t, hs.Disabled(), "at %s", f.now.Sub(start))
	}
	f.now = start.Add(120 * time.Hour)
	hs.Set(id, func() webhook.Health { h := hs.Of(id); h.NextProbeAt = &f.now; return h }())
	run()
	assert.Equal(t, []string{id + ":auto_disabled"}, hs.Disabled())
	w := f.store.Webhook(id)
	assert.Equal(t, webhook.StatusInactive, w.Status)
	assert.Equal(t, webhook.ReasonAutoDisabled, w.Reason())

	// Disabled: jobs wait an hour at a time, nothing is sent, even when a
	// probe would be due.
	hits := f.hits.Load()
	f.now = f.now.Add(24 * time.Hour)
	sent := len(f.queue.Sent)
	run()
	assert.Equal(t, hits, f.hits.Load())
	require.Len(t, f.queue.Sent, sent+1)
	assert.Equal(t, time.Hour, f.queue.Delays[sent])

	// A resume (status active, health cleared) lets the next job through.
	f.setHook(func(w *webhook.Webhook) { w.Status, w.StatusReason = webhook.StatusActive, "" })
	require.NoError(t, hs.ResetHealth(ctx, id))
	f.now = f.now.Add(time.Minute) // past the attempter's webhook cache
	run()
	assert.Equal(t, hits+1, f.hits.Load())
}

// TestOneClaimPerBatch: the jobs of one batch that find the probe due at
// once make a single claim; one of them probes, the others are held.
func TestOneClaimPerBatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 200)
	hs := &fake.Health{}
	opened := f.now.Add(-time.Minute)
	hs.Set(f.hook.ID, webhook.Health{Circuit: webhook.CircuitOpen, ConsecutiveFailures: 3, OpenedAt: &opened,
		NextProbeAt: &f.now, CooldownMS: 60000})
	// The probe's endpoint answers only once the other nine jobs are done,
	// so they all meet the circuit while the probe is in flight, however
	// the goroutines are scheduled (a probe that had already succeeded
	// would rightly let them through).
	var returned, hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		for deadline := time.Now().Add(10 * time.Second); returned.Load() < 9 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	f.setHook(func(w *webhook.Webhook) { w.URL = srv.URL })
	a := f.withBreaker(t, hs, health.Policy{OpenAfter: 3, Cooldown: time.Minute})
	writes := hs.Writes()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			_, err := a.Run(ctx, f.firstAttempt(i), false)
			assert.NoError(t, err)
			returned.Add(1)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, hits.Load(), "one probe")
	assert.Len(t, f.queue.Sent, 9, "the others held")
	assert.True(t, hs.Of(f.hook.ID).Clean())
	assert.LessOrEqual(t, hs.Writes()-writes, 2+1, "a claim, the success, and at most one late claim")
}

// TestHealthReadOncePerBatch: a batch's jobs for one webhook read its
// health once, and a healthy endpoint's successes write none.
func TestHealthReadOncePerBatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 200)
	hs := &fake.Health{ReadDelay: 20 * time.Millisecond}
	a := f.withBreaker(t, hs, health.Policy{OpenAfter: 10, Cooldown: time.Minute})
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			_, err := a.Run(ctx, f.firstAttempt(i), false)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 10, f.hits.Load())
	assert.Equal(t, 1, hs.Reads())
	assert.Zero(t, hs.Writes())
}
