package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/google/uuid"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

type ctxKey struct{}

// RequestIDHeader carries the request id: taken from the request when it
// looks sane (API Gateway's, a proxy's), made up otherwise, and echoed in the
// response so a client can quote it.
const RequestIDHeader = "X-Request-Id"

// logAttrsKey holds the attributes a handler adds to its request's log line.
type logAttrsKey struct{}

// addLogAttrs adds key-value pairs to the request's one log line: a
// handler's summary costs no line of its own.
func addLogAttrs(ctx context.Context, args ...any) {
	if p, ok := ctx.Value(logAttrsKey{}).(*[]any); ok {
		*p = append(*p, args...)
	}
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

func saneID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '=') {
			return false
		}
	}
	return true
}

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// middleware adds the request id, answers unknown routes and methods with
// error JSON, refuses a path that is not clean (404) and a query string that
// does not parse (400), turns a handler panic into a 500, and logs one line
// per request (never bodies or headers, which may hold credentials).
func (a *server) middleware(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.Clock()
		id := r.Header.Get(RequestIDHeader)
		if !saneID(id) {
			id = uuid.NewString()
		}
		var extra []any
		r = r.WithContext(context.WithValue(context.WithValue(r.Context(), ctxKey{}, id), logAttrsKey{}, &extra))
		w.Header().Set(RequestIDHeader, id)
		sw := &statusWriter{ResponseWriter: w}

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.writeError(sw, r, fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
			}
			a.log.InfoContext(r.Context(), "request", append([]any{
				"request_id", id, "method", r.Method, "route", r.Pattern, "path", r.URL.Path,
				"status", sw.status, "duration_ms", a.Clock().Sub(start).Milliseconds()}, extra...)...)
		}()

		if unclean(r.URL.Path) {
			// ServeMux would redirect to the cleaned path: a path names one
			// resource as written, or none.
			a.noRoute(sw, r)
			return
		}
		h, pattern := mux.Handler(r)
		if pattern == "" {
			a.unmatched(sw, r, h)
			return
		}
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			// r.URL.Query() would drop the pair silently.
			a.writeError(sw, r, webhook.Errorf(webhook.EInvalid, "the query string is malformed: %s", webhook.Clip(err.Error(), 200)))
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// unmatched answers a request no route took. The mux's 405 (with Allow) is
// kept, with error JSON for its plain-text body; anything else (404, or a
// redirect, which the API never answers) is a 404.
func (a *server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
			Code: codeMethodNotAllowed, Message: fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, rec.header.Get("Allow")),
		}})
		return
	}
	a.noRoute(w, r)
}

func (a *server) noRoute(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, errorBody{Error: errorDetail{
		Code: codeRouteNotFound, Message: fmt.Sprintf("no route for %s %s", r.Method, webhook.Clip(r.URL.Path, 200)),
	}})
}

// unclean reports whether a path has an empty segment ("//") or a "." or
// ".." one: the paths ServeMux answers with a redirect to a cleaned path.
func unclean(path string) bool {
	if strings.Contains(path, "//") {
		return true
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// headerRecorder captures a handler's status and headers and drops its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}
func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}
