package delivery

import (
	"context"
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
