package store

import (
	"encoding/json"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Item keys of the webhooks table (docs/internals.md).
const (
	webhookPKPrefix = "wh#"
	subPKPrefix     = "sub#"
	skConfig        = "config"
	skStats         = "stats"
	kindWebhook     = "webhook"
)

func webhookPK(id string) string { return webhookPKPrefix + id }
func subPK(event string) string  { return subPKPrefix + event }

// webhookItem is a webhook's config item. The domain type carries no storage
// tags; this is its DynamoDB shape. Plaintext credentials have no field here,
// so they cannot be written by mistake.
type webhookItem struct {
	PK   string `dynamo:"pk,hash"`
	SK   string `dynamo:"sk,range"`
	Kind string `dynamo:"kind"` // by_kind GSI hash key
	ID   string `dynamo:"id"`   // range key of both GSIs

	Name              string            `dynamo:"name"`
	URL               string            `dynamo:"url"`
	Method            string            `dynamo:"method"`
	Headers           map[string]string `dynamo:"headers,allowemptyelem"`
	Events            []string          `dynamo:"events"`
	Status            string            `dynamo:"wh_status"` // by_status GSI hash key
	AuthType          string            `dynamo:"auth_type"`
	SealedCredentials []byte            `dynamo:"sealed_credentials"`
	MaskedCredentials map[string]string `dynamo:"masked_credentials,allowemptyelem"`
	// A rotation's previous secret (absent when there is none).
	SealedPreviousSecret    []byte     `dynamo:"sealed_previous_secret,omitempty"`
	PreviousSecretExpiresAt *time.Time `dynamo:"previous_secret_expires_at,omitempty"`
	Retry                   retryItem  `dynamo:"retry"`
	TimeoutMS               int64      `dynamo:"timeout_ms"`
	Filter                  string     `dynamo:"filter"`                          // canonical JSON; absent for none
	RatePerSecond           int        `dynamo:"rate_limit_per_second,omitempty"` // absent: no rate limit
	Version                 int64      `dynamo:"version"`
	CreatedAt               time.Time  `dynamo:"created_at"`
	UpdatedAt               time.Time  `dynamo:"updated_at"`
	StatusReason            string     `dynamo:"status_reason,omitempty"` // only while inactive
	Hold                    bool       `dynamo:"hold,omitempty"`          // only while paused (webhook.HoldsDeliveries)
}

type retryItem struct {
	Strategy       string `dynamo:"strategy"`
	MaxAttempts    int    `dynamo:"max_attempts"`
	InitialDelayMS int64  `dynamo:"initial_delay_ms"`
	MaxDelayMS     int64  `dynamo:"max_delay_ms"`
}

func toWebhookItem(w *webhook.Webhook, version int64) webhookItem {
	it := webhookItem{
		PK:                webhookPK(w.ID),
		SK:                skConfig,
		Kind:              kindWebhook,
		ID:                w.ID,
		Name:              w.Name,
		URL:               w.URL,
		Method:            w.Method,
		Headers:           w.Headers,
		Events:            uniqueEvents(w.Events),
		Status:            string(w.Status),
		AuthType:          string(w.AuthType),
		SealedCredentials: w.SealedCredentials,
		MaskedCredentials: w.MaskedCredentials,
		Retry: retryItem{
			Strategy:       string(w.Retry.Strategy),
			MaxAttempts:    w.Retry.MaxAttempts,
			InitialDelayMS: w.Retry.InitialDelayMS,
			MaxDelayMS:     w.Retry.MaxDelayMS,
		},
		TimeoutMS:    w.TimeoutMS,
		Filter:       string(w.Filter),
		Version:      version,
		CreatedAt:    w.CreatedAt.UTC(),
		UpdatedAt:    w.UpdatedAt.UTC(),
		StatusReason: string(inactiveReason(w)),
		Hold:         w.HoldsDeliveries(),
	}
	if w.RateLimit != nil {
		it.RatePerSecond = w.RateLimit.PerSecond
	}
	if p := w.Previous; p != nil && len(p.Sealed) > 0 {
		at := p.ExpiresAt.UTC()
		it.SealedPreviousSecret, it.PreviousSecretExpiresAt = p.Sealed, &at
	}
	return it
}

func (it *webhookItem) webhook() *webhook.Webhook {
	w := &webhook.Webhook{
		ID:                it.ID,
		Name:              it.Name,
		URL:               it.URL,
		Method:            it.Method,
		Headers:           it.Headers,
		Events:            it.Events,
		Status:            webhook.Status(it.Status),
		AuthType:          webhook.AuthType(it.AuthType),
		SealedCredentials: it.SealedCredentials,
		MaskedCredentials: it.MaskedCredentials,
		Retry: webhook.RetryPolicy{
			Strategy:       webhook.Strategy(it.Retry.Strategy),
			MaxAttempts:    it.Retry.MaxAttempts,
			InitialDelayMS: it.Retry.InitialDelayMS,
			MaxDelayMS:     it.Retry.MaxDelayMS,
		},
		TimeoutMS:    it.TimeoutMS,
		Filter:       rawOrNil(it.Filter),
		Version:      it.Version,
		CreatedAt:    it.CreatedAt,
		UpdatedAt:    it.UpdatedAt,
		StatusReason: webhook.StatusReason(it.StatusReason),
		Hold:         it.Hold,
	}
	if it.RatePerSecond > 0 {
		w.RateLimit = &webhook.RateLimit{PerSecond: it.RatePerSecond}
	}
	if len(it.SealedPreviousSecret) > 0 && it.PreviousSecretExpiresAt != nil {
		w.Previous = &webhook.PreviousSecret{Sealed: it.SealedPreviousSecret, ExpiresAt: *it.PreviousSecretExpiresAt}
	}
	return w
}

// subItem is one entry of the subscription index: webhook SK subscribes to
// event PK. It carries its webhook's status as "status" (not "wh_status") so
// it stays out of the by_status GSI, and its payload filter, so that a
// trigger's one query finds both (written with the config, in its
// transaction).
type subItem struct {
	PK     string `dynamo:"pk,hash"`
	SK     string `dynamo:"sk,range"`
	Status string `dynamo:"status"`
	Filter string `dynamo:"filter"` // canonical JSON; absent for none
	// Hold: paused with hold, so the trigger still finds it and its
	// deliveries are held (held.go).
	Hold bool `dynamo:"hold,omitempty"`
}

// statsItem holds a webhook's counters. Writers update it with ADD (and SET
// for the timestamps), so it exists only after the first recorded attempt.
type statsItem struct {
	PK              string     `dynamo:"pk,hash"`
	SK              string     `dynamo:"sk,range"`
	TotalDeliveries int64      `dynamo:"total_deliveries"`
	Successful      int64      `dynamo:"successful"`
	Failed          int64      `dynamo:"failed"`
	Attempts        int64      `dynamo:"attempts"`
	TotalResponseMS int64      `dynamo:"total_response_ms"`
	Held            int64      `dynamo:"held"`
	LastDeliveryAt  *time.Time `dynamo:"last_delivery_at"`
	LastSuccessAt   *time.Time `dynamo:"last_success_at"`
	LastFailureAt   *time.Time `dynamo:"last_failure_at"`
}

func (it *statsItem) stats() webhook.Stats {
	return webhook.Stats{
		TotalDeliveries: it.TotalDeliveries,
		Successful:      it.Successful,
		Failed:          it.Failed,
		Attempts:        it.Attempts,
		TotalResponseMS: it.TotalResponseMS,
		Held:            max(it.Held, 0),
		LastDeliveryAt:  it.LastDeliveryAt,
		LastSuccessAt:   it.LastSuccessAt,
		LastFailureAt:   it.LastFailureAt,
	}
}

// uniqueEvents drops repeated events, keeping the first occurrence's order: a
// transaction may not touch the same subscription item twice.
func uniqueEvents(events []string) []string {
	out := make([]string, 0, len(events))
	seen := make(map[string]bool, len(events))
	for _, e := range events {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// rawOrNil is a stored filter as the domain holds it: nil for none.
func rawOrNil(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// inactiveReason is the reason stored with w: none while it is active.
func inactiveReason(w *webhook.Webhook) webhook.StatusReason {
	if w.Status != webhook.StatusInactive {
		return webhook.ReasonNone
	}
	return w.StatusReason
}
