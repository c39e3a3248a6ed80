package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Drain message discriminator and version: "carry webhook WebhookID's held
// deliveries on" (probe an open circuit, or release a page of them). It
// travels on the delivery queue, beside jobs; Token names the drain that
// sent it, so a message of a drain taken over stops.
const (
	DrainKind    = "drain"
	DrainVersion = 1
)

// DrainMessage asks the delivery function to carry a webhook's held
// deliveries on. Where the drain is lives in the store (the drain item).
type DrainMessage struct {
	WebhookID string
	Token     string
}

type drainWire struct {
	Kind      string `json:"kind"`
	V         int    `json:"v"`
	WebhookID string `json:"webhook_id"`
	Token     string `json:"token"`
}

// MaxDrainToken bounds a drain token.
const MaxDrainToken = 64

func (m DrainMessage) validate() error {
	switch {
	case !webhook.ValidID(webhook.WebhookIDPrefix, m.WebhookID):
		return fmt.Errorf("webhook_id %q is not a webhook id", m.WebhookID)
	case m.Token == "" || len(m.Token) > MaxDrainToken:
		return fmt.Errorf("token must be 1 to %d characters", MaxDrainToken)
	}
	return nil
}

// Encode returns the message body.
func (m DrainMessage) Encode() (string, error) {
	if err := m.validate(); err != nil {
		return "", fmt.Errorf("queue: drain message: %w", err)
	}
	b, err := marshal(drainWire{Kind: DrainKind, V: DrainVersion, WebhookID: m.WebhookID, Token: m.Token})
	if err != nil {
		return "", fmt.Errorf("queue: drain message: %w", err)
	}
	return string(b), nil
}

// DecodeDrain reads a drain message. Every error wraps ErrMalformed.
func DecodeDrain(body string) (DrainMessage, error) {
	var w drainWire
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return DrainMessage{}, malformed("drain: %v", err)
	}
	if dec.More() {
		return DrainMessage{}, malformed("drain: data after the JSON object")
	}
	if w.Kind != DrainKind {
		return DrainMessage{}, malformed("drain: kind is %q, not %q", w.Kind, DrainKind)
	}
	if w.V != DrainVersion {
		return DrainMessage{}, malformed("drain: version %d is not supported (this build reads version %d)", w.V, DrainVersion)
	}
	m := DrainMessage{WebhookID: w.WebhookID, Token: w.Token}
	if err := m.validate(); err != nil {
		return DrainMessage{}, malformed("drain: %v", err)
	}
	return m, nil
}

// IsDrain reports whether body is a drain message.
func IsDrain(body string) bool {
	var k struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal([]byte(body), &k) == nil && k.Kind == DrainKind
}

// SendDrain sends a drain message that arrives after delay (whole seconds,
// at most MaxDelay).
func (q *Queue) SendDrain(ctx context.Context, m DrainMessage, delay time.Duration) error {
	body, err := m.Encode()
	if err != nil {
		return err
	}
	secs := int32(min(max(Wait(delay), 0), MaxDelay) / time.Second)
	_, err = q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(body), DelaySeconds: secs})
	if err != nil {
		return fmt.Errorf("send drain message of %s to %s: %w", m.WebhookID, q.url, err)
	}
	return nil
}
