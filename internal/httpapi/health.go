package httpapi

import (
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// healthJSON is a webhook's endpoint health as the API shows it
// (read-only; a PATCH naming it is refused as an unknown member).
type healthJSON struct {
	Circuit             webhook.Circuit `json:"circuit"`
	ConsecutiveFailures int64           `json:"consecutive_failures"`
	FailingSince        *time.Time      `json:"failing_since"`
	LastSuccessAt       *time.Time      `json:"last_success_at"`
	OpenedAt            *time.Time      `json:"opened_at"`
	NextProbeAt         *time.Time      `json:"next_probe_at"`
}

func toHealthJSON(h webhook.Health) healthJSON {
	out := healthJSON{
		Circuit: h.State(), ConsecutiveFailures: h.ConsecutiveFailures,
		FailingSince: utcPtr(h.FailingSince), LastSuccessAt: utcPtr(h.LastSuccessAt),
	}
	if out.Circuit != webhook.CircuitClosed {
		out.OpenedAt = utcPtr(h.OpenedAt)
	}
	if out.Circuit == webhook.CircuitOpen {
		out.NextProbeAt = utcPtr(h.NextProbeAt)
	}
	return out
}

// reasonJSON is an inactive webhook's status_reason, null while active.
func reasonJSON(w *webhook.Webhook) *webhook.StatusReason {
	r := w.Reason()
	if r == webhook.ReasonNone {
		return nil
	}
	return &r
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
