package manage

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

const hmacHook = `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"hmac","auth_credentials":{"secret":"old-secret"}}`

// opened returns the secret a sealed blob of webhook id holds.
func (f *fixture) opened(t *testing.T, id string, sealed []byte) string {
	t.Helper()
	creds, err := f.secrets.Open(context.Background(), id, sealed)
	require.NoError(t, err)
	return creds["secret"]
}

func TestRotateSecret(t *testing.T) {
	now := fixedNow.Truncate(time.Millisecond)
	tests := []struct {
		name    string
		body    string
		secret  string        // the new secret; "" generated
		overlap time.Duration // 0: no previous secret
	}{
		{"defaults: generated, 24 h", `{}`, "", 24 * time.Hour},
		{"nulls are defaults", `{"secret":null,"previous_valid_for_ms":null}`, "", 24 * time.Hour},
		{"given secret, one hour", `{"secret":"new-secret","previous_valid_for_ms":3600000}`, "new-secret", time.Hour},
		{"seven days", `{"previous_valid_for_ms":604800000}`, "", 7 * 24 * time.Hour},
		{"zero ends the old secret at once", `{"secret":"whsec_bmV3IGtleQ==","previous_valid_for_ms":0}`, "whsec_bmV3IGtleQ==", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.create(t, hmacHook)
			got, reveal, err := f.svc.RotateSecret(context.Background(), w.ID, members(t, tt.body), 0)
			require.NoError(t, err)
			secret := reveal["secret"]
			if tt.secret == "" {
				assert.Regexp(t, `^whsec_`, secret)
			} else {
				assert.Equal(t, tt.secret, secret)
			}
			assert.Equal(t, int64(2), got.Version)
			assert.Equal(t, now, got.UpdatedAt)
			assert.Nil(t, got.Credentials, "plaintext goes no further")
			assert.Equal(t, map[string]string{"secret": secret[:2] + "****"}, got.MaskedCredentials)

			stored := f.store.Webhook(w.ID)
			assert.Equal(t, secret, f.opened(t, w.ID, stored.SealedCredentials))
			if tt.overlap == 0 {
				assert.Nil(t, stored.Previous)
				assert.Nil(t, got.Previous)
				return
			}
			require.NotNil(t, stored.Previous)
			assert.Equal(t, now.Add(tt.overlap), stored.Previous.ExpiresAt)
			assert.Equal(t, "old-secret", f.opened(t, w.ID, stored.Previous.Sealed))
			assert.Empty(t, stored.Previous.Secret, "no plaintext is stored")
			assert.Equal(t, stored.Previous.ExpiresAt, got.Previous.ExpiresAt)
		})
	}
}

// A rotation during an overlap keeps only the secret it replaces: at most
// one previous secret.
func TestRotateSecretDuringOverlap(t *testing.T) {
	f := newFixture(t)
	w := f.create(t, hmacHook)
	ctx := context.Background()
	_, first, err := f.svc.RotateSecret(ctx, w.ID, members(t, `{}`), 0)
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	_, second, err := f.svc.RotateSecret(ctx, w.ID, members(t, `{"previous_valid_for_ms":60000}`), 0)
	require.NoError(t, err)
	require.NotEqual(t, first["secret"], second["secret"])

	stored := f.store.Webhook(w.ID)
	assert.Equal(t, second["secret"], f.opened(t, w.ID, stored.SealedCredentials))
	require.NotNil(t, stored.Previous)
	assert.Equal(t, first["secret"], f.opened(t, w.ID, stored.Previous.Sealed), "the oldest secret is gone")
	assert.Equal(t, f.clock.Now().Truncate(time.Millisecond).Add(time.Minute), stored.Previous.ExpiresAt)
}

// Every refusal is a 400 naming its field (404 for no webhook, 409 for a
// stale version), and nothing is written or sealed.
func TestRotateSecretRefused(t *testing.T) {
	tests := []struct {
		name    string
		hook    string // the webhook
		id      string // "" : the webhook's
		body    string
		version int64
		code    string
		field   string
	}{
		{"not hmac", minimal, "", `{}`, 0, webhook.EInvalid, "auth_type"},
		{"bearer", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"bearer","auth_credentials":{"token":"t"}}`, "", `{"secret":"s"}`, 0, webhook.EInvalid, "auth_type"},
		{"negative duration", hmacHook, "", `{"previous_valid_for_ms":-1}`, 0, webhook.EInvalid, "previous_valid_for_ms"},
		{"over seven days", hmacHook, "", `{"previous_valid_for_ms":604800001}`, 0, webhook.EInvalid, "previous_valid_for_ms"},
		{"duration not a whole number", hmacHook, "", `{"previous_valid_for_ms":1.5}`, 0, webhook.EInvalid, "previous_valid_for_ms"},
		{"duration a string", hmacHook, "", `{"previous_valid_for_ms":"24h"}`, 0, webhook.EInvalid, "previous_valid_for_ms"},
		{"empty secret", hmacHook, "", `{"secret":""}`, 0, webhook.EInvalid, "secret"},
		{"secret not a string", hmacHook, "", `{"secret":42}`, 0, webhook.EInvalid, "secret"},
		{"whsec_ secret that is not base64", hmacHook, "", `{"secret":"whsec_!!"}`, 0, webhook.EInvalid, "secret"},
		{"the current secret", hmacHook, "", `{"secret":"old-secret"}`, 0, webhook.EInvalid, "secret"},
		{"unknown member", hmacHook, "", `{"previous_valid_for":1}`, 0, webhook.EInvalid, "previous_valid_for"},
		{"stale version", hmacHook, "", `{}`, 7, webhook.EConflict, ""},
		{"no such webhook", hmacHook, "wh_0123456789abcdef0123456789abcdef", `{}`, 0, webhook.ENotFound, ""},
		{"malformed id", hmacHook, "nope", `{}`, 0, webhook.ENotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.create(t, tt.hook)
			id := tt.id
			if id == "" {
				id = w.ID
			}
			seals := f.secrets.Seals()
			_, _, err := f.svc.RotateSecret(context.Background(), id, members(t, tt.body), tt.version)
			assertCode(t, err, tt.code, tt.field)
			assert.Equal(t, w, f.store.Webhook(w.ID), "nothing changed")
			assert.Equal(t, seals, f.secrets.Seals(), "nothing sealed")
		})
	}
}

// Expiry is judged at the service's clock: an expired previous secret is
// not shown and the next write drops it; new credentials end an overlap at
// once, other changes keep it.
func TestPreviousSecretLifetime(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*fixture, string) {
		f := newFixture(t)
		w := f.create(t, hmacHook)
		_, _, err := f.svc.RotateSecret(ctx, w.ID, members(t, `{"previous_valid_for_ms":60000}`), 0)
		require.NoError(t, err)
		return f, w.ID
	}

	t.Run("shown until it expires", func(t *testing.T) {
		f, id := setup(t)
		f.clock.Advance(59 * time.Second)
		got, err := f.svc.Get(ctx, id)
		require.NoError(t, err)
		assert.NotNil(t, got.Previous)
		page, err := f.svc.List(ctx, webhook.ListFilter{Limit: 10})
		require.NoError(t, err)
		assert.NotNil(t, page.Items[0].Previous)

		f.clock.Advance(time.Second)
		got, err = f.svc.Get(ctx, id)
		require.NoError(t, err)
		assert.Nil(t, got.Previous)
		page, err = f.svc.List(ctx, webhook.ListFilter{Limit: 10})
		require.NoError(t, err)
		assert.Nil(t, page.Items[0].Previous)
		assert.NotNil(t, f.store.Webhook(id).Previous, "no write yet")
	})
	t.Run("the next write drops an expired one", func(t *testing.T) {
		f, id := setup(t)
		f.clock.Advance(time.Minute)
		_, err := f.svc.Pause(ctx, id, false)
		require.NoError(t, err)
		assert.Nil(t, f.store.Webhook(id).Previous)
	})
	t.Run("a patch of other members keeps it", func(t *testing.T) {
		f, id := setup(t)
		got, _, err := f.svc.Patch(ctx, id, members(t, `{"name":"renamed"}`), 0)
		require.NoError(t, err)
		assert.NotNil(t, got.Previous)
		assert.NotNil(t, f.store.Webhook(id).Previous)
	})
	for _, body := range []string{`{"auth_credentials":{"secret":"patched"}}`, `{"auth_type":"none"}`} {
		t.Run("new credentials end it: "+body, func(t *testing.T) {
			f, id := setup(t)
			got, _, err := f.svc.Patch(ctx, id, members(t, body), 0)
			require.NoError(t, err)
			assert.Nil(t, got.Previous)
			assert.Nil(t, f.store.Webhook(id).Previous)
		})
	}
	t.Run("a test send signs with both", func(t *testing.T) {
		f, id := setup(t)
		_, err := f.svc.Test(ctx, id)
		require.NoError(t, err)
		require.Len(t, f.tester.got, 1)
		require.NotNil(t, f.tester.got[0].Previous)
		assert.Equal(t, "old-secret", f.tester.got[0].Previous.Secret)

		f.clock.Advance(time.Minute)
		_, err = f.svc.Test(ctx, id)
		require.NoError(t, err)
		assert.Nil(t, f.tester.got[1].Previous)
	})
}
