package console

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/api"
)

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/console/", 200, "text/html; charset=utf-8"},
		{"GET", "/console/console.css", 200, "text/css; charset=utf-8"},
		{"GET", "/console/js/app.js", 200, "text/javascript; charset=utf-8"},
		{"HEAD", "/console/js/api.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/console/js/", 404, ""},
		{"GET", "/console/nope.js", 404, ""},
		{"POST", "/console/", 405, ""},
		{"GET", "/console", 301, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			require.Equal(t, tc.status, rec.Code)
			if tc.contentType != "" {
				assert.Equal(t, tc.contentType, rec.Header().Get("Content-Type"))
				assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'self'")
				assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			}
		})
	}
	assert.True(t, Handles("/console"))
	assert.True(t, Handles("/console/js/app.js"))
	assert.False(t, Handles("/consoles"))
	assert.False(t, Handles("/webhooks"))
}

// The page loads nothing from elsewhere: every URL in the assets is
// relative, and every module it imports is embedded.
func TestAssetsAreSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|import\s[^;]*from\s*['"]https?:|fetch\(\s*['"]https?:`)
	imports := regexp.MustCompile(`(?m)^import\s[^;]*?from\s*'\./([^']+)'|^import\s'\./([^']+)'`)
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, path)
		require.NoError(t, err)
		assert.False(t, external.Match(b), "%s refers to another origin", path)
		if strings.HasSuffix(path, ".js") {
			for _, m := range imports.FindAllStringSubmatch(string(b), -1) {
				name := m[1] + m[2]
				_, err := fs.Stat(assets, "assets/js/"+name)
				assert.NoError(t, err, "%s imports %s", path, name)
			}
		}
		return nil
	})
	require.NoError(t, err)
}

// The members the console reads or sends of each schema exist in
// api/openapi.yaml, and the console's scripts name them: a renamed field
// fails here rather than showing nothing in a browser. The shapes guessed
// before the features landed are gone.
func TestFieldNamesMatchTheDocument(t *testing.T) {
	raw, err := api.OpenAPIJSON()
	require.NoError(t, err)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []any `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))

	var js strings.Builder
	require.NoError(t, fs.WalkDir(assets, "assets/js", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, path)
		js.Write(b)
		return err
	}))
	scripts := js.String()

	for schema, members := range map[string][]string{
		"Webhook":             {"status_reason", "health", "previous_secret_expires_at", "filter", "auth_credentials", "version"},
		"Health":              {"circuit", "consecutive_failures", "failing_since", "last_success_at", "opened_at", "next_probe_at"},
		"Attempt":             {"attempt", "started_at", "status_code", "duration_ms", "error", "response_body", "timings"},
		"Timings":             {"dns_ms", "connect_ms", "tls_ms", "first_byte_ms"},
		"SecretRotation":      {"previous_valid_for_ms"},
		"WebhookPatch":        {"filter"},
		"WebhookCreate":       {"filter", "auth_credentials"},
		"OAuth2Credentials":   {"token_url", "client_id", "client_secret", "scope", "audience", "auth_style"},
		"FilterTestResult":    {"matches"},
		"TriggerRequest":      {"event", "data", "metadata"},
		"TriggerResult":       {"event_id", "deliveries"},
		"BatchTriggerRequest": {"events"},
		"BatchEvent":          {"event", "data", "metadata", "idempotency_key"},
		"BatchTriggerResult":  {"items"},
		"RecoverRequest":      {"since", "until"},
		"Recovery":            {"id", "status", "since", "requested_since", "until", "scanned", "queued", "skipped", "created_at", "completed_at"},
	} {
		props := doc.Components.Schemas[schema].Properties
		require.NotEmpty(t, props, schema)
		for _, m := range members {
			assert.Contains(t, props, m, "%s.%s is not in the document", schema, m)
			assert.True(t, regexp.MustCompile(`\b`+regexp.QuoteMeta(m)+`\b`).MatchString(scripts), "the console does not use %s.%s", schema, m)
		}
	}
	for _, v := range doc.Components.Schemas["Health"].Properties["circuit"].Enum {
		assert.True(t, strings.Contains(scripts, fmt.Sprintf("%s:", v)), "health.js names circuit %v", v)
	}
	for _, v := range doc.Components.Schemas["Webhook"].Properties["status_reason"].Enum {
		if v != nil {
			assert.True(t, strings.Contains(scripts, fmt.Sprintf("%s:", v)), "health.js explains status_reason %v", v)
		}
	}
	// Guesses made before health and timings existed.
	for _, guess := range []string{`\bh\.state\b`, `\bh\.status\b`, `\ba\.timing\b`, `\.phases\b`, `\ba\.response_headers\b`, `typeof h === 'string'`} {
		assert.False(t, regexp.MustCompile(guess).MatchString(scripts), "the console still guesses %s", guess)
	}
}
