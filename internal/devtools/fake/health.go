package fake

import (
	"context"
	"sync"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Health is an in-memory store of endpoint health with internal/store's
// conditional transitions (delivery.HealthStore): a circuit opens only
// from closed with enough failures, one claim of a due probe wins, only the
// claiming probe re-opens it. It counts the writes it was asked for.
type Health struct {
	// Store, if set, is where DisableWebhook makes a webhook inactive.
	Store *Store
	// ReadDelay is how long GetHealth takes, so concurrent readers overlap.
	ReadDelay time.Duration

	mu       sync.Mutex
	h        map[string]webhook.Health
	writes   int
	reads    int
	disabled []string
}

// DisableWebhook records that webhook id was disabled for reason and, with
// a Store, makes it inactive there.
func (f *Health) DisableWebhook(ctx context.Context, id string, reason webhook.StatusReason) (bool, error) {
	f.mu.Lock()
	f.disabled = append(f.disabled, id+":"+string(reason))
	f.mu.Unlock()
	if f.Store == nil {
		return true, nil
	}
	return f.Store.DisableWebhook(ctx, id, reason)
}

// Disabled lists the webhooks disabled, as "id:reason", in order.
func (f *Health) Disabled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.disabled...)
}

func (f *Health) get(id string) webhook.Health {
	if f.h == nil {
		f.h = map[string]webhook.Health{}
	}
	return f.h[id]
}

func tp(t time.Time) *time.Time { t = t.UTC(); return &t }

// Of returns webhook id's health, as a test's check.
func (f *Health) Of(id string) webhook.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.get(id)
}

// Set replaces webhook id's health: a test's way to set the scene.
func (f *Health) Set(id string, h webhook.Health) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.get(id)
	f.h[id] = h
}

// Writes is how many health writes were made (conditional ones included).
func (f *Health) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// Reads is how many health reads were made.
func (f *Health) Reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *Health) GetHealth(_ context.Context, id string) (webhook.Health, error) {
	time.Sleep(f.ReadDelay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.get(id), nil
}

func (f *Health) RecordFailure(_ context.Context, id string, at time.Time) (webhook.Health, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	h := f.get(id)
	h.ConsecutiveFailures++
	if h.FailingSince == nil {
		h.FailingSince = tp(at)
	}
	f.h[id] = h
	return h, nil
}

func (f *Health) RecordSuccess(_ context.Context, id string) (webhook.Health, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	old := f.get(id)
	h := webhook.Health{LastSuccessAt: old.LastSuccessAt}
	f.h[id] = h
	return h, old.Circuit != "" && old.Circuit != webhook.CircuitClosed, nil
}

func (f *Health) OpenCircuit(_ context.Context, id string, at time.Time, openAfter int, cooldown time.Duration) (webhook.Health, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	h := f.get(id)
	if h.Circuit != "" || h.ConsecutiveFailures < int64(openAfter) {
		return h, false, nil
	}
	h.Circuit, h.OpenedAt, h.CooldownMS, h.NextProbeAt = webhook.CircuitOpen, tp(at), cooldown.Milliseconds(), tp(at.Add(cooldown))
	f.h[id] = h
	return h, true, nil
}

func (f *Health) ClaimProbe(_ context.Context, id string, now time.Time, lease time.Duration, by string) (webhook.Health, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	h := f.get(id)
	due := h.Circuit == webhook.CircuitOpen && h.NextProbeAt != nil && !now.Before(*h.NextProbeAt) ||
		h.Circuit == webhook.CircuitHalfOpen && h.ProbeUntil != nil && !now.Before(*h.ProbeUntil)
	if !due {
		return h, false, nil
	}
	h.Circuit, h.ProbeUntil, h.ProbeBy = webhook.CircuitHalfOpen, tp(now.Add(lease)), by
	f.h[id] = h
	return h, true, nil
}

func (f *Health) ProbeFailed(_ context.Context, id string, at time.Time, by string, cooldown time.Duration) (webhook.Health, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	h := f.get(id)
	if h.Circuit != webhook.CircuitHalfOpen || h.ProbeBy != by {
		return h, false, nil
	}
	h.Circuit, h.CooldownMS, h.NextProbeAt = webhook.CircuitOpen, cooldown.Milliseconds(), tp(at.Add(cooldown))
	h.ProbeUntil, h.ProbeBy = nil, ""
	h.ConsecutiveFailures++
	f.h[id] = h
	return h, true, nil
}

func (f *Health) Healths(_ context.Context, ids []string) (map[string]webhook.Health, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	out := map[string]webhook.Health{}
	for _, id := range ids {
		if h, ok := f.h[id]; ok {
			out[id] = h
		}
	}
	return out, nil
}

func (f *Health) ResetHealth(ctx context.Context, id string) error {
	_, _, err := f.RecordSuccess(ctx, id)
	return err
}
