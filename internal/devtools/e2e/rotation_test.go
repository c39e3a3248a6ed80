package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/signing"
)

// TestSecretRotation walks an hmac webhook through a rotation on the real
// pipeline: before it, one secret signs; a delivery function that cached the
// webhook picks the rotation up when its cache (15 s) expires; during the
// overlap every delivery carries both secrets' v1 signatures (new first),
// X-Webhook-Signature keeps the old secret's and X-Webhook-Signature-Next
// the new one's, and the unmodified Standard Webhooks library verifies it
// with either secret; once the delivery function's clock passes
// previous_secret_expires_at only the new secret signs. The clock is moved
// on instead of waited for.
func TestSecretRotation(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var ahead atomic.Int64 // this stack's own clock
			s := newStack(t, b, stackOptions{now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }})
			secretRotation(t, s, &ahead)
		})
	}
}

func secretRotation(t *testing.T, s *stack, ahead *atomic.Int64) {
	rcv := newReceiver(t)
	const oldSecret = "whsec_b2xkIHNlY3JldCBvZiB0aGUgZTJlIHRlc3Q="
	id := s.createWebhook(map[string]any{
		"name": "rotating", "url": rcv.URL + "/hook", "events": []string{"custom"},
		"auth_type": "hmac", "auth_credentials": map[string]string{"secret": oldSecret},
		"retry": map[string]any{"max_attempts": 1},
	})
	oldKey, err := signing.Key(oldSecret)
	require.NoError(t, err)

	deliver := func(n int) received {
		t.Helper()
		code, out := s.do("POST", "/events", map[string]any{"event": "custom", "data": map[string]any{"n": n}})
		require.Equal(t, http.StatusAccepted, code, "%v", out)
		got := rcv.waitRequests(t, n, 30*time.Second)
		require.Len(t, got, n)
		return got[n-1]
	}
	verifies := func(secret string, r received) error {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		return wh.Verify(r.body, r.header)
	}

	// Before: the old secret alone; the webhook is now in the cache.
	r := deliver(1)
	assert.Equal(t, signing.Seed(oldKey, r.body), r.header.Get("X-Webhook-Signature"))
	assert.Empty(t, r.header.Values("X-Webhook-Signature-Next"))
	assert.NotContains(t, r.header.Get("webhook-signature"), " ")

	code, out := s.do("POST", "/webhooks/"+id+"/rotate-secret", map[string]any{"previous_valid_for_ms": 120000})
	require.Equal(t, http.StatusOK, code, "%v", out)
	newSecret := out["auth_credentials"].(map[string]any)["secret"].(string)
	require.True(t, strings.HasPrefix(newSecret, "whsec_"))
	newKey, err := signing.Key(newSecret)
	require.NoError(t, err)
	expires, err := time.Parse(time.RFC3339Nano, out["previous_secret_expires_at"].(string))
	require.NoError(t, err)

	t.Run("during the overlap, after the cache's 15 s", func(t *testing.T) {
		ahead.Store(int64(16 * time.Second))
		r := deliver(2)
		id := r.header.Get("webhook-id")
		at := r.header.Get("webhook-timestamp")
		require.NotEmpty(t, id)
		require.NotEmpty(t, at)
		assert.Equal(t, signing.Seed(oldKey, r.body), r.header.Get("X-Webhook-Signature"), "the old secret's, for seed-style receivers")
		assert.Equal(t, signing.Seed(newKey, r.body), r.header.Get("X-Webhook-Signature-Next"))
		sigs := strings.Split(r.header.Get("webhook-signature"), " ")
		require.Len(t, sigs, 2, "one v1 signature per valid secret")
		unix, err := strconv.ParseInt(at, 10, 64)
		require.NoError(t, err)
		ts := time.Unix(unix, 0)
		assert.Equal(t, signing.StandardWebhooks(newKey, id, ts, r.body), sigs[0], "newest first")
		assert.Equal(t, signing.StandardWebhooks(oldKey, id, ts, r.body), sigs[1])
		assert.NoError(t, verifies(oldSecret, r), "a receiver holding only the old secret")
		assert.NoError(t, verifies(newSecret, r), "a receiver holding only the new secret")
	})

	t.Run("after the overlap", func(t *testing.T) {
		ahead.Store(int64(time.Until(expires) + 2*time.Second))
		r := deliver(3)
		assert.Equal(t, signing.Seed(newKey, r.body), r.header.Get("X-Webhook-Signature"))
		assert.Empty(t, r.header.Values("X-Webhook-Signature-Next"))
		assert.NotContains(t, r.header.Get("webhook-signature"), " ")
		assert.NoError(t, verifies(newSecret, r))
		assert.Error(t, verifies(oldSecret, r), "the old secret no longer verifies")
	})

	t.Run("refusals change nothing", func(t *testing.T) {
		_, before := s.do("GET", "/webhooks/"+id, nil)
		plain := s.createWebhook(map[string]any{"name": "plain", "url": rcv.URL + "/plain", "events": []string{"custom"}})
		for _, c := range []struct {
			path  string
			body  map[string]any
			field string
		}{
			{"/webhooks/" + plain + "/rotate-secret", map[string]any{}, "auth_type"},
			{"/webhooks/" + id + "/rotate-secret", map[string]any{"previous_valid_for_ms": 604800001}, "previous_valid_for_ms"},
			{"/webhooks/" + id + "/rotate-secret", map[string]any{"previous_valid_for_ms": -1}, "previous_valid_for_ms"},
			{"/webhooks/" + id + "/rotate-secret", map[string]any{"secret": newSecret}, "secret"},
		} {
			code, out := s.do("POST", c.path, c.body)
			assert.Equal(t, http.StatusBadRequest, code, "%s %v: %v", c.path, c.body, out)
			assert.Equal(t, c.field, out["error"].(map[string]any)["field"], "%v", out)
		}
		_, after := s.do("GET", "/webhooks/"+id, nil)
		assert.Equal(t, before, after)
		_, p := s.do("GET", "/webhooks/"+plain, nil)
		assert.EqualValues(t, 1, p["version"])
	})
}
