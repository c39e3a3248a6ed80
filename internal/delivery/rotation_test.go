package delivery

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// OpenCredentials opens a previous secret only while it is valid (one more
// Open), and drops an expired one without opening it.
func TestOpenCredentialsPreviousSecret(t *testing.T) {
	const id = "wh_0190a0b0c0d0e0f00010203040506070"
	expires := eventTime.Add(time.Hour)
	tests := []struct {
		name  string
		now   time.Time
		opens int
		prev  string // "" : no previous secret after opening
	}{
		{"during the overlap", expires.Add(-time.Second), 2, "old"},
		{"after it", expires, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec := &fake.Secrets{}
			w := &webhook.Webhook{
				ID: id, AuthType: webhook.AuthHMAC,
				SealedCredentials: fake.Sealed(id, map[string]string{"secret": "new"}),
				Previous:          &webhook.PreviousSecret{Sealed: fake.Sealed(id, map[string]string{"secret": "old"}), ExpiresAt: expires},
			}
			require.NoError(t, OpenCredentials(context.Background(), sec, w, tt.now))
			assert.Equal(t, "new", w.Credentials["secret"])
			assert.Equal(t, tt.opens, sec.Opens())
			if tt.prev == "" {
				assert.Nil(t, w.Previous)
			} else if assert.NotNil(t, w.Previous) {
				assert.Equal(t, tt.prev, w.Previous.Secret)
			}
		})
	}
}

// BenchmarkNewRequestHMAC: building a signed 1 KiB delivery request with one
// secret, and during a rotation's overlap with two (every signature twice).
func BenchmarkNewRequestHMAC(b *testing.B) {
	body := []byte(`{"webhook_id":"wh_1","event":"custom","timestamp":"2024-01-01T12:00:00.000Z","data":{"x":"` + strings.Repeat("x", 1000) + `"},"metadata":{}}`)
	m := Meta{DeliveryID: "dlv_0190a0b0c0d0e0f00010203040506070", Event: "custom", Attempt: 1, Time: eventTime}
	for _, bc := range []struct {
		name string
		prev *webhook.PreviousSecret
	}{
		{"one secret", nil},
		{"overlap", &webhook.PreviousSecret{Sealed: []byte("s"), ExpiresAt: eventTime.Add(time.Hour), Secret: "whsec_b2xkIGtleQ=="}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := hook(webhook.AuthHMAC, map[string]string{"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
			w.Previous = bc.prev
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewRequest(context.Background(), w, m, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
