package httpapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestParseRecoverRequest(t *testing.T) {
	since := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		body  string
		field string // "" = accepted
		want  time.Time
	}{
		{`{"since":"2026-11-27T16:00:00Z"}`, "", since},
		{`{"since":"2026-11-27T17:00:00+01:00","until":"2026-11-28T00:00:00.123Z","status":"failed"}`, "", since},
		{`{"since":"2026-11-27T16:00:00Z","status":"succeeded"}`, "", since}, // the service refuses it
		{`{}`, "since", time.Time{}},
		{`{"since":null}`, "since", time.Time{}},
		{`{"since":"yesterday"}`, "since", time.Time{}},
		{`{"since":"2026-11-27"}`, "since", time.Time{}},
		{`{"since":"0000-01-01T00:00:00Z"}`, "since", time.Time{}},
		{`{"since":17}`, "since", time.Time{}},
		{`{"since":"2026-11-27T16:00:00Z","until":"2026-13-27T16:00:00Z"}`, "until", time.Time{}},
		{`{"since":"2026-11-27T16:00:00Z","status":""}`, "status", time.Time{}},
		{`{"since":"2026-11-27T16:00:00Z","status":1}`, "status", time.Time{}},
		{`{"since":"2026-11-27T16:00:00Z","limit":5}`, "limit", time.Time{}},
		{`{"since":"2026-11-27T16:00:00Z","Since":"2026-11-27T16:00:00Z"}`, "Since", time.Time{}},
	} {
		t.Run(tc.body, func(t *testing.T) {
			got, err := parseRecoverRequest([]byte(tc.body))
			if tc.field == "" {
				require.NoError(t, err)
				assert.True(t, tc.want.Equal(got.Since))
				assert.Equal(t, time.UTC, got.Since.Location())
				return
			}
			var e *webhook.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, webhook.EInvalid, e.Code)
			assert.Equal(t, tc.field, e.Field)
		})
	}
}

// FuzzParseRecoverRequest: any body is read into a request with a since, or
// refused as validation_failed; never a panic or another error.
func FuzzParseRecoverRequest(f *testing.F) {
	for _, s := range []string{
		`{"since":"2026-11-27T16:00:00Z"}`, `{"since":"2026-11-27T16:00:00Z","until":"2026-11-28T16:00:00.5-07:00","status":"failed"}`,
		`{}`, `{"since":null}`, `{"since":"x"}`, `{"since":"9999-12-31T23:59:59.999999999Z"}`, `{"since":"2026-11-27T16:00:00Z","status":"held"}`,
		`{"since":"2026-11-27T16:00:00Z","since":"2026-11-27T16:00:00Z"}`, `[]`, `{`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := parseRecoverRequest([]byte(body))
		if err != nil {
			assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err), "%v", err)
			return
		}
		assert.False(t, got.Since.IsZero())
		assert.Equal(t, time.UTC, got.Since.Location())
	})
}
