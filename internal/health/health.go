// Package health is the circuit breaker's policy: pure decisions over a
// webhook's webhook.Health at a given time (the caller's clock). The store
// applies them atomically (internal/store, health.go); the delivery path
// asks before each attempt and reports after it (internal/delivery,
// circuit.go).
//
// The breaker: after OpenAfter consecutive failed attempts the circuit
// opens and no request is sent until NextProbeAt (Cooldown, doubling on each
// failed probe up to MaxCooldown). Then one job claims the probe
// (half-open); its success closes the circuit, its failure re-opens it. A
// claim lapses after the probe's lease, so a probe whose function died does
// not hold the circuit half-open forever.
package health

import (
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Defaults (CIRCUIT_OPEN_AFTER, CIRCUIT_COOLDOWN_MS, DISABLE_AFTER_HOURS).
const (
	DefaultOpenAfter    = 10
	DefaultCooldown     = time.Minute
	DefaultMaxCooldown  = time.Hour
	DefaultDisableAfter = 120 * time.Hour
)

// Policy is the breaker's configuration. OpenAfter 0 turns the breaker
// off, DisableAfter 0 the auto-disable.
type Policy struct {
	OpenAfter   int           // consecutive failures that open the circuit
	Cooldown    time.Duration // the first open period
	MaxCooldown time.Duration // the longest; DefaultMaxCooldown when zero
	// DisableAfter: an endpoint that has failed every attempt for this long
	// (and at least OpenAfter times) is disabled.
	DisableAfter time.Duration
}

// Off reports a policy that never opens a circuit.
func (p Policy) Off() bool { return p.OpenAfter <= 0 }

// Verdict is what to do with a job before its attempt.
type Verdict int

const (
	// Send: the circuit is closed; attempt as usual.
	Send Verdict = iota
	// Hold: do not send; the job waits until the decision's Until without
	// spending an attempt.
	Hold
	// Probe: the circuit may be probed now; claim the probe first, and send
	// only if the claim is won.
	Probe
)

func (v Verdict) String() string {
	switch v {
	case Send:
		return "send"
	case Hold:
		return "hold"
	case Probe:
		return "probe"
	}
	return "unknown"
}

// Decision is a Gate answer.
type Decision struct {
	Verdict Verdict
	Until   time.Time // Hold: when the job should come back
}

// Gate decides what a job for an endpoint of health h does at now.
func (p Policy) Gate(h webhook.Health, now time.Time) Decision {
	if p.Off() {
		return Decision{Verdict: Send}
	}
	switch h.State() {
	case webhook.CircuitOpen:
		if h.NextProbeAt != nil && now.Before(*h.NextProbeAt) {
			return Decision{Verdict: Hold, Until: *h.NextProbeAt}
		}
		return Decision{Verdict: Probe}
	case webhook.CircuitHalfOpen:
		if h.ProbeUntil != nil && now.Before(*h.ProbeUntil) {
			return Decision{Verdict: Hold, Until: *h.ProbeUntil}
		}
		return Decision{Verdict: Probe} // the probe's claim lapsed
	}
	return Decision{Verdict: Send}
}

// ShouldOpen reports whether a closed circuit with health h (after its
// latest failure was counted) opens.
func (p Policy) ShouldOpen(h webhook.Health) bool {
	return !p.Off() && h.State() == webhook.CircuitClosed && h.ConsecutiveFailures >= int64(p.OpenAfter)
}

// ShouldDisable reports whether an endpoint of health h (after its latest
// failure was counted) is to be disabled at now: failing every attempt for
// DisableAfter, and at least OpenAfter of them (one when the breaker is
// off), so a single failure after a long quiet spell does not count as days
// of failing.
func (p Policy) ShouldDisable(h webhook.Health, now time.Time) bool {
	if p.DisableAfter <= 0 || h.FailingSince == nil {
		return false
	}
	return h.ConsecutiveFailures >= int64(max(p.OpenAfter, 1)) && now.Sub(*h.FailingSince) >= p.DisableAfter
}

// DisabledHold is how long a job for a disabled endpoint waits before it
// looks again: the longest cooldown. A resume lets it through when it next
// arrives.
func (p Policy) DisabledHold() time.Duration { return p.maxCooldown() }

// FirstCooldown is the open period after the circuit first opens.
func (p Policy) FirstCooldown() time.Duration {
	if p.Cooldown <= 0 {
		return DefaultCooldown
	}
	return min(p.Cooldown, p.maxCooldown())
}

// NextCooldown is the open period after a failed probe: twice the last one
// (the first cooldown if none is known), at most MaxCooldown.
func (p Policy) NextCooldown(h webhook.Health) time.Duration {
	last := time.Duration(h.CooldownMS) * time.Millisecond
	if last <= 0 {
		return p.FirstCooldown()
	}
	return min(2*last, p.maxCooldown())
}

func (p Policy) maxCooldown() time.Duration {
	if p.MaxCooldown <= 0 {
		return DefaultMaxCooldown
	}
	return p.MaxCooldown
}

// ProbeLease is how long a claimed probe holds the circuit half-open: the
// attempt's timeout and a margin for recording it. After it, another job
// may probe.
func ProbeLease(timeout time.Duration) time.Duration { return timeout + 5*time.Second }
