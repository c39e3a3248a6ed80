package manage

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestStatusReasons(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		scene  func(f *fixture, id string)
		change func(s *Service, id string) (*webhook.Webhook, error)
		status webhook.Status
		reason webhook.StatusReason
	}{
		{"pause", nil, func(s *Service, id string) (*webhook.Webhook, error) { return s.Pause(ctx, id, false) },
			webhook.StatusInactive, webhook.ReasonPaused},
		{"patch inactive", nil, func(s *Service, id string) (*webhook.Webhook, error) {
			w, _, err := s.Patch(ctx, id, Members{"status": json.RawMessage(`"inactive"`)}, 0)
			return w, err
		}, webhook.StatusInactive, webhook.ReasonPaused},
		{"resume a gone webhook", func(f *fixture, id string) {
			_, err := f.store.DeactivateWebhook(ctx, id)
			require.NoError(t, err)
		}, func(s *Service, id string) (*webhook.Webhook, error) { return s.Resume(ctx, id) },
			webhook.StatusActive, webhook.ReasonNone},
		{"patch active", func(f *fixture, id string) {
			_, err := f.svc.Pause(ctx, id, false)
			require.NoError(t, err)
		}, func(s *Service, id string) (*webhook.Webhook, error) {
			w, _, err := s.Patch(ctx, id, Members{"status": json.RawMessage(`"active"`)}, 0)
			return w, err
		}, webhook.StatusActive, webhook.ReasonNone},
		{"patch of another member keeps the reason", func(f *fixture, id string) {
			_, err := f.svc.Pause(ctx, id, false)
			require.NoError(t, err)
		}, func(s *Service, id string) (*webhook.Webhook, error) {
			w, _, err := s.Patch(ctx, id, Members{"name": json.RawMessage(`"renamed"`)}, 0)
			return w, err
		}, webhook.StatusInactive, webhook.ReasonPaused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.create(t, minimal)
			if tc.scene != nil {
				tc.scene(f, w.ID)
			}
			got, err := tc.change(f.svc, w.ID)
			require.NoError(t, err)
			assert.Equal(t, tc.status, got.Status)
			assert.Equal(t, tc.reason, got.Reason())
			assert.Equal(t, tc.reason, f.store.Webhook(w.ID).Reason(), "stored")
		})
	}
}

func TestHealthShownAndClearedByResume(t *testing.T) {
	ctx := context.Background()
	hs := &fake.Health{}
	f := newFixture(t, func(o *Options) { o.Health = hs })
	w := f.create(t, minimal)
	other := f.create(t, minimal)
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	next := since.Add(time.Hour)
	open := webhook.Health{Circuit: webhook.CircuitOpen, ConsecutiveFailures: 12, FailingSince: &since, OpenedAt: &since, NextProbeAt: &next, CooldownMS: 60000}
	hs.Set(w.ID, open)

	got, err := f.svc.Get(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, open, got.Health)

	page, err := f.svc.List(ctx, webhook.ListFilter{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	for _, it := range page.Items {
		if it.ID == w.ID {
			assert.Equal(t, open, it.Health)
		} else {
			assert.Equal(t, other.ID, it.ID)
			assert.True(t, it.Health.Clean())
		}
	}

	// Resume of an active webhook with an open circuit: "try it now".
	got, err = f.svc.Resume(ctx, w.ID)
	require.NoError(t, err)
	assert.True(t, got.Health.Clean())
	assert.True(t, hs.Of(w.ID).Clean())
	writes := hs.Writes()
	_, err = f.svc.Resume(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, writes, hs.Writes(), "a healthy webhook's resume writes no health")
}

// Every answer that is a webhook carries its endpoint's health, whichever
// use case gave it (a rotation's answer too).
func TestEveryWebhookAnswerShowsHealth(t *testing.T) {
	ctx := context.Background()
	hs := &fake.Health{}
	f := newFixture(t, func(o *Options) { o.Health = hs })
	w := f.create(t, hmacHook)
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	failing := webhook.Health{ConsecutiveFailures: 3, FailingSince: &since}
	hs.Set(w.ID, failing)

	patched, _, err := f.svc.Patch(ctx, w.ID, members(t, `{"name":"renamed"}`), 0)
	require.NoError(t, err)
	assert.Equal(t, failing, patched.Health, "patch")
	rotated, _, err := f.svc.RotateSecret(ctx, w.ID, members(t, `{}`), 0)
	require.NoError(t, err)
	assert.Equal(t, failing, rotated.Health, "rotate-secret")
	paused, err := f.svc.Pause(ctx, w.ID, false)
	require.NoError(t, err)
	assert.Equal(t, failing, paused.Health, "pause")
}
