package manage

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// TestRateLimitMember checks the rate_limit member's decoding: an object
// with a whole per_second, refused otherwise with the member named; the
// range is Validate's.
func TestRateLimitMember(t *testing.T) {
	var f Field
	for _, x := range Fields() {
		if x.Name == "rate_limit" {
			f = x
		}
	}
	require.Equal(t, "rate_limit", f.Name)
	for _, tc := range []struct {
		raw, field string
		want       int
	}{
		{raw: `{"per_second":1}`, want: 1},
		{raw: `{"per_second":10000}`, want: 10000},
		{raw: `{"per_second":0}`, field: "rate_limit.per_second"},     // Validate
		{raw: `{"per_second":10001}`, field: "rate_limit.per_second"}, // Validate
		{raw: `{"per_second":-3}`, field: "rate_limit.per_second"},    // Validate
		{raw: `{"per_second":1.5}`, field: "rate_limit.per_second"},
		{raw: `{"per_second":"5"}`, field: "rate_limit.per_second"},
		{raw: `{"per_second":null}`, field: "rate_limit.per_second"},
		{raw: `{"per_second":1e40}`, field: "rate_limit.per_second"},
		{raw: `{}`, field: "rate_limit.per_second"},
		{raw: `{"per_second":5,"burst":1}`, field: "rate_limit.burst"},
		{raw: `5`, field: "rate_limit"},
		{raw: `"fast"`, field: "rate_limit"},
		{raw: `[]`, field: "rate_limit"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			w := &webhook.Webhook{Name: "x", URL: "https://example.com", Method: "POST", Events: []string{"custom"},
				Status: webhook.StatusActive, AuthType: webhook.AuthNone, Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 5000}
			err := f.Set(w, json.RawMessage(tc.raw))
			if err == nil {
				err = w.Validate(false)
			}
			if tc.field != "" {
				require.Error(t, err)
				assert.Equal(t, tc.field, webhook.ErrorField(err), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, &webhook.RateLimit{PerSecond: tc.want}, w.RateLimit)
		})
	}
}
