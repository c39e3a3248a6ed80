package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// whsecSecret is a Standard Webhooks secret: the key is its decoded bytes.
const whsecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestFanOutWithEveryAuthType(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		type sub struct {
			auth  string
			creds map[string]any
			rcv   *receiver
			id    string
		}
		subs := []*sub{
			{auth: "none"},
			{auth: "basic", creds: map[string]any{"username": "user", "password": "pass"}},
			{auth: "bearer", creds: map[string]any{"token": "secret123"}},
			{auth: "api-key", creds: map[string]any{"api_key": "key-1", "header_name": "X-Custom-Key"}},
			{auth: "hmac", creds: map[string]any{"secret": "shared-secret"}},
			{auth: "hmac", creds: map[string]any{"secret": whsecSecret}},
		}
		for _, sb := range subs {
			sb.rcv = newReceiver(t)
			spec := map[string]any{"name": "fan-" + sb.auth, "url": sb.rcv.URL + "/hook", "events": []string{"agent.started", "custom"},
				"auth_type": sb.auth, "headers": map[string]string{"X-Team": "core"}}
			if sb.creds != nil {
				spec["auth_credentials"] = sb.creds
			}
			sb.id = s.createWebhook(spec)
		}
		// Not subscribed, and paused: neither receives anything.
		other := newReceiver(t)
		s.createWebhook(map[string]any{"name": "other", "url": other.URL, "events": []string{"agent.stopped"}})
		paused := newReceiver(t)
		pid := s.createWebhook(map[string]any{"name": "paused", "url": paused.URL, "events": []string{"agent.started"}})
		code, _ := s.do("POST", "/webhooks/"+pid+"/pause", nil)
		require.Equal(t, http.StatusOK, code)

		res, err := s.pipeline.Triggers.Trigger(context.Background(), webhook.TriggerRequest{
			Event: "agent.started", Data: json.RawMessage(`{"agent_id":"agent_123","agent_name":"Data Processor"}`),
			Metadata: json.RawMessage(`{"triggered_by":"scheduler"}`),
		})
		require.NoError(t, err)
		require.Equal(t, len(subs), res.Deliveries)

		for _, sb := range subs {
			reqs := sb.rcv.waitRequests(t, 1, 20*time.Second)
			r := reqs[0]
			h := r.header
			deliveryID := webhook.DeliveryIDFor(res.EventID, sb.id, time.Time{})
			_ = deliveryID
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			assert.Equal(t, "SystemPrompt-Webhook/1.0", h.Get("User-Agent"))
			assert.Equal(t, "agent.started", h.Get("X-Webhook-Event"))
			assert.Equal(t, sb.id, h.Get("X-Webhook-Id"))
			assert.Equal(t, "1", h.Get("X-Webhook-Attempt"))
			assert.Equal(t, "core", h.Get("X-Team"))
			_, err := time.Parse(time.RFC3339, h.Get("X-Webhook-Timestamp"))
			assert.NoError(t, err, "X-Webhook-Timestamp is ISO-8601")
			assert.True(t, webhook.ValidID(webhook.DeliveryIDPrefix, h.Get("X-Webhook-Delivery")))

			var body map[string]any
			require.NoError(t, json.Unmarshal(r.body, &body))
			assert.Equal(t, sb.id, body["webhook_id"])
			assert.Equal(t, "agent.started", body["event"])
			assert.Equal(t, map[string]any{"agent_id": "agent_123", "agent_name": "Data Processor"}, body["data"])
			assert.Equal(t, map[string]any{"triggered_by": "scheduler"}, body["metadata"])
			assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, body["timestamp"])

			switch sb.auth {
			case "none":
				assert.Empty(t, h.Get("Authorization"))
				assert.Empty(t, h.Get("X-Webhook-Signature"))
			case "basic":
				assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("user:pass")), h.Get("Authorization"))
			case "bearer":
				assert.Equal(t, "Bearer secret123", h.Get("Authorization"))
			case "api-key":
				assert.Equal(t, "key-1", h.Get("X-Custom-Key"))
			case "hmac":
				secret := sb.creds["secret"].(string)
				verifySeed(t, secret, r)
				verifyStandard(t, secret, r)
			}
			d := s.waitFinal(sb.id, h.Get("X-Webhook-Delivery"), 10*time.Second)
			assert.Equal(t, webhook.DeliverySucceeded, d.Status)
			assert.Len(t, d.Attempts, 1)
		}
		assert.Empty(t, other.got())
		assert.Empty(t, paused.got())
	})
}

// verifySeed checks X-Webhook-Signature the way the seed's receivers do:
// HMAC-SHA256 of the exact body with the secret's UTF-8 bytes, or, for a
// whsec_ secret, with its decoded key.
func verifySeed(t *testing.T, secret string, r received) {
	t.Helper()
	key := []byte(secret)
	if k, ok := cutWhsec(secret); ok {
		key = k
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(r.body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	assert.True(t, hmac.Equal([]byte(want), []byte(r.header.Get("X-Webhook-Signature"))), "seed signature")
}

// verifyStandard checks the Standard Webhooks headers with the reference
// library, as an off-the-shelf receiver would. Raw secrets are given to it
// as whsec_ + base64 of their bytes, which is the same key.
func verifyStandard(t *testing.T, secret string, r received) {
	t.Helper()
	if _, ok := cutWhsec(secret); !ok {
		secret = "whsec_" + base64.StdEncoding.EncodeToString([]byte(secret))
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	assert.Equal(t, r.header.Get("X-Webhook-Delivery"), r.header.Get("webhook-id"))
	assert.NoError(t, wh.Verify(r.body, r.header), "standard webhooks signature")
	tampered := append([]byte(nil), r.body...)
	tampered[len(tampered)-2] ^= 1
	assert.Error(t, wh.Verify(tampered, r.header))
}

func cutWhsec(secret string) ([]byte, bool) {
	const p = "whsec_"
	if len(secret) <= len(p) || secret[:len(p)] != p {
		return nil, false
	}
	k, err := base64.StdEncoding.DecodeString(secret[len(p):])
	return k, err == nil
}
