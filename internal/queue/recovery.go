package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Recovery message discriminator and version: "carry bulk recovery
// RecoveryID on from its cursor". It travels on the delivery queue, beside
// jobs.
const (
	RecoveryKind    = "recovery"
	RecoveryVersion = 1
)

// RecoveryMessage asks the delivery function for the next pages of a
// recovery. It names no position: the recovery's cursor, in the store, is
// the one place that says how far it got.
type RecoveryMessage struct {
	WebhookID  string
	RecoveryID string
}

type recoveryWire struct {
	Kind       string `json:"kind"`
	V          int    `json:"v"`
	WebhookID  string `json:"webhook_id"`
	RecoveryID string `json:"recovery_id"`
}

// Encode returns the message body.
func (m RecoveryMessage) Encode() (string, error) {
	if err := m.validate(); err != nil {
		return "", fmt.Errorf("queue: recovery message: %w", err)
	}
	b, err := marshal(recoveryWire{Kind: RecoveryKind, V: RecoveryVersion, WebhookID: m.WebhookID, RecoveryID: m.RecoveryID})
	if err != nil {
		return "", fmt.Errorf("queue: recovery message: %w", err)
	}
	return string(b), nil
}

func (m RecoveryMessage) validate() error {
	switch {
	case !webhook.ValidID(webhook.WebhookIDPrefix, m.WebhookID):
		return fmt.Errorf("webhook_id %q is not a webhook id", m.WebhookID)
	case !webhook.ValidID(webhook.RecoveryIDPrefix, m.RecoveryID):
		return fmt.Errorf("recovery_id %q is not a recovery id", m.RecoveryID)
	}
	return nil
}

// DecodeRecovery reads a recovery message. Every error wraps ErrMalformed.
func DecodeRecovery(body string) (RecoveryMessage, error) {
	var w recoveryWire
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return RecoveryMessage{}, malformed("recovery: %v", err)
	}
	if dec.More() {
		return RecoveryMessage{}, malformed("recovery: data after the JSON object")
	}
	if w.Kind != RecoveryKind {
		return RecoveryMessage{}, malformed("recovery: kind is %q, not %q", w.Kind, RecoveryKind)
	}
	if w.V != RecoveryVersion {
		return RecoveryMessage{}, malformed("recovery: version %d is not supported (this build reads version %d)", w.V, RecoveryVersion)
	}
	m := RecoveryMessage{WebhookID: w.WebhookID, RecoveryID: w.RecoveryID}
	if err := m.validate(); err != nil {
		return RecoveryMessage{}, malformed("recovery: %v", err)
	}
	return m, nil
}

// IsRecovery reports whether body is a recovery message.
func IsRecovery(body string) bool {
	var k struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal([]byte(body), &k) == nil && k.Kind == RecoveryKind
}

// SendRecovery sends a recovery message.
func (q *Queue) SendRecovery(ctx context.Context, m RecoveryMessage) error {
	body, err := m.Encode()
	if err != nil {
		return err
	}
	return q.Send(ctx, body)
}

// RetryJob is the job that starts a new attempt series of a requeued
// delivery (store RequeueDelivery): the next attempt's number, the event the
// delivery kept. The manual retry and bulk recovery both send it.
func RetryJob(d *webhook.Delivery) Job {
	at := d.EventTime
	if at.IsZero() {
		at = d.CreatedAt
	}
	return Job{
		DeliveryID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, Event: d.Event,
		Attempt: len(d.Attempts) + 1, CreatedAt: d.CreatedAt, Timestamp: at,
		Data: d.Data, Metadata: d.Metadata, Test: d.Test,
	}
}
