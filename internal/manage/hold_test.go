package manage

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

type recordingDrainer struct {
	mu  sync.Mutex
	ids []string
	err error
}

func (d *recordingDrainer) StartDrain(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = append(d.ids, id)
	return d.err
}

func TestPauseHoldAndDrains(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		scene  func(f *fixture, id string)
		change func(s *Service, id string) error
		hold   bool
		drains int
	}{
		{"held pause", nil, func(s *Service, id string) error { _, err := s.Pause(ctx, id, true); return err }, true, 0},
		{"plain pause", nil, func(s *Service, id string) error { _, err := s.Pause(ctx, id, false); return err }, false, 0},
		{"plain pause of a held one ends the hold", func(f *fixture, id string) {
			_, err := f.svc.Pause(ctx, id, true)
			require.NoError(t, err)
		}, func(s *Service, id string) error { _, err := s.Pause(ctx, id, false); return err }, false, 0},
		{"resume drains", func(f *fixture, id string) {
			_, err := f.svc.Pause(ctx, id, true)
			require.NoError(t, err)
		}, func(s *Service, id string) error { _, err := s.Resume(ctx, id); return err }, false, 1},
		{"resume of an active, healthy webhook changes nothing", nil,
			func(s *Service, id string) error { _, err := s.Resume(ctx, id); return err }, false, 0},
		{"a patch to active drains too", func(f *fixture, id string) {
			_, err := f.svc.Pause(ctx, id, true)
			require.NoError(t, err)
		}, func(s *Service, id string) error {
			_, _, err := s.Patch(ctx, id, Members{"status": json.RawMessage(`"active"`)}, 0)
			return err
		}, false, 1},
		{"pausing a gone webhook with hold keeps its reason, no hold", func(f *fixture, id string) {
			changed, err := f.store.DeactivateWebhook(ctx, id)
			require.NoError(t, err)
			require.True(t, changed)
		}, func(s *Service, id string) error { _, err := s.Pause(ctx, id, true); return err }, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &recordingDrainer{}
			f := newFixture(t, func(o *Options) { o.Drains = d })
			w := f.create(t, minimal)
			if tc.scene != nil {
				tc.scene(f, w.ID)
			}
			require.NoError(t, tc.change(f.svc, w.ID))
			assert.Equal(t, tc.hold, f.store.Webhook(w.ID).HoldsDeliveries())
			assert.Len(t, d.ids, tc.drains)
		})
	}
}

func TestResumeSucceedsWhenTheDrainCannotStart(t *testing.T) {
	ctx := context.Background()
	d := &recordingDrainer{err: errors.New("sqs down")}
	f := newFixture(t, func(o *Options) { o.Drains = d })
	w := f.create(t, minimal)
	_, err := f.svc.Pause(ctx, w.ID, true)
	require.NoError(t, err)
	got, err := f.svc.Resume(ctx, w.ID)
	require.NoError(t, err, "resumed all the same; a resume again drains")
	assert.Equal(t, webhook.StatusActive, got.Status)
	assert.Len(t, d.ids, 1)
}
