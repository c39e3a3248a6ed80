package httpapi

import (
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// healthJSON is a webhook's endpoint health as the API shows it
// (read-only; a PATCH naming it is refused as an unknown member).
type healthJSON struct {
	Circuit             webhook.Circuit `json:"circuit"`
	ConsecutiveFailures int64           `json:"consecutive_failures"`
	FailingSince        *apiTime        `json:"failing_since"`
	LastSuccessAt       *apiTime        `json:"last_success_at"`
	OpenedAt            *apiTime        `json:"opened_at"`
	NextProbeAt         *apiTime        `json:"next_probe_at"`
}

func toHealthJSON(h webhook.Health) healthJSON {
	out := healthJSON{
		Circuit: h.State(), ConsecutiveFailures: h.ConsecutiveFailures,
		FailingSince: timePtr(h.FailingSince), LastSuccessAt: timePtr(h.LastSuccessAt),
	}
	if out.Circuit != webhook.CircuitClosed {
		out.OpenedAt = timePtr(h.OpenedAt)
	}
	if out.Circuit == webhook.CircuitOpen {
		out.NextProbeAt = timePtr(h.NextProbeAt)
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
