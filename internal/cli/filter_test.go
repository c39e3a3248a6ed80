package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const filteredJSON = `{"id":"` + whID + `","name":"n","url":"https://example.com/","method":"POST","headers":{},` +
	`"events":["custom"],"status":"active","auth_type":"none","auth_credentials":{},` +
	`"retry":{"strategy":"exponential","max_attempts":3,"initial_delay_ms":1000,"max_delay_ms":60000},` +
	`"timeout_ms":30000,"filter":{"data":{"amount":{"$gt":100}}},"version":1,` +
	`"created_at":"2026-11-28T16:04:05Z","updated_at":"2026-11-28T16:04:05Z"}`

func TestFilterFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		route    string
		wantBody string
	}{
		{"create", []string{"create", "--name", "n", "--url", "https://example.com/", "--events", "custom",
			"--filter", `{"data": {"amount": {"$gt": 100}}}`}, "POST /webhooks",
			`{"name":"n","url":"https://example.com/","events":["custom"],"filter":{"data":{"amount":{"$gt":100}}}}`},
		{"update", []string{"update", whID, "--filter", `{"event":"custom"}`}, "PATCH /webhooks/" + whID, `{"filter":{"event":"custom"}}`},
		{"update removes", []string{"update", whID, "--filter", "null"}, "PATCH /webhooks/" + whID, `{"filter":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{tt.route: {200, filteredJSON}})
			got := runCLI(t, api.srv.URL, runOpts{}, tt.args...)
			require.Equal(t, ExitOK, got.code, got.stderr)
			require.Len(t, api.requests(), 1)
			assert.JSONEq(t, tt.wantBody, api.requests()[0].Body)
			assert.Contains(t, got.stdout, "Filter   {\"data\":{\"amount\":{\"$gt\":100}}}\n", "the table shows the filter")
		})
	}

	api := newFakeAPI(t, nil)
	got := runCLI(t, api.srv.URL, runOpts{}, "update", whID, "--filter", `{"data":`)
	assert.Equal(t, ExitUsage, got.code)
	assert.Contains(t, got.stderr, "--filter: malformed JSON")
	assert.Empty(t, api.requests(), "nothing sent")

	api = newFakeAPI(t, map[string]reply{"GET /webhooks/" + whID: {200, pausedJSON}})
	got = runCLI(t, api.srv.URL, runOpts{}, "info", whID)
	require.Equal(t, ExitOK, got.code, got.stderr)
	assert.NotContains(t, got.stdout, "Filter", "no filter, no row")
}

func TestFilterTestCommand(t *testing.T) {
	path := "/webhooks/" + whID + "/filter/test"
	for _, tt := range []struct {
		name, answer, stdout string
		args                 []string
		body                 string
	}{
		{"matches", `{"matches":true}`, "The event matches the filter of " + whID + "\n",
			[]string{"--event", "custom", "--data", `{"amount": 150}`}, `{"event":"custom","data":{"amount":150}}`},
		{"does not", `{"matches":false}`, "The event does not match the filter of " + whID + "\n",
			[]string{"--event", "custom", "--data", `{"amount":50}`, "--metadata", `{"source":"cli"}`},
			`{"event":"custom","data":{"amount":50},"metadata":{"source":"cli"}}`},
		{"json", `{"matches":true}`, `{"matches":true}` + "\n", []string{"--event", "custom", "--format", "json"}, `{"event":"custom"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{"POST " + path: {200, tt.answer}})
			got := runCLI(t, api.srv.URL, runOpts{}, append([]string{"filter-test", whID}, tt.args...)...)
			require.Equal(t, ExitOK, got.code, got.stderr)
			assert.Equal(t, tt.stdout, got.stdout)
			require.Len(t, api.requests(), 1)
			assert.Equal(t, path, api.requests()[0].Path)
			assert.JSONEq(t, tt.body, api.requests()[0].Body)
		})
	}

	api := newFakeAPI(t, map[string]reply{"POST " + path: {400, `{"error":{"code":"validation_failed","message":"unknown event \"nope\"","field":"event"}}`}})
	got := runCLI(t, api.srv.URL, runOpts{}, "filter-test", whID, "--event", "nope")
	assert.Equal(t, ExitAPIError, got.code)
	assert.True(t, strings.Contains(got.stderr, "unknown event"), got.stderr)

	for _, args := range [][]string{{"filter-test", whID}, {"filter-test", "--event", "custom"}, {"filter-test", whID, "--event", "custom", "--data", "{"}} {
		got := runCLI(t, api.srv.URL, runOpts{}, args...)
		assert.Equal(t, ExitUsage, got.code, "%v: %s", args, got.stderr)
	}
}
