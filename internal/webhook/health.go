package webhook

import "time"

// Circuit is the state of a webhook's circuit breaker.
type Circuit string

const (
	// CircuitClosed: requests are sent.
	CircuitClosed Circuit = "closed"
	// CircuitOpen: no request is sent until NextProbeAt.
	CircuitOpen Circuit = "open"
	// CircuitHalfOpen: one job is probing the endpoint; the others wait.
	CircuitHalfOpen Circuit = "half_open"
)

// Health is a webhook's endpoint health: O(1) state kept with the attempt
// writes (never computed from the history). The zero value is a healthy
// endpoint that has not failed.
type Health struct {
	Circuit             Circuit // "" reads as closed
	ConsecutiveFailures int64
	FailingSince        *time.Time // first failure of the current run of failures
	LastSuccessAt       *time.Time
	OpenedAt            *time.Time // when the circuit opened (kept while half-open)
	NextProbeAt         *time.Time // open: when one job may probe

	// Internal to the breaker, not shown.
	CooldownMS int64      // the current open period; doubles per failed probe
	ProbeUntil *time.Time // half-open: the probe's claim lapses then
	ProbeBy    string     // half-open: the job that claimed the probe
}

// State is h's circuit, closed when unset.
func (h Health) State() Circuit {
	if h.Circuit == "" {
		return CircuitClosed
	}
	return h.Circuit
}

// Clean reports an endpoint with a closed circuit and no failure since its
// last success: a success then changes nothing worth a write.
func (h Health) Clean() bool {
	return h.State() == CircuitClosed && h.ConsecutiveFailures == 0
}

// StatusReason says why a webhook is inactive.
type StatusReason string

const (
	ReasonNone         StatusReason = ""
	ReasonPaused       StatusReason = "paused"        // pause, or a PATCH of status
	ReasonGone         StatusReason = "gone"          // the endpoint answered 410 Gone
	ReasonAutoDisabled StatusReason = "auto_disabled" // failing for DISABLE_AFTER_HOURS
)

// Reason is why w is inactive: its recorded reason, "paused" for an inactive
// webhook that has none (made before reasons were recorded), and none for an
// active one.
func (w *Webhook) Reason() StatusReason {
	if w.Status != StatusInactive {
		return ReasonNone
	}
	if w.StatusReason == ReasonNone {
		return ReasonPaused
	}
	return w.StatusReason
}
