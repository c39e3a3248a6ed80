package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
)

const hmacBody = `{"name":"n","url":"https://example.com/hook","events":["custom"],"auth_type":"hmac","auth_credentials":{"secret":"old-secret"}}`

func TestRotateSecret(t *testing.T) {
	clock := fake.NewClock(fixedNow)
	e := newEnv(t, func(o *envOptions) { o.Clock, o.Sleep, o.api.Clock = clock.Now, clock.Sleep, clock.Now })
	w := e.create(hmacBody)
	assert.Nil(t, w.PreviousExpires)
	assert.Contains(t, e.do("GET", "/webhooks/"+w.ID, "").Body.String(), `"previous_secret_expires_at":null`)

	// An empty body: a generated secret, the old one valid for 24 h.
	rec := e.do("POST", "/webhooks/"+w.ID+"/rotate-secret", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	assert.Contains(t, rec.Body.String(), `"previous_secret_expires_at":"2024-01-02T12:00:00.123Z"`)
	got := decode[webhookOut](t, rec)
	secret := got.AuthCredentials["secret"]
	assert.True(t, strings.HasPrefix(secret, "whsec_"), "the new secret in full, once: %q", secret)
	expires := fixedNow.Truncate(time.Millisecond).Add(24 * time.Hour)
	require.NotNil(t, got.PreviousExpires)
	assert.Equal(t, expires, *got.PreviousExpires)

	// Reads show it masked, and when the old secret stops.
	read := decode[webhookOut](t, e.do("GET", "/webhooks/"+w.ID, ""))
	assert.Equal(t, map[string]string{"secret": "wh****"}, read.AuthCredentials)
	require.NotNil(t, read.PreviousExpires)
	assert.Equal(t, expires, *read.PreviousExpires)
	creds, err := e.secrets.Open(context.Background(), w.ID, e.store.Webhook(w.ID).SealedCredentials)
	require.NoError(t, err)
	assert.Equal(t, secret, creds["secret"])

	// A given secret with If-Match, ending the old one at once.
	rec = e.do("POST", "/webhooks/"+w.ID+"/rotate-secret", `{"secret":"given-secret","previous_valid_for_ms":0}`, "If-Match", `"2"`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got = decode[webhookOut](t, rec)
	assert.Equal(t, "given-secret", got.AuthCredentials["secret"])
	assert.Nil(t, got.PreviousExpires)

	// After the overlap the read shows none.
	rec = e.do("POST", "/webhooks/"+w.ID+"/rotate-secret", `{"previous_valid_for_ms":60000}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	clock.Advance(time.Minute)
	assert.Nil(t, decode[webhookOut](t, e.do("GET", "/webhooks/"+w.ID, "")).PreviousExpires)
}

// Each refusal answers its status naming the field, and changes nothing.
func TestRotateSecretRefused(t *testing.T) {
	e := newEnv(t)
	w := e.create(hmacBody)
	plain := e.create(validBody)
	before := map[string]webhookOut{w.ID: w, plain.ID: plain}
	tests := []struct {
		name    string
		id      string
		body    string
		headers []string
		status  int
		code    string
		field   string
	}{
		{"not hmac", plain.ID, `{}`, nil, 400, "validation_failed", "auth_type"},
		{"out of range", w.ID, `{"previous_valid_for_ms":604800001}`, nil, 400, "validation_failed", "previous_valid_for_ms"},
		{"negative", w.ID, `{"previous_valid_for_ms":-5}`, nil, 400, "validation_failed", "previous_valid_for_ms"},
		{"not a number", w.ID, `{"previous_valid_for_ms":"1h"}`, nil, 400, "validation_failed", "previous_valid_for_ms"},
		{"bad secret", w.ID, `{"secret":"whsec_%%%"}`, nil, 400, "validation_failed", "secret"},
		{"empty secret", w.ID, `{"secret":""}`, nil, 400, "validation_failed", "secret"},
		{"unknown member", w.ID, `{"secrets":"x"}`, nil, 400, "validation_failed", "secrets"},
		{"not an object", w.ID, `[]`, nil, 400, "validation_failed", ""},
		{"member twice", w.ID, `{"secret":"a","secret":"b"}`, nil, 400, "validation_failed", "secret"},
		{"bad If-Match", w.ID, `{}`, []string{"If-Match", "2"}, 400, "validation_failed", "If-Match"},
		{"stale If-Match", w.ID, `{}`, []string{"If-Match", `"9"`}, 409, "conflict", ""},
		{"unknown webhook", "wh_0123456789abcdef0123456789abcdef", `{}`, nil, 404, "not_found", ""},
		{"malformed id", "nope", `{"secret":1}`, nil, 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do("POST", "/webhooks/"+tt.id+"/rotate-secret", tt.body, tt.headers...)
			assertError(t, rec, tt.status, tt.code, tt.field)
			for id, was := range before {
				assert.Equal(t, was.Version, decode[webhookOut](t, e.do("GET", "/webhooks/"+id, "")).Version)
			}
		})
	}
	assertError(t, e.do("GET", "/webhooks/"+w.ID+"/rotate-secret", ""), 405, "method_not_allowed", "")
}
