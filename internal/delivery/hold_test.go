package delivery

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/health"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// withHold gives the fixture's attempter held deliveries and drains (and a
// breaker over hs when hs is not nil).
func (f *fixture) withHold(t *testing.T, hs *fake.Health, p health.Policy) *Attempter {
	t.Helper()
	o := Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    func() time.Time { return f.now }, Rand: func() float64 { return 0.5 }, Log: quiet,
		Held: f.store, Drains: f.queue,
	}
	if hs != nil {
		o.Health, o.Circuit = hs, p
	}
	a, err := NewAttempter(f.store, &fake.Secrets{}, f.queue, o)
	require.NoError(t, err)
	return a
}

// runDrains processes drain messages and the jobs they release until none
// is left, the clock moving on by each message's delay; it returns the
// released jobs in the order they were sent.
func (f *fixture) runDrains(t *testing.T, a *Attempter) []queue.Job {
	t.Helper()
	ctx := context.Background()
	var released []queue.Job
	for range 1000 {
		msgs, delays := f.queue.DrainMsgs, f.queue.DrainDelays
		f.queue.DrainMsgs, f.queue.DrainDelays = nil, nil
		if len(msgs) == 0 {
			return released
		}
		for i, m := range msgs {
			f.now = f.now.Add(delays[i])
			require.NoError(t, a.Drain(ctx, m))
			for _, j := range f.queue.TakeJobs() {
				released = append(released, j)
				_, err := a.Run(ctx, j, false)
				require.NoError(t, err)
			}
		}
	}
	t.Fatal("the drain did not end")
	return nil
}

func heldIDs(t *testing.T, s *fake.Store, webhookID string) []string {
	t.Helper()
	ds, _, err := s.HeldDeliveries(context.Background(), webhookID, "", 1000)
	require.NoError(t, err)
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func TestHeldPauseParksThenResumeDrainsOnceInOrder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 200)
	f.setHook(func(w *webhook.Webhook) {
		w.Status, w.StatusReason, w.Hold = webhook.StatusInactive, webhook.ReasonPaused, true
	})
	a := f.withHold(t, nil, health.Policy{})

	var ids []string
	for i := range 20 {
		j := f.firstAttempt(i)
		ids = append(ids, j.DeliveryID)
		st, err := a.Run(ctx, j, false)
		require.NoError(t, err)
		assert.Zero(t, st.Attempts, "a held delivery is no attempt")
	}
	assert.Zero(t, f.hits.Load(), "nothing sent while held")
	slices.Sort(ids)
	assert.Equal(t, ids, heldIDs(t, f.store, f.hook.ID), "20 held records")
	d := f.store.Delivery(ids[0])
	assert.JSONEq(t, `{"a":1}`, string(d.Data), "the event is kept")
	assert.Empty(t, f.queue.Sent, "no job waits in SQS")
	require.Len(t, f.queue.DrainMsgs, 1, "one drain for the webhook, not one per delivery")

	// The drain finds the webhook paused: it waits for a resume, no message.
	require.NoError(t, a.Drain(ctx, f.queue.TakeDrains()[0]))
	assert.Empty(t, f.queue.DrainMsgs)
	assert.Zero(t, f.store.Released())

	// Resume: the webhook active, the drain taken over.
	f.setHook(func(w *webhook.Webhook) { w.Status, w.StatusReason, w.Hold = webhook.StatusActive, "", false })
	require.NoError(t, a.StartDrain(ctx, f.hook.ID))
	require.Equal(t, []time.Duration{15 * time.Second}, f.queue.DrainDelays, "after the caches' lifetime")
	released := f.runDrains(t, a)

	got := make([]string, len(released))
	for i, j := range released {
		got[i] = j.DeliveryID
		assert.Equal(t, 1, j.Attempt, "a fresh series")
	}
	assert.Equal(t, ids, got, "released once each, in creation order")
	assert.EqualValues(t, 20, f.hits.Load(), "each delivered once")
	for _, id := range ids {
		assert.Equal(t, webhook.DeliverySucceeded, f.store.Delivery(id).Status, id)
	}
	assert.Empty(t, heldIDs(t, f.store, f.hook.ID))
	assert.Equal(t, webhook.Drain{}, f.store.Drain(f.hook.ID), "the drain ended")
}

func TestCircuitOpenHoldsThenProbeClosesAndDrains(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 500, 500, 500, 200)
	f.setHook(func(w *webhook.Webhook) { w.Retry.MaxAttempts = 1 })
	hs := &fake.Health{}
	a := f.withHold(t, hs, health.Policy{OpenAfter: 3, Cooldown: time.Minute})
	for i := range 3 {
		_, err := a.Run(ctx, f.firstAttempt(i), false)
		require.NoError(t, err)
	}
	require.Equal(t, webhook.CircuitOpen, hs.Of(f.hook.ID).Circuit)
	f.queue.TakeJobs()

	var ids []string
	for i := 3; i < 8; i++ {
		j := f.firstAttempt(i)
		ids = append(ids, j.DeliveryID)
		_, err := a.Run(ctx, j, false)
		require.NoError(t, err)
	}
	slices.Sort(ids)
	assert.EqualValues(t, 3, f.hits.Load(), "nothing sent while open")
	assert.Equal(t, ids, heldIDs(t, f.store, f.hook.ID))
	assert.Empty(t, f.queue.Sent, "no job re-sent while open")
	require.Equal(t, []time.Duration{time.Minute}, f.queue.DrainDelays, "one drain, due at the probe")

	// Early: the drain sleeps on, nothing released.
	m := f.queue.TakeDrains()[0]
	require.NoError(t, a.Drain(ctx, m))
	assert.Zero(t, f.store.Released())
	require.Len(t, f.queue.DrainMsgs, 1)

	// Due: the oldest held delivery is released as the probe; it succeeds,
	// the circuit closes and the rest drains, each once.
	released := f.runDrains(t, a)
	require.NotEmpty(t, released)
	assert.Equal(t, ids[0], released[0].DeliveryID, "the oldest probes")
	assert.Equal(t, webhook.CircuitClosed, hs.Of(f.hook.ID).State())
	assert.EqualValues(t, 3+5, f.hits.Load(), "each held delivery sent once")
	for _, id := range ids {
		assert.Equal(t, webhook.DeliverySucceeded, f.store.Delivery(id).Status, id)
	}
	assert.Len(t, released, 5)
	assert.Equal(t, webhook.Drain{}, f.store.Drain(f.hook.ID))
}

func TestDrainMessageOfATakenOverDrainStops(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 200)
	a := f.withHold(t, nil, health.Policy{})
	require.NoError(t, a.StartDrain(ctx, f.hook.ID))
	old := f.queue.TakeDrains()[0]
	require.NoError(t, a.StartDrain(ctx, f.hook.ID))
	require.NoError(t, a.Drain(ctx, old))
	assert.Len(t, f.queue.DrainMsgs, 1, "the old message sent nothing")
	assert.Zero(t, f.store.Released())
}

func TestHeldAgainWhenTheReleasedProbeLosesItsClaim(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 200)
	hs := &fake.Health{}
	open := f.now.Add(-time.Minute)
	probeUntil := f.now.Add(time.Minute)
	hs.Set(f.hook.ID, webhook.Health{Circuit: webhook.CircuitHalfOpen, OpenedAt: &open, ProbeUntil: &probeUntil, ProbeBy: "other", CooldownMS: 60000, ConsecutiveFailures: 10})
	a := f.withHold(t, hs, health.Policy{OpenAfter: 10, Cooldown: time.Minute})
	j := f.firstAttempt(1)
	_, err := a.Run(ctx, j, false)
	require.NoError(t, err)
	require.Equal(t, webhook.DeliveryHeld, f.store.Delivery(j.DeliveryID).Status)
	// Released (as a drain would), its job finds the probe taken: held again.
	d := f.store.Delivery(j.DeliveryID)
	require.NoError(t, f.store.ReleaseHeld(ctx, &d, f.now))
	_, err = a.Run(ctx, queue.RetryJob(&d), false)
	require.NoError(t, err)
	assert.Equal(t, webhook.DeliveryHeld, f.store.Delivery(j.DeliveryID).Status)
	assert.Zero(t, f.hits.Load())
}

type recordingDrainer struct {
	mu    sync.Mutex
	calls []queue.DrainMessage
	err   error
}

func (r *recordingDrainer) Drain(_ context.Context, m queue.DrainMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, m)
	return r.err
}

func TestHandleRoutesDrainMessages(t *testing.T) {
	m := queue.DrainMessage{WebhookID: "wh_0192f0c4a1b27c3d8e9f001122334455", Token: "drn_1"}
	body, err := m.Encode()
	require.NoError(t, err)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "ok", Body: body},
		{MessageId: "bad", Body: `{"kind":"drain","v":1,"webhook_id":"wh_x","token":"t"}`},
	}}
	for _, tc := range []struct {
		name   string
		d      *recordingDrainer
		failed []string
	}{
		{"drained", &recordingDrainer{}, []string{"bad"}},
		{"drain error", &recordingDrainer{err: errors.New("dynamodb down")}, []string{"ok", "bad"}},
		{"no drainer wired", nil, []string{"ok", "bad"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := HandlerOptions{}
			if tc.d != nil {
				opt.Drains = tc.d
			}
			resp, err := NewHandler(noJobs{}, nil, nil, opt).Handle(context.Background(), ev)
			require.NoError(t, err)
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			assert.ElementsMatch(t, tc.failed, failed)
			if tc.d != nil {
				assert.Equal(t, []queue.DrainMessage{m}, tc.d.calls)
			}
		})
	}
}

func TestHeldRetryCountsOnceWhenItEnds(t *testing.T) {
	ctx := context.Background()
	// A delivery retrying after one failure is held (the circuit opened
	// meanwhile), drained as a new series and succeeds: it counts as one
	// success, not as a failure moved to success.
	f := newFixture(t, 500, 200)
	hs := &fake.Health{}
	a := f.withHold(t, hs, health.Policy{OpenAfter: 10, Cooldown: time.Minute})
	j := f.job(1)
	st, err := a.Run(ctx, j, false)
	require.NoError(t, err)
	require.Zero(t, st.Failed)
	next := f.queue.TakeJobs()
	require.Len(t, next, 1)
	opened, probe := f.now, f.now.Add(time.Hour)
	hs.Set(f.hook.ID, webhook.Health{Circuit: webhook.CircuitOpen, OpenedAt: &opened, NextProbeAt: &probe, CooldownMS: 60000, ConsecutiveFailures: 10})
	f.now = f.now.Add(20 * time.Second) // past the cached health
	_, err = a.Run(ctx, next[0], false)
	require.NoError(t, err)
	d := f.store.Delivery(j.DeliveryID)
	require.Equal(t, webhook.DeliveryHeld, d.Status)
	assert.True(t, d.Uncounted)

	hs.Set(f.hook.ID, webhook.Health{})
	f.now = f.now.Add(time.Minute) // past the cached health
	require.NoError(t, f.store.ReleaseHeld(ctx, &d, f.now))
	st, err = a.Run(ctx, queue.RetryJob(&d), false)
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Succeeded)
	assert.Zero(t, st.Failed, "it was never counted failed")
	got := f.store.Delivery(j.DeliveryID)
	assert.Equal(t, webhook.DeliverySucceeded, got.Status)
	assert.Equal(t, 2, got.SeriesStart, "a fresh series")
	assert.False(t, got.Uncounted, "cleared once counted")
}
