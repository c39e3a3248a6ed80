package delivery

import (
	"context"
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

// withOps gives the fixture's attempter an Ops and, with a policy, a
// breaker over its own health store (disabling in the fixture's store).
func (f *fixture) withOps(t *testing.T, ops *fake.Ops, p health.Policy) (*Attempter, *fake.Health) {
	t.Helper()
	hs := &fake.Health{Store: f.store}
	a, err := NewAttempter(f.store, &fake.Secrets{}, f.queue, Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    func() time.Time { return f.now }, Rand: func() float64 { return 0.5 }, Log: quiet,
		Health: hs, Circuit: p, Ops: ops,
	})
	require.NoError(t, err)
	return a, hs
}

// TestOperationalTransitions: each transition an attempt wins tells Ops
// once, with the webhook and the attempt; nothing else does.
func TestOperationalTransitions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		answers  []int
		attempts int // the webhook's max_attempts
		policy   health.Policy
		event    string // the jobs' event; agent.started
		test     bool
		runs     int // deliveries attempted, each its own event
		want     []string
	}{
		{name: "exhausted", answers: []int{500}, attempts: 1, runs: 1, want: []string{webhook.EventDeliveryFailed}},
		{name: "retrying tells nothing", answers: []int{500}, attempts: 3, runs: 1},
		{name: "succeeded tells nothing", answers: []int{200}, attempts: 1, runs: 1},
		{name: "410 Gone disables once", answers: []int{410}, attempts: 3, runs: 2,
			want: []string{webhook.EventWebhookDisabled, webhook.EventDeliveryFailed, webhook.EventDeliveryFailed}},
		{name: "circuit opens once", answers: []int{500}, attempts: 1, runs: 3, policy: health.Policy{OpenAfter: 2, Cooldown: time.Minute},
			want: []string{webhook.EventDeliveryFailed, webhook.EventWebhookFailing, webhook.EventDeliveryFailed}},
		{name: "an operational event's delivery tells nothing", answers: []int{410}, attempts: 1, runs: 2,
			policy: health.Policy{OpenAfter: 1, Cooldown: time.Minute}, event: webhook.EventDeliveryFailed},
		{name: "a test send tells nothing", answers: []int{500}, attempts: 1, runs: 1, test: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.answers...)
			f.setHook(func(w *webhook.Webhook) {
				w.Retry.MaxAttempts = tc.attempts
				w.Events = []string{"agent.started", webhook.EventDeliveryFailed}
			})
			ops := &fake.Ops{}
			a, _ := f.withOps(t, ops, tc.policy)
			for i := range tc.runs {
				j := f.firstAttempt(i)
				j.Test = tc.test
				if tc.event != "" {
					j.Event = tc.event
				}
				_, err := a.Run(ctx, j, false)
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, ops.Names())
		})
	}
}

func TestDeliveryFailedData(t *testing.T) {
	f := newFixture(t, 500)
	f.setHook(func(w *webhook.Webhook) { w.Retry.MaxAttempts = 2; w.Name = "orders" })
	ops := &fake.Ops{}
	a, _ := f.withOps(t, ops, health.Policy{})
	last := f.job(2) // its delivery id is of the fixture's time now
	for n := 1; n <= 2; n++ {
		_, err := a.Run(context.Background(), f.job(n), false)
		require.NoError(t, err)
	}
	evs := ops.Events()
	require.Len(t, evs, 1)
	ev := evs[0]
	assert.Equal(t, webhook.EventDeliveryFailed, ev.Event)
	assert.Equal(t, webhook.EventDeliveryFailed+":"+f.job(2).DeliveryID+"#2", ev.Key, "the attempt that ended it")
	assert.Equal(t, f.now, ev.Time)
	assert.Equal(t, webhook.OpData{
		WebhookID: f.hook.ID, Name: "orders", URL: f.hook.URL,
		DeliveryID: f.job(2).DeliveryID, DeliveryEvent: "agent.started", Attempts: 2,
		StatusCode: 500, Error: ev.Data.Error,
	}, ev.Data)
	assert.Contains(t, ev.Data.Error, "500")

	// The job redelivered after the end was recorded (the first processing
	// may have died before telling): told again with the same key and time,
	// so its deliveries keep their ids.
	f.now = f.now.Add(time.Minute)
	_, err := a.Run(context.Background(), last, true)
	require.NoError(t, err)
	evs = ops.Events()
	require.Len(t, evs, 2)
	assert.Equal(t, ev, evs[1])

	// A duplicate that is not a redelivery tells nothing.
	_, err = a.Run(context.Background(), last, false)
	require.NoError(t, err)
	assert.Len(t, ops.Events(), 2)
}

func TestRecoveredAndDisabled(t *testing.T) {
	ctx := context.Background()
	t.Run("a probe closes the circuit: recovered", func(t *testing.T) {
		f := newFixture(t, 500, 500, 200)
		f.setHook(func(w *webhook.Webhook) { w.Retry.MaxAttempts = 1 })
		ops := &fake.Ops{}
		a, hs := f.withOps(t, ops, health.Policy{OpenAfter: 2, Cooldown: time.Minute})
		for i := range 2 {
			_, err := a.Run(ctx, f.firstAttempt(i), false)
			require.NoError(t, err)
		}
		require.Equal(t, webhook.CircuitOpen, hs.Of(f.hook.ID).Circuit)
		f.now = f.now.Add(time.Minute)
		_, err := a.Run(ctx, f.firstAttempt(2), false)
		require.NoError(t, err)
		assert.Equal(t, []string{webhook.EventDeliveryFailed, webhook.EventWebhookFailing, webhook.EventDeliveryFailed, webhook.EventWebhookRecovered}, ops.Names())
		// A success on a closed circuit tells nothing.
		_, err = a.Run(ctx, f.firstAttempt(3), false)
		require.NoError(t, err)
		assert.Len(t, ops.Names(), 4)
	})
	t.Run("auto-disabled once", func(t *testing.T) {
		f := newFixture(t, 500)
		f.setHook(func(w *webhook.Webhook) { w.Retry.MaxAttempts = 10 })
		ops := &fake.Ops{}
		a, _ := f.withOps(t, ops, health.Policy{DisableAfter: time.Hour})
		base := f.job(1)
		var j queue.Job
		for n := 1; n <= 3; n++ {
			j = base
			j.Attempt = n
			_, err := a.Run(ctx, j, false)
			require.NoError(t, err)
			f.now = f.now.Add(40 * time.Minute)
		}
		require.Equal(t, []string{webhook.EventWebhookDisabled}, ops.Names())
		ev := ops.Events()[0]
		assert.Equal(t, webhook.ReasonAutoDisabled, ev.Data.Reason)
		assert.Equal(t, j.DeliveryID, ev.Data.DeliveryID)
		assert.Equal(t, 3, ev.Data.Attempts)
		assert.Equal(t, 3, ev.Data.ConsecutiveFailures)
		w, err := f.store.GetWebhook(ctx, f.hook.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.StatusInactive, w.Status)
	})
}
