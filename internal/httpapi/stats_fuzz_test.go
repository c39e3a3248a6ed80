package httpapi

import (
	"net/url"
	"testing"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// FuzzStatsQuery: every stats query is refused naming a field, or is one of
// the three it takes.
func FuzzStatsQuery(f *testing.F) {
	for _, s := range []string{"", "window=24h", "window=7d&bucket=1h", "bucket=1h", "window=30d", "window=", "window=24h&window=24h", "x=1", "window=7D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the middleware refuses it before any handler
		}
		window, err := statsQuery(q)
		if err != nil {
			if webhook.ErrorCode(err) != webhook.EInvalid {
				t.Fatalf("%q refused with %v", raw, err)
			}
			return
		}
		switch {
		case window == 0 && len(q) == 0:
		case window == 24*time.Hour && q.Get("window") == "24h":
		case window == 7*24*time.Hour && q.Get("window") == "7d":
		default:
			t.Fatalf("%q taken as window %v", raw, window)
		}
		if b := q.Get("bucket"); b != "" && b != "1h" {
			t.Fatalf("%q taken with bucket %q", raw, b)
		}
	})
}
