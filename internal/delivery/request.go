// Package delivery performs delivery attempts. This file and send.go are its
// pure HTTP half: the payload, the signed request, and one send with a
// bounded, classified result. They know nothing of storage or queues.
package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/signing"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Headers of a delivery request.
const (
	HeaderContentType = "Content-Type"
	HeaderUserAgent   = "User-Agent"
	HeaderEvent       = "X-Webhook-Event"
	HeaderWebhookID   = "X-Webhook-Id"
	HeaderTimestamp   = "X-Webhook-Timestamp"
	HeaderDelivery    = "X-Webhook-Delivery"
	HeaderAttempt     = "X-Webhook-Attempt"
	HeaderSignature   = "X-Webhook-Signature"
	// HeaderSignatureNext carries the new secret's seed signature during a
	// rotation's overlap, while X-Webhook-Signature keeps the old one's.
	HeaderSignatureNext = "X-Webhook-Signature-Next"
	// Standard Webhooks (https://www.standardwebhooks.com), on hmac deliveries.
	HeaderSWID        = "webhook-id"
	HeaderSWTimestamp = "webhook-timestamp"
	HeaderSWSignature = "webhook-signature"

	ContentType = "application/json"
	UserAgent   = "SystemPrompt-Webhook/1.0"
)

// TimeLayout is the payload's and X-Webhook-Timestamp's format: ISO-8601 in
// UTC with milliseconds, as JavaScript's toISOString (the seed) writes it.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime formats t in TimeLayout (converted to UTC).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Payload is what a subscriber receives as the body. The same bytes are sent
// on every attempt of a delivery, so Timestamp is the event's time, not the
// attempt's.
type Payload struct {
	WebhookID string
	Event     string
	Timestamp time.Time
	Data      json.RawMessage
	Metadata  json.RawMessage
}

// wirePayload fixes the field order of the body.
type wirePayload struct {
	WebhookID string          `json:"webhook_id"`
	Event     string          `json:"event"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	Metadata  json.RawMessage `json:"metadata"`
}

var emptyObject = json.RawMessage(`{}`)

func orEmpty(m json.RawMessage) json.RawMessage {
	if t := bytes.TrimSpace(m); len(t) == 0 || string(t) == "null" {
		return emptyObject
	}
	return m
}

// Body returns the JSON body, compact and in the seed's field order:
// {"webhook_id":..,"event":..,"timestamp":"2024-01-01T12:00:00.000Z","data":{..},"metadata":{..}}.
// Empty or null data and metadata are sent as {}. HTML characters are not
// escaped, so data is sent as written (only compacted).
func (p Payload) Body() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(128 + len(p.Data) + len(p.Metadata))
	err := jsonx.NewEncoder(&buf).Encode(wirePayload{
		WebhookID: p.WebhookID,
		Event:     p.Event,
		Timestamp: FormatTime(p.Timestamp),
		Data:      orEmpty(p.Data),
		Metadata:  orEmpty(p.Metadata),
	})
	if err != nil {
		return nil, fmt.Errorf("encode payload of webhook %s: %w", p.WebhookID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// Meta identifies one attempt of one delivery.
type Meta struct {
	DeliveryID string    // stable across retries, so receivers can de-duplicate
	Event      string    // the event name, for X-Webhook-Event
	Attempt    int       // 1-based
	Time       time.Time // when this attempt starts: X-Webhook-Timestamp, webhook-timestamp
}

// configError is a webhook whose configuration cannot produce a request.
// It is permanent (see retry.Classify): only an update can fix it.
type configError struct{ err error }

func (e *configError) Error() string   { return e.err.Error() }
func (e *configError) Unwrap() error   { return e.err }
func (e *configError) Permanent() bool { return true }

func configErrorf(format string, args ...any) error {
	return &configError{fmt.Errorf(format, args...)}
}

// NewRequest builds the HTTP request of attempt m of a delivery to w, with
// body as built by Payload.Body. w.Credentials must hold the opened
// (plaintext) credentials.
//
// Headers: Content-Type, User-Agent, X-Webhook-Event, X-Webhook-Id (the
// webhook), X-Webhook-Timestamp (this attempt, TimeLayout), X-Webhook-Delivery,
// X-Webhook-Attempt; then w's custom headers (validation keeps them off the
// reserved names; should one slip through, the sender's value wins); then
// auth:
//
//	basic    Authorization: Basic base64(username:password)
//	bearer   Authorization: Bearer <token>
//	api-key  <header_name, default X-API-Key>: <api_key>
//	hmac     X-Webhook-Signature: sha256=<hex HMAC of the body>, and the
//	         Standard Webhooks webhook-id (delivery id), webhook-timestamp
//	         (unix seconds of this attempt), webhook-signature (v1,<base64>)
//	oauth2   none here: the Attempter adds Authorization: Bearer <token>
//	         with a token from the token endpoint (oauth.go)
//
// During a rotation's overlap (w.Previous valid at m.Time, opened) an hmac
// delivery is signed with both secrets: webhook-signature carries the new
// secret's v1 signature and then the previous one's; X-Webhook-Signature
// keeps the previous secret's, so a seed-style receiver that still holds it
// goes on verifying, and X-Webhook-Signature-Next carries the new secret's.
// After the overlap X-Webhook-Signature carries the new secret's and
// X-Webhook-Signature-Next is absent.
//
// Only hmac deliveries carry the webhook-* headers (README.md, "What a
// subscriber receives"): they belong to a signature, and only hmac
// deliveries are signed; webhook-id/webhook-timestamp without one would make
// off-the-shelf verifiers report a bad signature rather than "not signed".
// Unsigned deliveries still carry the delivery id in X-Webhook-Delivery for
// de-duplication.
//
// Errors are about w's configuration (bad URL, missing credential, header
// with CR/LF) and are permanent: retry.Classify reports them as Permanent.
func NewRequest(ctx context.Context, w *webhook.Webhook, m Meta, body []byte) (*http.Request, error) {
	if w == nil {
		return nil, configErrorf("no webhook")
	}
	method := strings.ToUpper(w.Method)
	if method == "" {
		method = webhook.DefaultMethod
	}
	req, err := http.NewRequestWithContext(ctx, method, w.URL, bytes.NewReader(body))
	if err != nil {
		return nil, configErrorf("webhook %s: %w", w.ID, err)
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return nil, configErrorf("webhook %s: url scheme %q is not http or https", w.ID, s)
	}
	if req.URL.Host == "" {
		return nil, configErrorf("webhook %s: url has no host", w.ID)
	}

	// Sized up front: the fixed headers, auth, and the custom ones.
	h := make(http.Header, 12+len(w.Headers))
	req.Header = h
	for name, value := range w.Headers {
		if !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
			return nil, configErrorf("webhook %s: custom header %q is not a valid HTTP header", w.ID, name)
		}
		h.Set(name, value)
	}
	h.Set(HeaderContentType, ContentType)
	h.Set(HeaderUserAgent, UserAgent)
	h.Set(HeaderEvent, m.Event)
	h.Set(HeaderWebhookID, w.ID)
	h.Set(HeaderTimestamp, FormatTime(m.Time))
	h.Set(HeaderDelivery, m.DeliveryID)
	h.Set(HeaderAttempt, strconv.Itoa(m.Attempt))
	if err := setAuth(req, w, m, body); err != nil {
		return nil, err
	}
	for name, values := range h {
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, configErrorf("webhook %s: header %s has an invalid value (CR, LF or NUL)", w.ID, name)
			}
		}
	}
	return req, nil
}

func setAuth(req *http.Request, w *webhook.Webhook, m Meta, body []byte) error {
	cred := func(key string) (string, error) {
		v := w.Credentials[key]
		if v == "" {
			return "", configErrorf("webhook %s: auth_type %s needs credential %s", w.ID, w.AuthType, key)
		}
		return v, nil
	}
	switch w.AuthType {
	case webhook.AuthNone, "", webhook.AuthOAuth2: // oauth2: see oauth.go
		return nil
	case webhook.AuthBasic:
		user, err := cred("username")
		if err != nil {
			return err
		}
		req.SetBasicAuth(user, w.Credentials["password"])
	case webhook.AuthBearer:
		token, err := cred("token")
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	case webhook.AuthAPIKey:
		key, err := cred("api_key")
		if err != nil {
			return err
		}
		name := w.Credentials["header_name"]
		if name == "" {
			name = webhook.DefaultAPIKeyHeader
		}
		if !httpguts.ValidHeaderFieldName(name) {
			return configErrorf("webhook %s: header_name %q is not a valid HTTP header name", w.ID, name)
		}
		req.Header.Set(name, key)
	case webhook.AuthHMAC:
		secret, err := cred("secret")
		if err != nil {
			return err
		}
		return signHMAC(req.Header, w, secret, m, body)
	default:
		return configErrorf("webhook %s: auth_type %q is not supported", w.ID, w.AuthType)
	}
	return nil
}

// signHMAC sets the signature headers of an hmac delivery: with the current
// secret, and during a rotation's overlap with the previous one too (see
// NewRequest). The overlap is judged at the attempt's time, so an expired
// previous secret is simply not used.
func signHMAC(h http.Header, w *webhook.Webhook, secret string, m Meta, body []byte) error {
	key, err := signing.Key(secret)
	if err != nil {
		return configErrorf("webhook %s: %w", w.ID, err)
	}
	if m.DeliveryID == "" {
		return errors.New("delivery: a signed request needs a delivery id")
	}
	keys := [][]byte{key}
	seed := signing.Seed(key, body)
	if prev := w.PreviousAt(m.Time); prev != nil {
		if prev.Secret == "" {
			return fmt.Errorf("delivery: webhook %s: previous secret not opened", w.ID)
		}
		old, err := signing.Key(prev.Secret)
		if err != nil {
			return configErrorf("webhook %s: previous secret: %w", w.ID, err)
		}
		keys = append(keys, old)
		h.Set(HeaderSignatureNext, seed)
		seed = signing.Seed(old, body)
	}
	h.Set(HeaderSignature, seed)
	h.Set(HeaderSWID, m.DeliveryID)
	h.Set(HeaderSWTimestamp, strconv.FormatInt(m.Time.Unix(), 10))
	h.Set(HeaderSWSignature, signing.StandardWebhooksAll(keys, m.DeliveryID, m.Time, body))
	return nil
}
