package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// TestCircuitLifecycle walks one webhook's health through the breaker's
// transitions as the delivery path makes them: failures counted, the
// circuit opened once, one probe claimed, the probe failing and re-opening,
// a success closing it; the statistics beside it untouched.
func TestCircuitLifecycle(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		w := newWebhook(evA)
		require.NoError(t, s.CreateWebhook(ctx, w))
		id := w.ID
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		ms := time.Millisecond

		h, err := s.GetHealth(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, webhook.Health{}, h, "nothing recorded: a healthy endpoint")

		require.NoError(t, s.AddStats(ctx, id, webhook.StatsDelta{Attempts: 1, Succeeded: 1, LastSuccessAt: t0}))
		for i := 1; i <= 3; i++ {
			h, err = s.RecordFailure(ctx, id, t0.Add(time.Duration(i)*time.Second))
			require.NoError(t, err)
			assert.Equal(t, int64(i), h.ConsecutiveFailures)
		}
		assert.Equal(t, t0.Add(time.Second), *h.FailingSince, "the run's first failure is kept")
		assert.Equal(t, t0, *h.LastSuccessAt, "the statistics' last success")
		assert.Equal(t, webhook.CircuitClosed, h.State())

		_, ok, err := s.OpenCircuit(ctx, id, t0.Add(3*time.Second), 4, time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "3 failures do not open at 4")

		h, ok, err = s.OpenCircuit(ctx, id, t0.Add(3*time.Second), 3, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, webhook.CircuitOpen, h.Circuit)
		assert.Equal(t, t0.Add(3*time.Second), *h.OpenedAt)
		assert.Equal(t, t0.Add(63*time.Second), *h.NextProbeAt)
		assert.Equal(t, int64(60000), h.CooldownMS)

		h, ok, err = s.OpenCircuit(ctx, id, t0.Add(4*time.Second), 3, time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "already open")
		assert.Equal(t, t0.Add(63*time.Second), *h.NextProbeAt, "unchanged, read back")

		// Before the probe is due nobody claims it.
		_, ok, err = s.ClaimProbe(ctx, id, t0.Add(63*time.Second-ms), 10*time.Second, "a")
		require.NoError(t, err)
		assert.False(t, ok)

		// At the due time, of concurrent claims exactly one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for _, by := range []string{"a", "b", "c", "d", "e"} {
			wg.Go(func() {
				_, ok, err := s.ClaimProbe(ctx, id, t0.Add(63*time.Second), 10*time.Second, by)
				assert.NoError(t, err)
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		assert.Equal(t, 1, won)
		h, err = s.GetHealth(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, webhook.CircuitHalfOpen, h.Circuit)
		assert.Equal(t, t0.Add(73*time.Second), *h.ProbeUntil)
		winner := h.ProbeBy

		// Another job's failure does not re-open the circuit; the probe's does.
		_, ok, err = s.ProbeFailed(ctx, id, t0.Add(64*time.Second), "not-"+winner, 2*time.Minute)
		require.NoError(t, err)
		assert.False(t, ok)
		h, ok, err = s.ProbeFailed(ctx, id, t0.Add(64*time.Second), winner, 2*time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, webhook.CircuitOpen, h.Circuit)
		assert.Equal(t, t0.Add(64*time.Second+2*time.Minute), *h.NextProbeAt)
		assert.Equal(t, int64(120000), h.CooldownMS)
		assert.Equal(t, int64(4), h.ConsecutiveFailures)
		assert.Nil(t, h.ProbeUntil)
		assert.Empty(t, h.ProbeBy)

		// A lapsed claim can be taken over.
		_, ok, err = s.ClaimProbe(ctx, id, t0.Add(184*time.Second), 10*time.Second, "x")
		require.NoError(t, err)
		require.True(t, ok)
		_, ok, err = s.ClaimProbe(ctx, id, t0.Add(193*time.Second), 10*time.Second, "y")
		require.NoError(t, err)
		assert.False(t, ok, "x's claim still holds")
		h, ok, err = s.ClaimProbe(ctx, id, t0.Add(194*time.Second), 10*time.Second, "y")
		require.NoError(t, err)
		require.True(t, ok, "x's claim lapsed")
		assert.Equal(t, "y", h.ProbeBy)

		h, closed, err := s.RecordSuccess(ctx, id)
		require.NoError(t, err)
		assert.True(t, closed, "this success closed the half-open circuit")
		assert.True(t, h.Clean())
		assert.Equal(t, webhook.Health{LastSuccessAt: h.LastSuccessAt}, h, "everything but the last success cleared")

		st, err := s.GetStats(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, int64(1), st.Attempts, "the statistics are the batch's, not the breaker's")

		all, err := s.Healths(ctx, []string{id, webhook.NewID(webhook.WebhookIDPrefix), "junk"})
		require.NoError(t, err)
		assert.Equal(t, map[string]webhook.Health{id: h}, all)

		require.NoError(t, s.DeleteWebhook(ctx, id))
		h, err = s.GetHealth(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, webhook.Health{}, h, "deleted with the webhook")
	})
}

func TestStatusReasonStored(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, s *Store, _ *dynamodb.Client) {
		w := newWebhook(evA)
		require.NoError(t, s.CreateWebhook(ctx, w))
		_, err := s.DeactivateWebhook(ctx, w.ID)
		require.NoError(t, err)
		got, err := s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.StatusInactive, got.Status)
		assert.Equal(t, webhook.ReasonGone, got.Reason())

		changed, err := s.DisableWebhook(ctx, w.ID, webhook.ReasonAutoDisabled)
		require.NoError(t, err)
		assert.False(t, changed)
		got, err = s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.ReasonGone, got.Reason(), "already inactive: the first reason stays")

		got.Status = webhook.StatusActive // a reason is not kept while active
		require.NoError(t, s.UpdateWebhook(ctx, got))
		got, err = s.GetWebhook(ctx, w.ID)
		require.NoError(t, err)
		assert.Equal(t, webhook.ReasonNone, got.StatusReason)
	})
}
