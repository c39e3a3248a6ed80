package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKey(t *testing.T) {
	tests := []struct {
		secret  string
		want    []byte
		wantErr bool
	}{
		{"shared-secret", []byte("shared-secret"), false},
		{"ünïcode ✓", []byte("ünïcode ✓"), false},
		{"whsec_c2VjcmV0", []byte("secret"), false},
		{"whsec_AAEC/w==", []byte{0, 1, 2, 255}, false},
		{"WHSEC_c2VjcmV0", []byte("WHSEC_c2VjcmV0"), false}, // prefix is case-sensitive, like the libraries'
		{"prefix whsec_c2VjcmV0", []byte("prefix whsec_c2VjcmV0"), false},
		{"whsec_not base64!", nil, true},
		{"whsec_c2VjcmV0=", nil, true}, // bad padding
		{"whsec_", nil, true},
		{"", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.secret, func(t *testing.T) {
			got, err := Key(tt.secret)
			if tt.wantErr {
				assert.Error(t, err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// The known-answer vector of the Standard Webhooks reference libraries
// (libraries/go/webhook_test.go TestWebhookSign, the same in every language).
func TestStandardWebhooksKnownAnswer(t *testing.T) {
	key, err := Key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	got := StandardWebhooks(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	assert.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", got)
}

// Computed independently: printf '{"a":1}' | openssl dgst -sha256 -hmac shared-secret
func TestSeedKnownAnswer(t *testing.T) {
	got := Seed([]byte("shared-secret"), []byte(`{"a":1}`))
	assert.Equal(t, "sha256=0294f2251135bb0b0299c77d61cf05370fad18c7d5bc9dea04d2b4d415277ada", got)
}

// verifySeed is what a seed receiver does: recompute and compare in constant time.
func verifySeed(secret string, body []byte, header string) bool {
	sig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

func TestSeedVerifiesLikeAReceiver(t *testing.T) {
	body := []byte(`{"webhook_id":"wh_1","event":"agent.started","data":{"x":"<&>"}}`)
	key, err := Key("shared-secret")
	require.NoError(t, err)
	sig := Seed(key, body)
	assert.Regexp(t, `^sha256=[0-9a-f]{64}$`, sig)
	assert.True(t, verifySeed("shared-secret", body, sig))
	assert.False(t, verifySeed("other-secret", body, sig))
	assert.False(t, verifySeed("shared-secret", append(body, ' '), sig))
}

func TestStandardWebhooksVerifiesWithLibrary(t *testing.T) {
	body := []byte(`{"webhook_id":"wh_1","event":"agent.started","data":{}}`)
	now := time.Now()
	for _, secret := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "shared-secret"} {
		t.Run(secret, func(t *testing.T) {
			key, err := Key(secret)
			require.NoError(t, err)
			h := http.Header{}
			h.Set("webhook-id", "dlv_123")
			h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
			h.Set("webhook-signature", StandardWebhooks(key, "dlv_123", now, body))

			var wh *standardwebhooks.Webhook
			if strings.HasPrefix(secret, "whsec_") {
				wh, err = standardwebhooks.NewWebhook(secret)
			} else {
				wh, err = standardwebhooks.NewWebhookRaw([]byte(secret))
			}
			require.NoError(t, err)
			assert.NoError(t, wh.Verify(body, h))
			assert.Error(t, wh.Verify(append(body, ' '), h), "tampered body")

			h2 := h.Clone()
			h2.Set("webhook-id", "dlv_124")
			assert.Error(t, wh.Verify(body, h2), "other message id")

			other, err := standardwebhooks.NewWebhookRaw([]byte("nope"))
			require.NoError(t, err)
			assert.Error(t, other.Verify(body, h), "other key")

			// The library's own signer agrees byte for byte.
			want, err := wh.Sign("dlv_123", now, body)
			require.NoError(t, err)
			assert.Equal(t, want, h.Get("webhook-signature"))
		})
	}
}

func BenchmarkSign(b *testing.B) {
	key := []byte("shared-secret")
	body := []byte(strings.Repeat("x", 1024))
	ts := time.Unix(1700000000, 0)
	b.ReportAllocs()
	for b.Loop() {
		_ = Seed(key, body)
		_ = StandardWebhooks(key, "dlv_0123456789abcdef0123456789abcdef", ts, body)
	}
}

// During a rotation's overlap webhook-signature carries one v1 signature per
// secret, newest first: the unmodified library verifies with either secret,
// and with neither it fails.
func TestStandardWebhooksAllVerifiesWithEitherSecret(t *testing.T) {
	body := []byte(`{"webhook_id":"wh_1","event":"custom","data":{}}`)
	now := time.Now()
	const newSecret, oldSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2VlZC1zdHlsZSBvbGQgc2VjcmV0"
	newKey, err := Key(newSecret)
	require.NoError(t, err)
	oldKey, err := Key(oldSecret)
	require.NoError(t, err)

	sig := StandardWebhooksAll([][]byte{newKey, oldKey}, "dlv_1", now, body)
	assert.Equal(t, StandardWebhooks(newKey, "dlv_1", now, body)+" "+StandardWebhooks(oldKey, "dlv_1", now, body), sig)
	assert.Equal(t, StandardWebhooks(newKey, "dlv_1", now, body), StandardWebhooksAll([][]byte{newKey}, "dlv_1", now, body))

	h := http.Header{}
	h.Set("webhook-id", "dlv_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	for _, tt := range []struct {
		secret string
		ok     bool
	}{{newSecret, true}, {oldSecret, true}, {"whsec_b3RoZXIgc2VjcmV0", false}} {
		wh, err := standardwebhooks.NewWebhook(tt.secret)
		require.NoError(t, err)
		if tt.ok {
			assert.NoError(t, wh.Verify(body, h), tt.secret)
		} else {
			assert.Error(t, wh.Verify(body, h), tt.secret)
		}
	}
}
