package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestAPITime(t *testing.T) {
	east := time.FixedZone("UTC+2", 2*60*60)
	cases := []struct {
		name string
		in   time.Time
		want string
	}{
		{"nanoseconds are cut to milliseconds", time.Date(2026, 12, 2, 3, 51, 44, 123456789, time.UTC), `"2026-12-02T03:51:44.123Z"`},
		{"a whole second keeps its three digits", time.Date(2026, 12, 2, 3, 51, 44, 0, time.UTC), `"2026-12-02T03:51:44.000Z"`},
		{"always UTC", time.Date(2026, 12, 2, 5, 51, 44, 120_000_000, east), `"2026-12-02T03:51:44.120Z"`},
		{"truncated, not rounded", time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC), `"2026-12-31T23:59:59.999Z"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(apiTime(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(b))
		})
	}
	b, err := json.Marshal(struct {
		At *apiTime `json:"at"`
	}{timePtr(nil)})
	require.NoError(t, err)
	assert.Equal(t, `{"at":null}`, string(b))
}

// A delivery whose times carry nanoseconds and another zone (as a record
// read back may) is shown with every time in the one precision, and each
// attempt keeps all its other fields.
func TestDeliveryTimesInMilliseconds(t *testing.T) {
	east := time.FixedZone("UTC+2", 2*60*60)
	at := time.Date(2026, 12, 2, 5, 51, 44, 123456789, east)
	next := at.Add(1500 * time.Millisecond)
	d := &webhook.Delivery{ID: "dlv_1", WebhookID: "wh_1", Event: "custom", Status: webhook.DeliveryRetrying,
		CreatedAt: at, NextAttemptAt: &next,
		Attempts: []webhook.Attempt{{Attempt: 1, StartedAt: at, StatusCode: 500, DurationMS: 7, Error: "e", ResponseBody: "b"}}}
	b, err := json.Marshal(toDeliveryJSON(d))
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"dlv_1","webhook_id":"wh_1","event":"custom","status":"retrying",
		"attempts":[{"attempt":1,"started_at":"2026-12-02T03:51:44.123Z","status_code":500,"duration_ms":7,"error":"e","response_body":"b",
			"timings":{"dns_ms":null,"connect_ms":null,"tls_ms":null,"first_byte_ms":null}}],
		"next_attempt_at":"2026-12-02T03:51:45.623Z","created_at":"2026-12-02T03:51:44.123Z","completed_at":null}`, string(b))
}
