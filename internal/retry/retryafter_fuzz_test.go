package retry

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzRetryAfter checks RetryAfter on any header value, clock and limit:
//   - the result is never negative and never above the limit (a negative
//     limit is 0), and 0 whenever ok is false;
//   - delay-seconds (digits only, optional SP/HTAB around) is always ok and
//     maps to exactly that many seconds when under the limit, to the limit
//     otherwise;
//   - anything else is ok exactly when it is an HTTP-date, and then means
//     the time from the injected now to that date, 0 for a date passed;
//   - a later now never asks for a longer wait.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	minute, week := int64(time.Minute), int64(7*24*time.Hour)
	for _, s := range []struct {
		v     string
		now   int64
		limit int64
	}{
		{"120", now, week},
		{"0", now, week},
		{"  30 ", now, week},
		{"\t30\t", now, week},
		{"007", now, week},
		{"61", now, minute},
		{"99999999999999999999999", now, week},
		{"9223372036", now, 1<<63 - 1},
		{"-5", now, week},
		{"+5", now, week},
		{"1.5", now, week},
		{"soon", now, week},
		{"", now, week},
		{"\u00a030", now, week},
		{"Mon, 01 Jan 2024 12:05:00 GMT", now, week},
		{"Monday, 01-Jan-24 12:00:30 GMT", now, week},
		{"Mon Jan  1 12:01:00 2024", now, week},
		{"Mon, 01 Jan 2024 11:00:00 GMT", now, week},
		{"Mon, 01 Jan 2024 13:00:00 GMT", now, minute},
		{"Fri, 31 Dec 9999 23:59:59 GMT", now, week},
		{"Mon, 01 Jan 0001 00:00:00 GMT", 1<<63 - 1, week},
		{"30", now, 0},
		{"30", now, -1},
		{"2", now, int64(1500 * time.Millisecond)},
	} {
		f.Add(s.v, s.now, s.limit)
	}
	f.Fuzz(func(t *testing.T, v string, nowNanos, limitNanos int64) {
		now := time.Unix(0, nowNanos).UTC()
		limit := time.Duration(limitNanos)
		h := http.Header{"Retry-After": {v}}
		got, ok := RetryAfter(h, now, limit)
		bound := max(limit, 0)
		if got < 0 || got > bound {
			t.Fatalf("%q at %v, limit %v: %v is outside [0, %v]", v, now, limit, got, bound)
		}
		if !ok && got != 0 {
			t.Fatalf("%q: not ok but %v", v, got)
		}
		trimmed := strings.Trim(v, " \t")
		if trimmed != "" && strings.Trim(trimmed, "0123456789") == "" {
			if !ok {
				t.Fatalf("%q: delay-seconds refused", v)
			}
			want := bound
			if secs, err := strconv.ParseInt(trimmed, 10, 64); err == nil && secs <= int64(bound/time.Second) {
				want = time.Duration(secs) * time.Second
			}
			if got != want {
				t.Fatalf("%q, limit %v: got %v, want %v", v, limit, got, want)
			}
			return
		}
		date, err := http.ParseTime(trimmed)
		if ok != (err == nil) {
			t.Fatalf("%q: ok is %v, but http.ParseTime says %v", v, ok, err)
		}
		if !ok {
			return
		}
		if want := min(max(date.Sub(now), 0), bound); got != want {
			t.Fatalf("%q at %v, limit %v: got %v, want %v (date %v)", v, now, limit, got, want, date)
		}
		if later, _ := RetryAfter(h, now.Add(time.Second), limit); later > got {
			t.Fatalf("%q: a second later asks for %v, more than %v", v, later, got)
		}
	})
}
