package webhook

import "time"

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
	LastDeliveryAt  *time.Time
	LastSuccessAt   *time.Time
	LastFailureAt   *time.Time
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
