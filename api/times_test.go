package api_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// apiTime is the one form of every time the API answers with (RFC 3339,
// UTC, milliseconds; api/openapi.yaml's Timestamp).
var apiTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// assertTimes checks every time in a JSON answer: a member named *_at
// holds null or an API time, and so does any other string that reads as
// an RFC 3339 time. It looks at the body itself, so a time the document
// does not describe (or describes without the pattern) is caught too.
func assertTimes(t tester, name string, body []byte) {
	t.Helper()
	var v any
	if json.Unmarshal(body, &v) != nil {
		return // not JSON: the document check reports it
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, m := range x {
				if s, ok := m.(string); ok && strings.HasSuffix(k, "_at") {
					assert.Regexp(t, apiTime, s, "%s: %s.%s", name, path, k)
					continue
				}
				walk(path+"."+k, m)
			}
		case []any:
			for _, m := range x {
				walk(path+"[]", m)
			}
		case string:
			if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
				assert.Regexp(t, apiTime, x, "%s: %s", name, path)
			}
		}
	}
	walk("$", v)
}

// tester is what assertTimes needs of a *testing.T.
type tester interface {
	Helper()
	Errorf(format string, args ...any)
}

// failures counts what assertTimes reports.
type failures struct{ n int }

func (f *failures) Helper()               {}
func (f *failures) Errorf(string, ...any) { f.n++ }

func TestAssertTimes(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"created_at":"2026-12-02T03:51:44.123Z","next_attempt_at":null,"items":[{"started_at":"2026-12-02T03:51:44.000Z"}]}`, true},
		{`{"created_at":"2026-12-02T03:51:44Z"}`, false},
		{`{"attempts":[{"started_at":"2026-12-02T03:51:44.123456789Z"}]}`, false},
		{`{"delivery":{"completed_at":"2026-12-02T05:51:44.123+02:00"}}`, false},
		{`{"when":"2026-12-02T03:51:44.12Z"}`, false},
		{`{"name":"2026","response_body":"not a time"}`, true},
	} {
		var f failures
		assertTimes(&f, "body", []byte(tc.body))
		assert.Equal(t, tc.ok, f.n == 0, tc.body)
	}
}
