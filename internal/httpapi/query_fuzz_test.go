package httpapi

import (
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var querySeeds = []string{
	"", "limit=5", "limit=100", "limit=101", "limit=0", "limit=", "limit", "limit=%2B5", "limit=+5", "limit=05",
	"limit=5&limit=6", "status=active", "status=inactive", "status=failed", "status=", "status=ACTIVE",
	"event=custom", "event=agent.started&status=active&limit=2&cursor=abc", "event=", "event=nope",
	"cursor=", "cursor=eyJhIjoid2hfMDEiLCJmIjoiUTVtS0I1eXJiSGZ3In0", "colour=red", "limit=1%00",
	"status=succeeded&limit=50", "status=pending&cursor=x", "limit=99999999999999999999", "limit=-1",
}

// canonical writes f back as the query a client would send for it.
func canonical(status, event string, limit int, cursor string) url.Values {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	for k, v := range map[string]string{"status": status, "event": event, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// checkQuery holds what an accepted list query gives: a limit within the
// bounds and the canonical value of every parameter it has, and the filter
// again from the canonical query.
func checkQuery(t *testing.T, q url.Values, status, event string, limit int, cursor string, again func(url.Values) (string, string, int, string, error)) {
	t.Helper()
	if limit < 1 || limit > webhook.MaxListLimit {
		t.Fatalf("%v: limit %d", q, limit)
	}
	want := map[string]string{"status": status, "event": event, "limit": strconv.Itoa(limit), "cursor": cursor}
	for k, vs := range q {
		if len(vs) != 1 || vs[0] != want[k] {
			t.Fatalf("%v: %s=%q taken as %q", q, k, vs, want[k])
		}
	}
	if _, given := q["limit"]; !given && limit != webhook.DefaultListLimit {
		t.Fatalf("%v: limit %d without a limit", q, limit)
	}
	s2, e2, l2, c2, err := again(canonical(status, event, limit, cursor))
	if err != nil || s2 != status || e2 != event || l2 != limit || c2 != cursor {
		t.Fatalf("%v: canonical form reads %q %q %d %q, %v", q, s2, e2, l2, c2, err)
	}
}

// checkRefusal holds what a refused query gives: EInvalid naming one of its
// parameters.
func checkRefusal(t *testing.T, q url.Values, err error) {
	t.Helper()
	field := webhook.ErrorField(err)
	if webhook.ErrorCode(err) != webhook.EInvalid || !slices.Contains(slices.Collect(maps.Keys(q)), field) {
		t.Fatalf("%v refused with %v: want EInvalid naming a parameter", q, err)
	}
}

func FuzzListQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	webhooks := func(q url.Values) (string, string, int, string, error) {
		lf, err := listFilter(q)
		return string(lf.Status), lf.Event, lf.Limit, lf.Cursor, err
	}
	deliveries := func(q url.Values) (string, string, int, string, error) {
		df, err := deliveryFilter(q)
		return string(df.Status), "", df.Limit, df.Cursor, err
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the middleware refuses it before any handler
		}
		for _, parse := range []func(url.Values) (string, string, int, string, error){webhooks, deliveries} {
			status, event, limit, cursor, err := parse(q)
			if err != nil {
				checkRefusal(t, q, err)
				continue
			}
			checkQuery(t, q, status, event, limit, cursor, parse)
			if event != "" && !webhook.IsEvent(event) {
				t.Fatalf("%v: event %q is not in the catalogue", q, event)
			}
		}
	})
}

func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{`"1"`, `"42"`, "*", " * ", "", `"01"`, `"0"`, `"+1"`, `W/"1"`, `"1", "2"`, `1`, `"9223372036854775807"`, `"9223372036854775808"`} {
		f.Add(s, false)
	}
	f.Add(`"1"`, true)
	f.Fuzz(func(t *testing.T, value string, twice bool) {
		r := httptest.NewRequest("PATCH", "/webhooks/x", nil)
		r.Header.Add("If-Match", value)
		if twice {
			r.Header.Add("If-Match", value)
		}
		v, has, err := expectedVersion(r, object{})
		if err != nil {
			if webhook.ErrorCode(err) != webhook.EInvalid || webhook.ErrorField(err) != "If-Match" {
				t.Fatalf("If-Match %q refused with %v", value, err)
			}
			return
		}
		h := strings.TrimSpace(value)
		switch {
		case !has && h != "*":
			t.Fatalf("If-Match %q taken as no version", value)
		case has && (twice || h != etag(v) || v < 1):
			t.Fatalf("If-Match %q (twice: %v) taken as version %d", value, twice, v)
		}
	})
}
