// Package console is the operator console: static HTML, CSS and JavaScript
// (ES modules, no build step, nothing fetched from elsewhere) embedded in
// the binary. It serves the assets only; the page calls the service's JSON
// API from the browser, on the same origin: the local server serves both,
// `webhooks console` serves this and proxies the API, signing its calls.
package console

import (
	"embed"
	"net/http"
	"strings"
)

// Prefix is where the console is served.
const Prefix = "/console/"

//go:embed assets
var assets embed.FS

// Handles reports whether path is the console's (Prefix, or Prefix without
// its slash, which redirects).
func Handles(path string) bool {
	return path == strings.TrimSuffix(Prefix, "/") || strings.HasPrefix(path, Prefix)
}

// Handler serves the console's assets under Prefix. The page may load
// nothing but its own files and talk to nothing but its own origin.
func Handler() http.Handler {
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !strings.HasPrefix(r.URL.Path, Prefix) {
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != Prefix {
			http.NotFound(w, r) // no directory listings
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		// Prefix maps onto the embedded assets directory.
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/assets/" + strings.TrimPrefix(r.URL.Path, Prefix)
		r2.URL.RawPath = ""
		files.ServeHTTP(w, r2)
	})
}
