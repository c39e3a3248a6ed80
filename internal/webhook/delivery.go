package webhook

import (
	"encoding/json"
	"time"
)

// DeliveryStatus is where a delivery stands. Succeeded and failed are final.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryRetrying  DeliveryStatus = "retrying"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Final reports whether s is a terminal status.
func (s DeliveryStatus) Final() bool {
	return s == DeliverySucceeded || s == DeliveryFailed
}

// MaxResponseExcerpt bounds the response body kept per attempt.
const MaxResponseExcerpt = 1024

// Attempt is one HTTP request made for a delivery.
type Attempt struct {
	Attempt      int       `json:"attempt"`
	StartedAt    time.Time `json:"started_at"`
	StatusCode   int       `json:"status_code,omitempty"`
	DurationMS   int64     `json:"duration_ms"`
	Error        string    `json:"error,omitempty"`
	ResponseBody string    `json:"response_body,omitempty"`
	Timings      Timings   `json:"timings"`
}

// Delivery is one event sent to one webhook, over one or more attempts. Its id
// is fixed when the event is triggered and stays the same across retries.
type Delivery struct {
	ID            string
	WebhookID     string
	EventID       string
	Event         string
	Status        DeliveryStatus
	Test          bool
	Attempts      []Attempt
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	CompletedAt   *time.Time
	// SeriesStart is the number of the first attempt of the current series:
	// 1, or the next attempt's number after a manual retry. The retry policy
	// counts attempts from it.
	SeriesStart int
	// EventTime, Data and Metadata are the event, kept only while the
	// delivery is failed, so a manual retry can send it again; successful
	// deliveries keep none (DynamoDB bills writes per KB).
	EventTime time.Time
	Data      json.RawMessage
	Metadata  json.RawMessage
	// RecoveredBy is the bulk recovery that last re-queued the delivery
	// (its id), so that recovery re-queues it at most once.
	RecoveredBy string
	// Uncounted: the current series follows a hold of a delivery that had
	// not ended (hold.go), so its end counts as a first one in the
	// statistics although SeriesStart > 1. Cleared when it ends.
	Uncounted bool
}

// IdempotencyRecord remembers a trigger by its Idempotency-Key, so a repeat
// returns the first answer and creates nothing.
type IdempotencyRecord struct {
	Key         string
	Fingerprint string // hash of the request; a different request with the same key is a conflict
	EventID     string
	EventTime   time.Time
	Done        bool // the trigger finished and Deliveries is its answer
	Deliveries  int
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// StatsDelta is what some attempts add to a webhook's counters.
type StatsDelta struct {
	Succeeded       int64 // deliveries that ended succeeded
	Failed          int64 // deliveries that ended failed
	Attempts        int64
	TotalResponseMS int64
	LastDeliveryAt  time.Time // zero: unchanged
	LastSuccessAt   time.Time
	LastFailureAt   time.Time
	// Hour is what the attempts add to their hour's bucket (buckets.go).
	Hour HourStats
}

// Add folds o into d. Attempts of two hours (a batch across the hour) count
// in the later one: a delta updates one bucket.
func (d *StatsDelta) Add(o StatsDelta) {
	if o.Hour.Start.After(d.Hour.Start) {
		d.Hour.Start = o.Hour.Start
	}
	d.Hour.Add(&o.Hour)
	d.Succeeded += o.Succeeded
	d.Failed += o.Failed
	d.Attempts += o.Attempts
	d.TotalResponseMS += o.TotalResponseMS
	d.LastDeliveryAt = later(d.LastDeliveryAt, o.LastDeliveryAt)
	d.LastSuccessAt = later(d.LastSuccessAt, o.LastSuccessAt)
	d.LastFailureAt = later(d.LastFailureAt, o.LastFailureAt)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// DeliveryFilter selects a webhook's deliveries for listing, newest first.
type DeliveryFilter struct {
	Status DeliveryStatus // "" for any
	Limit  int
	Cursor string
}

// Stats are a webhook's delivery counters. They count deliveries that reached
// a final status (successful + failed = total) and the response time of every
// attempt.
type Stats struct {
	TotalDeliveries int64
	Successful      int64
	Failed          int64
	Attempts        int64
	TotalResponseMS int64
	// Held is how many deliveries are held now (status held): a gauge,
	// not among the final counts.
	Held           int64
	LastDeliveryAt *time.Time
	LastSuccessAt  *time.Time
	LastFailureAt  *time.Time
	// Hours are hourly buckets, oldest first: the current hour's alone
	// from a plain stats read, a window's with the finished hours.
	Hours []HourStats
}

// SuccessRate is the share of final deliveries that succeeded, in [0,1].
func (s Stats) SuccessRate() float64 {
	if s.TotalDeliveries == 0 {
		return 0
	}
	return float64(s.Successful) / float64(s.TotalDeliveries)
}

// AvgResponseMS is the mean response time over all attempts.
func (s Stats) AvgResponseMS() float64 {
	if s.Attempts == 0 {
		return 0
	}
	return float64(s.TotalResponseMS) / float64(s.Attempts)
}

// Timings split an attempt's time, in milliseconds to 0.1 ms; nil when the
// phase did not happen (a reused connection has no DNS, connect or TLS; an
// IP address no DNS; http no TLS; no response no first byte).
type Timings struct {
	DNSMS       *float64 `json:"dns_ms"`        // the DNS lookup
	ConnectMS   *float64 `json:"connect_ms"`    // the TCP connect
	TLSMS       *float64 `json:"tls_ms"`        // the TLS handshake
	FirstByteMS *float64 `json:"first_byte_ms"` // from the request sent to the first response byte
}
