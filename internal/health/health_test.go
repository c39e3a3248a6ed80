package health

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func TestGate(t *testing.T) {
	p := Policy{OpenAfter: 3, Cooldown: time.Minute}
	for _, tc := range []struct {
		name   string
		policy Policy
		h      webhook.Health
		now    time.Time
		want   Decision
	}{
		{"fresh endpoint", p, webhook.Health{}, t0, Decision{Verdict: Send}},
		{"closed with failures", p, webhook.Health{ConsecutiveFailures: 2}, t0, Decision{Verdict: Send}},
		{"closed spelled out", p, webhook.Health{Circuit: webhook.CircuitClosed, ConsecutiveFailures: 9}, t0, Decision{Verdict: Send}},
		{"open before the probe", p, webhook.Health{Circuit: webhook.CircuitOpen, NextProbeAt: at(time.Minute)}, t0, Decision{Verdict: Hold, Until: t0.Add(time.Minute)}},
		{"open a millisecond before", p, webhook.Health{Circuit: webhook.CircuitOpen, NextProbeAt: at(time.Minute)}, t0.Add(time.Minute - time.Millisecond), Decision{Verdict: Hold, Until: t0.Add(time.Minute)}},
		{"open at the probe", p, webhook.Health{Circuit: webhook.CircuitOpen, NextProbeAt: at(time.Minute)}, t0.Add(time.Minute), Decision{Verdict: Probe}},
		{"open after the probe", p, webhook.Health{Circuit: webhook.CircuitOpen, NextProbeAt: at(time.Minute)}, t0.Add(time.Hour), Decision{Verdict: Probe}},
		{"open without a probe time", p, webhook.Health{Circuit: webhook.CircuitOpen}, t0, Decision{Verdict: Probe}},
		{"half-open, probe under way", p, webhook.Health{Circuit: webhook.CircuitHalfOpen, ProbeUntil: at(35 * time.Second)}, t0, Decision{Verdict: Hold, Until: t0.Add(35 * time.Second)}},
		{"half-open, claim lapsed", p, webhook.Health{Circuit: webhook.CircuitHalfOpen, ProbeUntil: at(35 * time.Second)}, t0.Add(35 * time.Second), Decision{Verdict: Probe}},
		{"off sends whatever the state", Policy{}, webhook.Health{Circuit: webhook.CircuitOpen, NextProbeAt: at(time.Hour)}, t0, Decision{Verdict: Send}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.policy.Gate(tc.h, tc.now))
		})
	}
}

func TestShouldOpen(t *testing.T) {
	p := Policy{OpenAfter: 3}
	for _, tc := range []struct {
		name   string
		policy Policy
		h      webhook.Health
		want   bool
	}{
		{"below", p, webhook.Health{ConsecutiveFailures: 2}, false},
		{"exactly", p, webhook.Health{ConsecutiveFailures: 3}, true},
		{"above (a lost race)", p, webhook.Health{ConsecutiveFailures: 4}, true},
		{"already open", p, webhook.Health{Circuit: webhook.CircuitOpen, ConsecutiveFailures: 5}, false},
		{"half-open", p, webhook.Health{Circuit: webhook.CircuitHalfOpen, ConsecutiveFailures: 5}, false},
		{"off", Policy{}, webhook.Health{ConsecutiveFailures: 1000}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.policy.ShouldOpen(tc.h))
		})
	}
}

func TestCooldowns(t *testing.T) {
	p := Policy{OpenAfter: 10, Cooldown: time.Minute}
	assert.Equal(t, time.Minute, p.FirstCooldown())
	assert.Equal(t, DefaultCooldown, Policy{OpenAfter: 1}.FirstCooldown())
	assert.Equal(t, 5*time.Second, Policy{OpenAfter: 1, Cooldown: 5 * time.Second, MaxCooldown: 5 * time.Second}.FirstCooldown())

	// Doubling from the first cooldown, capped at an hour: 1, 2, 4, ... 32, 60, 60 min.
	var got []time.Duration
	h := webhook.Health{}
	for range 9 {
		c := p.NextCooldown(h)
		got = append(got, c)
		h.CooldownMS = c.Milliseconds()
	}
	m := time.Minute
	assert.Equal(t, []time.Duration{m, 2 * m, 4 * m, 8 * m, 16 * m, 32 * m, 60 * m, 60 * m, 60 * m}, got)
}

func TestProbeLease(t *testing.T) {
	assert.Equal(t, 35*time.Second, ProbeLease(30*time.Second))
}

func TestShouldDisable(t *testing.T) {
	p := Policy{OpenAfter: 3, DisableAfter: 120 * time.Hour}
	since := t0
	for _, tc := range []struct {
		name   string
		policy Policy
		h      webhook.Health
		now    time.Time
		want   bool
	}{
		{"failing long enough", p, webhook.Health{ConsecutiveFailures: 3, FailingSince: &since}, t0.Add(120 * time.Hour), true},
		{"a millisecond short", p, webhook.Health{ConsecutiveFailures: 50, FailingSince: &since}, t0.Add(120*time.Hour - time.Millisecond), false},
		{"too few attempts", p, webhook.Health{ConsecutiveFailures: 2, FailingSince: &since}, t0.Add(500 * time.Hour), false},
		{"open circuit too", p, webhook.Health{Circuit: webhook.CircuitOpen, ConsecutiveFailures: 130, FailingSince: &since}, t0.Add(121 * time.Hour), true},
		{"not failing", p, webhook.Health{}, t0.Add(500 * time.Hour), false},
		{"off", Policy{OpenAfter: 3}, webhook.Health{ConsecutiveFailures: 300, FailingSince: &since}, t0.Add(5000 * time.Hour), false},
		{"breaker off: one failure suffices", Policy{DisableAfter: time.Hour}, webhook.Health{ConsecutiveFailures: 1, FailingSince: &since}, t0.Add(time.Hour), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.policy.ShouldDisable(tc.h, tc.now))
		})
	}
}
