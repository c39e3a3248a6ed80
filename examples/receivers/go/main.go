// Command receiver is a webhook receiver that verifies both signatures an
// hmac delivery carries: X-Webhook-Signature (sha256=<hex HMAC-SHA256 of the
// body>; during a secret rotation also X-Webhook-Signature-Next) with the
// standard library, and the Standard Webhooks headers
// webhook-id, webhook-timestamp and webhook-signature with the Standard
// Webhooks Go library. It answers 204 when both verify and 401 otherwise, and
// prints one line per request.
//
//	WEBHOOK_SECRET='whsec_...' PORT=9000 go run .
//
// PORT 0 picks a free port; HOST (default 127.0.0.1) is the address to bind.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// maxBody bounds what is read of a request: a delivery's body is at most a
// few hundred KiB.
const maxBody = 1 << 20

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}

func run() error {
	key, err := signingKey(os.Getenv("WEBHOOK_SECRET"))
	if err != nil {
		return err
	}
	// The key is already decoded, so the raw constructor serves both kinds
	// of secret (NewWebhook takes only whsec_/base64 secrets).
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return err
	}
	host, port := os.Getenv("HOST"), os.Getenv("PORT")
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "9000"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return err
	}
	logger := log.New(os.Stdout, "", 0)
	logger.Printf("listening on http://%s", ln.Addr())
	srv := &http.Server{
		Handler:           &receiver{key: key, wh: wh, log: logger},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
	}
	return srv.Serve(ln)
}

// signingKey returns the HMAC key of both signatures: the decoded bytes of a
// "whsec_<base64>" secret, the UTF-8 bytes of any other.
func signingKey(secret string) ([]byte, error) {
	if secret == "" {
		return nil, errors.New("WEBHOOK_SECRET is not set")
	}
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, errors.New("WEBHOOK_SECRET: a whsec_ secret must be followed by base64")
	}
	return key, nil
}

type receiver struct {
	key []byte
	wh  *standardwebhooks.Webhook
	log *log.Logger
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("webhook-id") // the delivery id: the same on every retry
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		code := http.StatusBadRequest
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			code = http.StatusRequestEntityTooLarge
		}
		rc.log.Printf("%d %s: body: %v", code, orDash(id), err)
		w.WriteHeader(code)
		return
	}
	if err := rc.verify(body, r.Header); err != nil {
		rc.log.Printf("401 %s: %v", orDash(id), err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	// Verified: the body is the service's. Handle it here, de-duplicating on id.
	var delivery struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(body, &delivery); err != nil {
		rc.log.Printf("400 %s: body: %v", orDash(id), err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.log.Printf("204 %s %s: verified", id, delivery.Event)
	w.WriteHeader(http.StatusNoContent)
}

// verify checks both signatures of the exact body bytes.
func (rc *receiver) verify(body []byte, h http.Header) error {
	mac := hmac.New(sha256.New, rc.key)
	mac.Write(body)
	want := []byte("sha256=" + hex.EncodeToString(mac.Sum(nil)))
	// During a secret rotation X-Webhook-Signature carries the old secret's
	// signature and X-Webhook-Signature-Next the new one's: a receiver that
	// checks both works with either secret.
	if !hmac.Equal(want, []byte(h.Get("X-Webhook-Signature"))) && !hmac.Equal(want, []byte(h.Get("X-Webhook-Signature-Next"))) {
		return errors.New("X-Webhook-Signature does not match")
	}
	// Any matching v1 signature among several passes (a secret rotation
	// signs with both secrets); a webhook-timestamp over 5 minutes off fails.
	if err := rc.wh.Verify(body, h); err != nil {
		return fmt.Errorf("webhook-signature: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
