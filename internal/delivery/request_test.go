package delivery

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/retry"
	"github.com/systemprompt-io/webhooks/internal/signing"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var eventTime = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

func TestPayloadBody(t *testing.T) {
	tests := []struct {
		name string
		p    Payload
		want string
	}{
		{
			"seed example",
			Payload{WebhookID: "wh_1", Event: "agent.started", Timestamp: eventTime,
				Data: json.RawMessage(`{"agent_id":"agent_123"}`), Metadata: json.RawMessage(`{"triggered_by":"scheduler"}`)},
			`{"webhook_id":"wh_1","event":"agent.started","timestamp":"2024-01-01T12:00:00.000Z","data":{"agent_id":"agent_123"},"metadata":{"triggered_by":"scheduler"}}`,
		},
		{
			"empty data and metadata",
			Payload{WebhookID: "wh_1", Event: "custom", Timestamp: eventTime},
			`{"webhook_id":"wh_1","event":"custom","timestamp":"2024-01-01T12:00:00.000Z","data":{},"metadata":{}}`,
		},
		{
			"null and blank",
			Payload{WebhookID: "wh_1", Event: "custom", Timestamp: eventTime, Data: json.RawMessage(` null `), Metadata: json.RawMessage("  ")},
			`{"webhook_id":"wh_1","event":"custom","timestamp":"2024-01-01T12:00:00.000Z","data":{},"metadata":{}}`,
		},
		{
			"compacted, not HTML-escaped, unicode kept",
			Payload{WebhookID: "wh_1", Event: "custom", Timestamp: eventTime,
				Data: json.RawMessage("{ \"msg\" : \"<b>&</b> ✓\",\n \"n\": [1, 2] }")},
			`{"webhook_id":"wh_1","event":"custom","timestamp":"2024-01-01T12:00:00.000Z","data":{"msg":"<b>&</b> ✓","n":[1,2]},"metadata":{}}`,
		},
		{
			"milliseconds, UTC, truncated not rounded",
			Payload{WebhookID: "wh_1", Event: "custom",
				Timestamp: time.Date(2024, 3, 5, 1, 2, 3, 456789999, time.FixedZone("CET", 3600))},
			`{"webhook_id":"wh_1","event":"custom","timestamp":"2024-03-05T00:02:03.456Z","data":{},"metadata":{}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Body()
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got))
		})
	}
	_, err := Payload{WebhookID: "wh_1", Data: json.RawMessage(`{"a":`)}.Body()
	assert.Error(t, err)
}

func hook(auth webhook.AuthType, creds map[string]string) *webhook.Webhook {
	return &webhook.Webhook{
		ID:          "wh_0190a0b0c0d0e0f00010203040506070",
		URL:         "https://hooks.example.com/in?x=1",
		Method:      "POST",
		AuthType:    auth,
		Credentials: creds,
		Headers:     map[string]string{"X-Custom": "value", "x-tenant": "t1"},
	}
}

func TestNewRequestHeaders(t *testing.T) {
	body := []byte(`{"webhook_id":"wh_1","event":"agent.started","data":{}}`)
	now := time.Date(2024, 1, 1, 12, 0, 30, 123000000, time.UTC)
	m := Meta{DeliveryID: "dlv_0190a0b0c0d0e0f00010203040506070", Event: "agent.started", Attempt: 2, Time: now}
	common := func(extra map[string]string) http.Header {
		h := http.Header{}
		for k, v := range map[string]string{
			"Content-Type":        "application/json",
			"User-Agent":          "SystemPrompt-Webhook/1.0",
			"X-Webhook-Event":     "agent.started",
			"X-Webhook-Id":        "wh_0190a0b0c0d0e0f00010203040506070",
			"X-Webhook-Timestamp": "2024-01-01T12:00:30.123Z",
			"X-Webhook-Delivery":  "dlv_0190a0b0c0d0e0f00010203040506070",
			"X-Webhook-Attempt":   "2",
			"X-Custom":            "value",
			"X-Tenant":            "t1",
		} {
			h.Set(k, v)
		}
		for k, v := range extra {
			h.Set(k, v)
		}
		return h
	}
	rawKey := []byte("shared-secret")
	swKey, err := signing.Key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	tests := []struct {
		name  string
		w     *webhook.Webhook
		want  http.Header
		basic [2]string
	}{
		{"none", hook(webhook.AuthNone, nil), common(nil), [2]string{}},
		{"empty auth type", hook("", nil), common(nil), [2]string{}},
		{"basic", hook(webhook.AuthBasic, map[string]string{"username": "user", "password": "pa:ss"}),
			common(map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pa:ss"))}), [2]string{"user", "pa:ss"}},
		{"bearer", hook(webhook.AuthBearer, map[string]string{"token": "secret123"}),
			common(map[string]string{"Authorization": "Bearer secret123"}), [2]string{}},
		{"api-key default header", hook(webhook.AuthAPIKey, map[string]string{"api_key": "k-1"}),
			common(map[string]string{"X-API-Key": "k-1"}), [2]string{}},
		{"api-key custom header", hook(webhook.AuthAPIKey, map[string]string{"api_key": "k-2", "header_name": "x-my-key"}),
			common(map[string]string{"X-My-Key": "k-2"}), [2]string{}},
		{"hmac raw secret", hook(webhook.AuthHMAC, map[string]string{"secret": "shared-secret"}),
			common(map[string]string{
				"X-Webhook-Signature": signing.Seed(rawKey, body),
				"Webhook-Id":          m.DeliveryID,
				"Webhook-Timestamp":   strconv.FormatInt(now.Unix(), 10),
				"Webhook-Signature":   signing.StandardWebhooks(rawKey, m.DeliveryID, now, body),
			}), [2]string{}},
		{"hmac whsec secret", hook(webhook.AuthHMAC, map[string]string{"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
			common(map[string]string{
				"X-Webhook-Signature": signing.Seed(swKey, body),
				"Webhook-Id":          m.DeliveryID,
				"Webhook-Timestamp":   "1704110430",
				"Webhook-Signature":   signing.StandardWebhooks(swKey, m.DeliveryID, now, body),
			}), [2]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := NewRequest(context.Background(), tt.w, m, body)
			require.NoError(t, err)
			assert.Equal(t, "POST", req.Method)
			assert.Equal(t, "https://hooks.example.com/in?x=1", req.URL.String())
			assert.Equal(t, tt.want, req.Header)
			assert.Equal(t, int64(len(body)), req.ContentLength)
			require.NotNil(t, req.GetBody, "replayable body")
			if tt.basic[0] != "" {
				u, p, ok := req.BasicAuth()
				assert.True(t, ok)
				assert.Equal(t, tt.basic[0], u)
				assert.Equal(t, tt.basic[1], p)
			}
		})
	}
}

func TestNewRequestMethod(t *testing.T) {
	m := Meta{DeliveryID: "dlv_1", Event: "custom", Attempt: 1, Time: eventTime}
	for method, want := range map[string]string{"": "POST", "POST": "POST", "put": "PUT", "PATCH": "PATCH"} {
		w := hook(webhook.AuthNone, nil)
		w.Method = method
		req, err := NewRequest(context.Background(), w, m, []byte(`{}`))
		require.NoError(t, err)
		assert.Equal(t, want, req.Method)
	}
}

func TestNewRequestSenderHeadersWin(t *testing.T) {
	// Validation refuses these; if one slipped through, the sender's value wins.
	w := hook(webhook.AuthBearer, map[string]string{"token": "t"})
	w.Headers = map[string]string{"content-type": "text/plain", "X-Webhook-Event": "spoofed", "Authorization": "Basic x"}
	req, err := NewRequest(context.Background(), w, Meta{DeliveryID: "dlv_1", Event: "custom", Attempt: 1, Time: eventTime}, []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"application/json"}, req.Header.Values("Content-Type"))
	assert.Equal(t, []string{"custom"}, req.Header.Values("X-Webhook-Event"))
	assert.Equal(t, []string{"Bearer t"}, req.Header.Values("Authorization"))
}

func TestNewRequestErrorsArePermanent(t *testing.T) {
	m := Meta{DeliveryID: "dlv_1", Event: "custom", Attempt: 1, Time: eventTime}
	mod := func(f func(w *webhook.Webhook)) *webhook.Webhook {
		w := hook(webhook.AuthNone, nil)
		f(w)
		return w
	}
	tests := map[string]*webhook.Webhook{
		"nil webhook":       nil,
		"bad url":           mod(func(w *webhook.Webhook) { w.URL = "://nope" }),
		"ftp url":           mod(func(w *webhook.Webhook) { w.URL = "ftp://example.com/x" }),
		"no host":           mod(func(w *webhook.Webhook) { w.URL = "https:///path" }),
		"bad method":        mod(func(w *webhook.Webhook) { w.Method = "PO ST" }),
		"CRLF header value": mod(func(w *webhook.Webhook) { w.Headers = map[string]string{"X-A": "a\r\nX-Evil: 1"} }),
		"bad header name":   mod(func(w *webhook.Webhook) { w.Headers = map[string]string{"X A": "a"} }),
		"basic no username": mod(func(w *webhook.Webhook) {
			w.AuthType, w.Credentials = webhook.AuthBasic, map[string]string{"password": "p"}
		}),
		"bearer no token": mod(func(w *webhook.Webhook) { w.AuthType = webhook.AuthBearer }),
		"bearer CRLF token": mod(func(w *webhook.Webhook) {
			w.AuthType, w.Credentials = webhook.AuthBearer, map[string]string{"token": "a\nb"}
		}),
		"api-key no key": mod(func(w *webhook.Webhook) { w.AuthType = webhook.AuthAPIKey }),
		"api-key bad header": mod(func(w *webhook.Webhook) {
			w.AuthType, w.Credentials = webhook.AuthAPIKey, map[string]string{"api_key": "k", "header_name": "X:Y"}
		}),
		"hmac no secret": mod(func(w *webhook.Webhook) { w.AuthType = webhook.AuthHMAC }),
		"hmac bad whsec": mod(func(w *webhook.Webhook) {
			w.AuthType, w.Credentials = webhook.AuthHMAC, map[string]string{"secret": "whsec_!!"}
		}),
		"unknown auth": mod(func(w *webhook.Webhook) { w.AuthType = "oauth" }),
	}
	for name, w := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := NewRequest(context.Background(), w, m, []byte(`{}`))
			require.Error(t, err)
			assert.Nil(t, req)
			assert.Equal(t, retry.Permanent, retry.Classify(0, err))
		})
	}
	// A signed request without a delivery id is a caller bug, not a config error.
	_, err := NewRequest(context.Background(), hook(webhook.AuthHMAC, map[string]string{"secret": "s"}), Meta{Event: "custom", Attempt: 1, Time: eventTime}, []byte(`{}`))
	assert.Error(t, err)
}

// A rotation's overlap, judged at the attempt's time: during it
// webhook-signature carries the new and then the previous secret's v1
// signatures, X-Webhook-Signature the previous secret's seed signature and
// X-Webhook-Signature-Next the new one's; from its end on only the new
// secret signs, in X-Webhook-Signature.
func TestNewRequestRotationOverlap(t *testing.T) {
	body := []byte(`{"webhook_id":"wh_1","event":"custom","data":{}}`)
	expires := eventTime.Add(time.Hour)
	newKey, oldKey := []byte("new-secret"), []byte("old-secret")
	w := hook(webhook.AuthHMAC, map[string]string{"secret": "new-secret"})
	w.Previous = &webhook.PreviousSecret{Sealed: []byte("sealed"), ExpiresAt: expires, Secret: "old-secret"}
	const id = "dlv_0190a0b0c0d0e0f00010203040506070"
	tests := []struct {
		name           string
		at             time.Time
		seed, next, sw string
	}{
		{"during the overlap", expires.Add(-time.Millisecond),
			signing.Seed(oldKey, body), signing.Seed(newKey, body),
			signing.StandardWebhooks(newKey, id, expires.Add(-time.Millisecond), body) + " " + signing.StandardWebhooks(oldKey, id, expires.Add(-time.Millisecond), body)},
		{"at its end", expires, signing.Seed(newKey, body), "", signing.StandardWebhooks(newKey, id, expires, body)},
		{"after it", expires.Add(time.Hour), signing.Seed(newKey, body), "", signing.StandardWebhooks(newKey, id, expires.Add(time.Hour), body)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := NewRequest(context.Background(), w, Meta{DeliveryID: id, Event: "custom", Attempt: 1, Time: tt.at}, body)
			require.NoError(t, err)
			assert.Equal(t, tt.seed, req.Header.Get(HeaderSignature))
			assert.Equal(t, tt.next, req.Header.Get(HeaderSignatureNext))
			_, hasNext := req.Header[http.CanonicalHeaderKey(HeaderSignatureNext)]
			assert.Equal(t, tt.next != "", hasNext)
			assert.Equal(t, tt.sw, req.Header.Get(HeaderSWSignature))
		})
	}

	t.Run("previous secret not opened", func(t *testing.T) {
		c := *w
		c.Previous = &webhook.PreviousSecret{Sealed: []byte("sealed"), ExpiresAt: expires}
		_, err := NewRequest(context.Background(), &c, Meta{DeliveryID: id, Event: "custom", Attempt: 1, Time: eventTime}, body)
		require.Error(t, err)
	})
}
