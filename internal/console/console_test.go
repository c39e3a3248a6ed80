package console

import (
	"io/fs"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
