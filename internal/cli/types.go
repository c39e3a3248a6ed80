package cli

import (
	"encoding/json"
	"time"
)

// The CLI decodes the API's JSON into its own types: it is a client of the
// HTTP contract (README.md's "HTTP API", api/openapi.yaml), not of the
// server's Go code.
// Fields it does not show are left out; --format json prints the body as is.

type webhookDTO struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	URL             string            `json:"url"`
	Method          string            `json:"method"`
	Headers         map[string]string `json:"headers"`
	Events          []string          `json:"events"`
	Status          string            `json:"status"`
	AuthType        string            `json:"auth_type"`
	AuthCredentials map[string]any    `json:"auth_credentials"`
	// PreviousSecretExpiresAt: during a secret rotation's overlap.
	PreviousSecretExpiresAt *time.Time      `json:"previous_secret_expires_at"`
	Retry                   retryDTO        `json:"retry"`
	TimeoutMS               int64           `json:"timeout_ms"`
	Filter                  json.RawMessage `json:"filter"`
	RateLimit               *rateLimitDTO   `json:"rate_limit"`
	Version                 int64           `json:"version"`
	CreatedAt               time.Time       `json:"created_at"`
	UpdatedAt               time.Time       `json:"updated_at"`
	StatusReason            *string         `json:"status_reason"`
	Hold                    bool            `json:"hold"`
	Health                  healthDTO       `json:"health"`
}

type retryDTO struct {
	Strategy       string `json:"strategy"`
	MaxAttempts    int    `json:"max_attempts"`
	InitialDelayMS int64  `json:"initial_delay_ms"`
	MaxDelayMS     int64  `json:"max_delay_ms"`
}

type attemptDTO struct {
	Attempt      int        `json:"attempt"`
	StartedAt    time.Time  `json:"started_at"`
	StatusCode   int        `json:"status_code"`
	DurationMS   int64      `json:"duration_ms"`
	Error        string     `json:"error"`
	ResponseBody string     `json:"response_body"`
	Timings      timingsDTO `json:"timings"`
}

type deliveryDTO struct {
	ID            string       `json:"id"`
	WebhookID     string       `json:"webhook_id"`
	EventID       string       `json:"event_id"`
	Event         string       `json:"event"`
	Status        string       `json:"status"`
	Test          bool         `json:"test"`
	Attempts      []attemptDTO `json:"attempts"`
	NextAttemptAt *time.Time   `json:"next_attempt_at"`
	CreatedAt     time.Time    `json:"created_at"`
	CompletedAt   *time.Time   `json:"completed_at"`
}

// testResultDTO is the answer of POST /webhooks/{id}/test.
type testResultDTO struct {
	Success         bool              `json:"success"`
	StatusCode      int               `json:"status_code"`
	DurationMS      int64             `json:"duration_ms"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	Error           string            `json:"error"`
	Delivery        deliveryDTO       `json:"delivery"`
}

type statsDTO struct {
	TotalDeliveries int64      `json:"total_deliveries"`
	Successful      int64      `json:"successful"`
	Failed          int64      `json:"failed"`
	SuccessRate     float64    `json:"success_rate"`
	AvgResponseMS   float64    `json:"avg_response_ms"`
	Held            int64      `json:"held"`
	LastDeliveryAt  *time.Time `json:"last_delivery_at"`
	LastSuccessAt   *time.Time `json:"last_success_at"`
	LastFailureAt   *time.Time `json:"last_failure_at"`
}

type eventTypeDTO struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type triggerDTO struct {
	EventID    string `json:"event_id"`
	Deliveries int    `json:"deliveries"`
}

type pageDTO[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// errorBody is the API's error JSON.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
	// Message is what API Gateway itself answers with (e.g. a 403 of IAM auth).
	Message string `json:"message"`
}
