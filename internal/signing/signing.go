// Package signing computes the signatures a delivery carries: the seed's
// `X-Webhook-Signature: sha256=<hex>` over the body, and the Standard Webhooks
// (https://www.standardwebhooks.com) `webhook-signature: v1,<base64>` over
// "id.timestamp.body". Both use the same key (see Key). During a secret
// rotation's overlap webhook-signature carries one v1 signature per valid
// key (StandardWebhooksAll).
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Prefixes of the two signature formats.
const (
	SeedPrefix = "sha256="
	V1Prefix   = "v1,"
)

// Key returns the HMAC key for a webhook secret. For "whsec_<base64>" it is
// the decoded bytes, as Standard Webhooks libraries expect (standard base64
// with padding, like their verifiers decode it); any other secret is used as
// its raw UTF-8 bytes, as the seed's receivers expect. An empty key, or a
// whsec_ secret whose base64 is malformed, is an error: signing with it would
// give receivers a signature they could never check.
func Key(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, webhook.SecretPrefix)
	if !ok {
		if secret == "" {
			return nil, errors.New("signing: hmac secret is empty")
		}
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("signing: hmac secret: %s... is not valid base64: %w", webhook.SecretPrefix, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("signing: hmac secret: %s key is empty", webhook.SecretPrefix)
	}
	return key, nil
}

// Seed returns the seed module's signature of body: "sha256=" followed by the
// lower-case hex HMAC-SHA256 of the exact body bytes.
func Seed(key, body []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write(body)
	var sum [sha256.Size]byte
	out := make([]byte, len(SeedPrefix)+hex.EncodedLen(sha256.Size))
	copy(out, SeedPrefix)
	hex.Encode(out[len(SeedPrefix):], h.Sum(sum[:0]))
	return string(out)
}

// StandardWebhooks returns the Standard Webhooks signature "v1,<base64>" of
// the HMAC-SHA256 over "<msgID>.<unix seconds of ts>.<body>". msgID is the
// webhook-id header (the delivery id) and ts the webhook-timestamp header.
func StandardWebhooks(key []byte, msgID string, ts time.Time, body []byte) string {
	h := hmac.New(sha256.New, key)
	// Written piecewise so the body is not copied into a joined string.
	var num [20]byte
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(num[:0], ts.Unix(), 10))
	h.Write([]byte{'.'})
	h.Write(body)
	var sum [sha256.Size]byte
	out := make([]byte, len(V1Prefix)+base64.StdEncoding.EncodedLen(sha256.Size))
	copy(out, V1Prefix)
	base64.StdEncoding.Encode(out[len(V1Prefix):], h.Sum(sum[:0]))
	return string(out)
}

// StandardWebhooksAll returns the webhook-signature value for several keys:
// one "v1,<base64>" per key, in the order given (newest first), separated by
// spaces. Standard Webhooks verifiers accept a delivery when any one matches,
// so a receiver holding any of the keys verifies it.
func StandardWebhooksAll(keys [][]byte, msgID string, ts time.Time, body []byte) string {
	if len(keys) == 1 {
		return StandardWebhooks(keys[0], msgID, ts, body)
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(StandardWebhooks(k, msgID, ts, body))
	}
	return b.String()
}
