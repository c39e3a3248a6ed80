package httpapi

import (
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// TimeLayout is how every time in the API's JSON is written: RFC 3339 in
// UTC with exactly three fractional digits (2026-12-02T03:51:44.123Z). One
// precision everywhere, whatever a time was computed or stored with, so
// clients can compare and sort them as strings.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// apiTime is a time as the API shows it (TimeLayout). The response types
// use it for every time they carry; the mapping from the domain is the one
// place where times become JSON.
type apiTime time.Time

func (t apiTime) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = time.Time(t).UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// timePtr is t as an optional API time: nil stays nil (JSON null).
func timePtr(t *time.Time) *apiTime {
	if t == nil {
		return nil
	}
	a := apiTime(*t)
	return &a
}

// attemptJSON is an attempt as the API shows it: the domain's fields, with
// started_at in the API's precision (the outer field wins over the embedded
// one of the same JSON name).
type attemptJSON struct {
	webhook.Attempt
	StartedAt apiTime `json:"started_at"`
}

func toAttemptsJSON(in []webhook.Attempt) []attemptJSON {
	out := make([]attemptJSON, len(in))
	for i, a := range in {
		out[i] = attemptJSON{Attempt: a, StartedAt: apiTime(a.StartedAt)}
	}
	return out
}
