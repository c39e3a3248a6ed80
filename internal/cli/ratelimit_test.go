package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var limitedJSON = strings.Replace(filteredJSON, `"filter":{"data":{"amount":{"$gt":100}}}`, `"filter":null,"rate_limit":{"per_second":5}`, 1)

func TestRateLimitFlag(t *testing.T) {
	for _, tt := range []struct {
		name     string
		args     []string
		route    string
		wantBody string
	}{
		{"create", []string{"create", "--name", "n", "--url", "https://example.com/", "--events", "custom", "--rate-limit", "5"},
			"POST /webhooks", `{"name":"n","url":"https://example.com/","events":["custom"],"rate_limit":{"per_second":5}}`},
		{"update", []string{"update", whID, "--rate-limit", "100"}, "PATCH /webhooks/" + whID, `{"rate_limit":{"per_second":100}}`},
		{"update removes with 0", []string{"update", whID, "--rate-limit", "0"}, "PATCH /webhooks/" + whID, `{"rate_limit":null}`},
		{"update removes with none", []string{"update", whID, "--rate-limit", "none"}, "PATCH /webhooks/" + whID, `{"rate_limit":null}`},
		{"the range is the service's", []string{"update", whID, "--rate-limit", "20000"}, "PATCH /webhooks/" + whID, `{"rate_limit":{"per_second":20000}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{tt.route: {200, limitedJSON}})
			got := runCLI(t, api.srv.URL, runOpts{}, tt.args...)
			require.Equal(t, ExitOK, got.code, got.stderr)
			require.Len(t, api.requests(), 1)
			assert.JSONEq(t, tt.wantBody, api.requests()[0].Body)
			assert.Contains(t, got.stdout, "Limit    5 requests/s (rate limit)\n", "the table shows the limit")
		})
	}

	for _, bad := range []string{"fast", "2.5", ""} {
		api := newFakeAPI(t, nil)
		got := runCLI(t, api.srv.URL, runOpts{}, "update", whID, "--rate-limit", bad)
		assert.Equal(t, ExitUsage, got.code, bad)
		assert.Contains(t, got.stderr, "--rate-limit", bad)
		assert.Empty(t, api.requests(), "nothing sent")
	}

	api := newFakeAPI(t, map[string]reply{"GET /webhooks/" + whID: {200, pausedJSON}})
	got := runCLI(t, api.srv.URL, runOpts{}, "info", whID)
	require.Equal(t, ExitOK, got.code, got.stderr)
	assert.NotContains(t, got.stdout, "Limit", "no limit, no row")
}
