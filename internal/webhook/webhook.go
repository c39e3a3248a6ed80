// Package webhook holds the domain of the service: webhooks, deliveries,
// their statistics, the event catalogue, validation and the coded error type.
// It has no dependencies on AWS; storage, queues and HTTP live elsewhere.
package webhook

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Status of a webhook. Only active webhooks receive events.
type Status string

const (
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
)

// AuthType says how a request to the endpoint is authenticated.
type AuthType string

const (
	AuthNone   AuthType = "none"
	AuthBasic  AuthType = "basic"
	AuthBearer AuthType = "bearer"
	AuthAPIKey AuthType = "api-key"
	AuthHMAC   AuthType = "hmac"
	// AuthOAuth2 sends a bearer token from an OAuth 2.0 token endpoint
	// (client credentials grant). Its credentials are checked by
	// internal/oauth2, not here: see Webhook.Validate.
	AuthOAuth2 AuthType = "oauth2"
)

// Strategy is the shape of the delay between attempts.
type Strategy string

const (
	StrategyExponential Strategy = "exponential"
	StrategyLinear      Strategy = "linear"
	StrategyFixed       Strategy = "fixed"
)

// RetryPolicy is a webhook's retry configuration.
type RetryPolicy struct {
	Strategy       Strategy `json:"strategy"`
	MaxAttempts    int      `json:"max_attempts"`
	InitialDelayMS int64    `json:"initial_delay_ms"`
	MaxDelayMS     int64    `json:"max_delay_ms"`
}

// Seed defaults (module.yaml and the README's retry section).
const (
	DefaultTimeoutMS      = 30000
	DefaultMethod         = "POST"
	DefaultAPIKeyHeader   = "X-API-Key"
	DefaultMaxAttempts    = 3
	DefaultInitialDelayMS = 1000
	DefaultMaxDelayMS     = 60000
)

// DefaultRetryPolicy returns the seed's retry defaults.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		Strategy:       StrategyExponential,
		MaxAttempts:    DefaultMaxAttempts,
		InitialDelayMS: DefaultInitialDelayMS,
		MaxDelayMS:     DefaultMaxDelayMS,
	}
}

// Limits on what a user may configure. They keep items small (DynamoDB bills
// per KB) and bound the work one delivery can cause.
const (
	MaxNameLen         = 256
	MaxURLLen          = 2048
	MaxHeaders         = 32
	MaxHeaderNameLen   = 256
	MaxHeaderValueLen  = 4096
	MaxCredentialBytes = 4096 // KMS Encrypt takes at most 4 KiB of plaintext
	MinTimeoutMS       = 1000
	MaxTimeoutMS       = 120000 // the delivery function's 160 s timeout must hold a batch's longest attempt (template.yaml)
	MaxAttemptsLimit   = 20
	MinDelayMS         = 0
	MaxDelayLimitMS    = 7 * 24 * 3600 * 1000 // a week; longer waits chain over SQS
	MaxBodyBytes       = 256 << 10            // request bodies of the API
	MaxBatchBodyBytes  = 1 << 20              // POST /events/batch (up to 100 events; Lambda takes 6 MB)
)

// Webhook is a subscriber endpoint and the events it wants.
//
// Credentials holds plaintext credentials only in memory, on their way in
// (create, update) or after they were opened for a delivery; it is never
// stored or returned. What is stored is SealedCredentials (encrypted) and
// MaskedCredentials (what reads show).
type Webhook struct {
	ID                string
	Name              string
	URL               string
	Method            string
	Headers           map[string]string
	Events            []string
	Status            Status
	AuthType          AuthType
	Credentials       map[string]string
	SealedCredentials []byte
	MaskedCredentials map[string]string
	Previous          *PreviousSecret // hmac: the secret a rotation replaced, during the overlap (rotation.go)
	Retry             RetryPolicy
	TimeoutMS         int64
	Filter            json.RawMessage // payload filter, canonical (internal/filter); nil: every event matches
	RateLimit         *RateLimit      // requests per second to the endpoint (ratelimit.go); nil: unlimited
	Version           int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// StatusReason says why an inactive webhook is (see Reason); set by the
	// use cases, never by a client.
	StatusReason StatusReason
	// Hold: a paused webhook's events still make deliveries, held until it
	// is resumed (hold.go); only while inactive with reason paused.
	Hold bool
	// Health is read-only endpoint state, kept beside the statistics; set
	// only by the reads that show it (not stored with the config).
	Health Health
}

// Subscribes reports whether w wants event. The custom event is delivered only
// to webhooks that list it.
func (w *Webhook) Subscribes(event string) bool {
	for _, e := range w.Events {
		if e == event {
			return true
		}
	}
	return false
}

// ID prefixes. Ids are UUIDv7 in hex, so they sort by creation time.
const (
	WebhookIDPrefix  = "wh_"
	DeliveryIDPrefix = "dlv_"
	EventIDPrefix    = "evt_"
)

// NewID returns a new time-ordered id with the given prefix.
func NewID(prefix string) string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only if the system's random source does; fall back to
		// a v4, which is still unique, only not time-ordered.
		id = uuid.New()
	}
	return prefix + strings.ReplaceAll(id.String(), "-", "")
}

// ValidID reports whether id looks like an id with the given prefix. It keeps
// garbage out of storage keys; it does not say the id exists.
func ValidID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != 32 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Page sizes of a listing (webhooks and deliveries alike).
const (
	DefaultListLimit = 50
	MaxListLimit     = 100
)

// CheckListLimit returns n if it is a page size a listing takes, 1 to
// MaxListLimit, and EInvalid "limit" otherwise. The API's query parsing and
// the store both hold a Limit to it.
func CheckListLimit(n int) (int, error) {
	if n < 1 || n > MaxListLimit {
		return 0, Invalid("limit", "limit must be a whole number from 1 to %d", MaxListLimit)
	}
	return n, nil
}

// ListFilter selects webhooks for listing.
type ListFilter struct {
	Status Status // "" for any
	Event  string // "" for any
	Limit  int
	Cursor string // opaque; from a previous page's NextCursor
}

// Page is one page of a paginated listing.
type Page[T any] struct {
	Items      []T
	NextCursor string // "" on the last page
}
