package webhook

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPreviousAt(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := &PreviousSecret{Sealed: []byte("s"), ExpiresAt: at}
	tests := []struct {
		name string
		prev *PreviousSecret
		now  time.Time
		want *PreviousSecret
	}{
		{"none", nil, at.Add(-time.Hour), nil},
		{"before its expiry", prev, at.Add(-time.Millisecond), prev},
		{"at its expiry", prev, at, nil},
		{"after it", prev, at.Add(time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &Webhook{Previous: tt.prev}
			assert.Same(t, tt.want, w.PreviousAt(tt.now))
			w.DropExpiredPrevious(tt.now)
			assert.Same(t, tt.want, w.Previous)
		})
	}
}
