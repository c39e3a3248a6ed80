package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rotatedJSON = `{"id":"` + whID + `","name":"My Webhook","url":"https://example.com/webhook","method":"POST","headers":{},` +
	`"events":["custom"],"status":"active","auth_type":"hmac","auth_credentials":{"secret":"whsec_bmV3IHNlY3JldA=="},` +
	`"previous_secret_expires_at":"2026-11-29T16:06:05Z","retry":{"strategy":"exponential","max_attempts":3,"initial_delay_ms":1000,"max_delay_ms":60000},` +
	`"timeout_ms":30000,"version":2,"created_at":"2026-11-28T16:04:05Z","updated_at":"2026-11-28T16:06:05Z"}`

func TestRotateSecretCommand(t *testing.T) {
	path := "/webhooks/" + whID + "/rotate-secret"
	tests := []struct {
		name   string
		args   []string
		reply  reply
		body   string // sent, as JSON
		ifm    string
		code   int
		stdout string
		stderr string
	}{
		{"defaults", []string{"rotate-secret", whID}, reply{200, rotatedJSON}, `{}`, "", 0,
			"Rotated the secret of webhook " + whID + " (My Webhook): version 2\n" +
				"New secret: whsec_bmV3IHNlY3JldA==\n" +
				"(shown this once: reads show it masked)\n" +
				"The old secret keeps signing until in 1d (2026-11-29 16:06:05Z)\n", ""},
		{"given secret, an hour, If-Match", []string{"rotate-secret", whID, "--secret", "s3cret", "--previous-valid-for", "1h", "--if-match", "1"},
			reply{200, rotatedJSON}, `{"secret":"s3cret","previous_valid_for_ms":3600000}`, `"1"`, 0, "", ""},
		{"no overlap", []string{"rotate-secret", whID, "--previous-valid-for", "0"},
			reply{200, `{"id":"` + whID + `","name":"n","auth_credentials":{"secret":"whsec_eA=="},"previous_secret_expires_at":null,"version":3}`},
			`{"previous_valid_for_ms":0}`, "", 0,
			"Rotated the secret of webhook " + whID + " (n): version 3\nNew secret: whsec_eA==\n(shown this once: reads show it masked)\nThe old secret no longer signs\n", ""},
		{"json", []string{"rotate-secret", whID, "--format", "json"}, reply{200, rotatedJSON}, `{}`, "", 0, rotatedJSON + "\n", ""},
		{"not hmac", []string{"rotate-secret", whID}, reply{400, `{"error":{"code":"validation_failed","message":"webhook has auth_type none; only an hmac webhook has a secret to rotate","field":"auth_type"}}`},
			`{}`, "", ExitAPIError, "", "error: validation_failed: webhook has auth_type none; only an hmac webhook has a secret to rotate (field auth_type)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{"POST " + path: tt.reply})
			got := runCLI(t, api.srv.URL, runOpts{}, tt.args...)
			assert.Equal(t, tt.code, got.code, "exit status; stderr %s", got.stderr)
			if tt.stdout != "" || tt.code != 0 {
				assert.Equal(t, tt.stdout, got.stdout)
			}
			assert.Equal(t, tt.stderr, got.stderr)
			reqs := api.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, "POST", reqs[0].Method)
			assert.Equal(t, path, reqs[0].Path)
			assert.JSONEq(t, tt.body, reqs[0].Body)
			assert.Equal(t, tt.ifm, reqs[0].Header.Get("If-Match"))
		})
	}
}

func TestRotateSecretUsage(t *testing.T) {
	for _, args := range [][]string{
		{"rotate-secret"},
		{"rotate-secret", whID, "--secret", ""},
		{"rotate-secret", whID, "--previous-valid-for", "-1h"},
		{"rotate-secret", whID, "--previous-valid-for", "1µs"},
		{"rotate-secret", whID, "--previous-valid-for", "a day"},
	} {
		api := newFakeAPI(t, nil)
		got := runCLI(t, api.srv.URL, runOpts{}, args...)
		assert.Equal(t, ExitUsage, got.code, "%v: %s", args, got.stderr)
		assert.Contains(t, got.stderr, "(see 'webhooks rotate-secret --help')", "%v", args)
		assert.Empty(t, api.requests(), "%v: nothing is sent", args)
	}
}
