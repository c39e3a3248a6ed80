package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

type permErr struct{}

func (permErr) Error() string   { return "blocked: address 10.0.0.1 is private" }
func (permErr) Permanent() bool { return true }

type notPermErr struct{}

func (notPermErr) Error() string   { return "flaky" }
func (notPermErr) Permanent() bool { return false }

func TestClassify(t *testing.T) {
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		code int
		err  error
		want Outcome
	}{
		{200, nil, Success},
		{201, nil, Success},
		{204, nil, Success},
		{299, nil, Success},
		{200, errors.New("body read failed"), Success}, // status decides
		{100, nil, Retryable},
		{101, nil, Retryable},
		{301, nil, Retryable},
		{302, nil, Retryable},
		{304, nil, Retryable},
		{307, nil, Retryable},
		{308, nil, Retryable},
		{400, nil, Retryable},
		{401, nil, Retryable},
		{403, nil, Retryable},
		{404, nil, Retryable},
		{408, nil, Retryable},
		{410, nil, Gone},
		{413, nil, Retryable},
		{425, nil, Retryable},
		{429, nil, Retryable},
		{500, nil, Retryable},
		{502, nil, Retryable},
		{503, nil, Retryable},
		{504, nil, Retryable},
		{599, nil, Retryable},
		{0, nil, Retryable},
		{0, netErr, Retryable},
		{0, context.DeadlineExceeded, Retryable},
		{0, permErr{}, Permanent},
		{0, fmt.Errorf("post: %w", permErr{}), Permanent},
		{0, notPermErr{}, Retryable},
		{410, permErr{}, Gone},
		{500, permErr{}, Retryable},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%v", tt.code, tt.err), func(t *testing.T) {
			assert.Equal(t, tt.want, Classify(tt.code, tt.err))
		})
	}
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

func TestDelayNoJitter(t *testing.T) {
	exp := webhook.RetryPolicy{Strategy: webhook.StrategyExponential, MaxAttempts: 20, InitialDelayMS: 1000, MaxDelayMS: 60000}
	lin := webhook.RetryPolicy{Strategy: webhook.StrategyLinear, MaxAttempts: 20, InitialDelayMS: 1000, MaxDelayMS: 60000}
	fix := webhook.RetryPolicy{Strategy: webhook.StrategyFixed, MaxAttempts: 20, InitialDelayMS: 1500, MaxDelayMS: 60000}
	week := int64(webhook.MaxDelayLimitMS)
	tests := []struct {
		name    string
		p       webhook.RetryPolicy
		attempt int
		want    time.Duration
	}{
		{"exp 1", exp, 1, ms(1000)},
		{"exp 2", exp, 2, ms(2000)},
		{"exp 3", exp, 3, ms(4000)},
		{"exp 6", exp, 6, ms(32000)},
		{"exp 7 capped", exp, 7, ms(60000)},
		{"exp 20 capped", exp, 20, ms(60000)},
		{"exp 0 treated as 1", exp, 0, ms(1000)},
		{"exp huge attempt", exp, 1000, ms(60000)},
		{"lin 1", lin, 1, ms(1000)},
		{"lin 3", lin, 3, ms(3000)},
		{"lin 60", lin, 60, ms(60000)},
		{"lin 61 capped", lin, 61, ms(60000)},
		{"fixed 1", fix, 1, ms(1500)},
		{"fixed 19", fix, 19, ms(1500)},
		{"fixed above cap", webhook.RetryPolicy{Strategy: webhook.StrategyFixed, InitialDelayMS: 5000, MaxDelayMS: 2000}, 1, ms(2000)},
		{"unknown strategy is exponential", webhook.RetryPolicy{Strategy: "weird", InitialDelayMS: 1000, MaxDelayMS: 60000}, 3, ms(4000)},
		{"empty strategy is exponential", webhook.RetryPolicy{InitialDelayMS: 1000, MaxDelayMS: 60000}, 4, ms(8000)},
		{"zero initial", webhook.RetryPolicy{Strategy: webhook.StrategyExponential, MaxDelayMS: 60000}, 5, 0},
		{"negative initial", webhook.RetryPolicy{Strategy: webhook.StrategyLinear, InitialDelayMS: -5, MaxDelayMS: 60000}, 5, 0},
		{"zero max caps to zero", webhook.RetryPolicy{Strategy: webhook.StrategyFixed, InitialDelayMS: 1000}, 1, 0},
		{"exp week max attempt 20", webhook.RetryPolicy{Strategy: webhook.StrategyExponential, InitialDelayMS: week, MaxDelayMS: week}, 20, ms(week)},
		{"exp 1h initial attempt 20 week max", webhook.RetryPolicy{Strategy: webhook.StrategyExponential, InitialDelayMS: 3600000, MaxDelayMS: week}, 20, ms(week)},
		{"exp 1h initial attempt 8", webhook.RetryPolicy{Strategy: webhook.StrategyExponential, InitialDelayMS: 3600000, MaxDelayMS: week}, 8, 128 * time.Hour},
		{"lin week attempt 20", webhook.RetryPolicy{Strategy: webhook.StrategyLinear, InitialDelayMS: week, MaxDelayMS: week}, 20, ms(week)},
		{"exp int64 max", webhook.RetryPolicy{InitialDelayMS: 1 << 62, MaxDelayMS: 1 << 62}, 20, ms(maxMS)},
		{"lin int64 max", webhook.RetryPolicy{Strategy: webhook.StrategyLinear, InitialDelayMS: 1 << 62, MaxDelayMS: 1 << 62}, 20, ms(maxMS)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Delay(tt.p, tt.attempt, nil))
		})
	}
}

func constRand(v float64) Rand { return func() float64 { return v } }

func TestDelayJitter(t *testing.T) {
	p := webhook.DefaultRetryPolicy()
	// r=0 removes nothing, r→1 removes almost 20 %.
	assert.Equal(t, ms(4000), Delay(p, 3, constRand(0)))
	assert.Equal(t, ms(3600), Delay(p, 3, constRand(0.5)))
	assert.Equal(t, ms(3201), Delay(p, 3, constRand(0.99975)))
	// Out-of-range random numbers are not trusted.
	assert.Equal(t, ms(4000), Delay(p, 3, constRand(1)))
	assert.Equal(t, ms(4000), Delay(p, 3, constRand(-1)))
	assert.Equal(t, ms(60000), Delay(p, 10, constRand(2)))
}

func TestDelayJitterBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	week := int64(webhook.MaxDelayLimitMS)
	policies := []webhook.RetryPolicy{
		webhook.DefaultRetryPolicy(),
		{Strategy: webhook.StrategyLinear, InitialDelayMS: 700, MaxDelayMS: 5000},
		{Strategy: webhook.StrategyFixed, InitialDelayMS: 1, MaxDelayMS: 1},
		{Strategy: webhook.StrategyExponential, InitialDelayMS: week, MaxDelayMS: week},
		{Strategy: webhook.StrategyExponential, InitialDelayMS: 250, MaxDelayMS: week},
	}
	for _, p := range policies {
		seen := map[time.Duration]bool{}
		for attempt := 1; attempt <= webhook.MaxAttemptsLimit; attempt++ {
			base := Delay(p, attempt, nil)
			for range 200 {
				d := Delay(p, attempt, rng.Float64)
				require.GreaterOrEqual(t, d, time.Duration(0))
				require.LessOrEqual(t, d, base, "jitter never lengthens")
				require.LessOrEqual(t, d, ms(p.MaxDelayMS), "never above max")
				require.GreaterOrEqual(t, float64(d), float64(base)*(1-JitterFraction)-float64(time.Millisecond))
				seen[d] = true
			}
		}
		if p.MaxDelayMS > 100 {
			assert.Greater(t, len(seen), 20, "jitter spreads delays for %+v", p)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	hdr := func(v string) http.Header {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		return h
	}
	tests := []struct {
		name   string
		h      http.Header
		want   time.Duration
		wantOK bool
	}{
		{"absent", hdr(""), 0, false},
		{"nil header", nil, 0, false},
		{"seconds", hdr("120"), 120 * time.Second, true},
		{"zero", hdr("0"), 0, true},
		{"spaces", hdr("  30 "), 30 * time.Second, true},
		{"negative", hdr("-5"), 0, false},
		{"fraction", hdr("1.5"), 0, false},
		{"garbage", hdr("soon"), 0, false},
		{"huge saturates", hdr("99999999999999999999999"), time.Duration(1<<63 - 1), true},
		{"imf-fixdate", hdr("Mon, 01 Jan 2024 12:05:00 GMT"), 5 * time.Minute, true},
		{"rfc850", hdr("Monday, 01-Jan-24 12:00:30 GMT"), 30 * time.Second, true},
		{"asctime", hdr("Mon Jan  1 12:01:00 2024"), time.Minute, true},
		{"date in past", hdr("Mon, 01 Jan 2024 11:00:00 GMT"), 0, true},
		{"tab around", hdr("\t30\t"), 30 * time.Second, true},
		{"no-break space is not HTTP white space", hdr("\u00a030"), 0, false},
		{"leading zeros", hdr("007"), 7 * time.Second, true},
		{"plus sign", hdr("+5"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(tt.h, now, time.Duration(math.MaxInt64))
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRetryAfterLimit(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	hdr := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	tests := []struct {
		name  string
		v     string
		limit time.Duration
		want  time.Duration
	}{
		{"under", "30", time.Minute, 30 * time.Second},
		{"at", "60", time.Minute, time.Minute},
		{"over", "61", time.Minute, time.Minute},
		{"huge", "99999999999999999999999", time.Minute, time.Minute},
		{"fractional limit", "2", 1500 * time.Millisecond, 1500 * time.Millisecond},
		{"under a fractional limit", "1", 1500 * time.Millisecond, time.Second},
		{"date under", "Mon, 01 Jan 2024 12:00:45 GMT", time.Minute, 45 * time.Second},
		{"date over", "Mon, 01 Jan 2024 13:00:00 GMT", time.Minute, time.Minute},
		{"far date", "Fri, 31 Dec 9999 23:59:59 GMT", 7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{"zero limit", "30", 0, 0},
		{"negative limit is zero", "30", -time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(hdr(tt.v), now, tt.limit)
			assert.True(t, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	p := webhook.DefaultRetryPolicy() // exponential, 3 attempts, 1 s, max 60 s
	ra := func(v string) http.Header { h := http.Header{}; h.Set("Retry-After", v); return h }
	tests := []struct {
		name     string
		p        webhook.RetryPolicy
		attempt  int
		code     int
		h        http.Header
		err      error
		status   webhook.DeliveryStatus
		delay    time.Duration
		inactive bool
		reason   string
	}{
		{"success", p, 1, 200, nil, nil, webhook.DeliverySucceeded, 0, false, ""},
		{"success on last attempt", p, 3, 202, nil, nil, webhook.DeliverySucceeded, 0, false, ""},
		{"500 first", p, 1, 500, nil, nil, webhook.DeliveryRetrying, time.Second, false, "endpoint answered 500 Internal Server Error; retrying in 1s (attempt 2 of 3 next)"},
		{"500 second", p, 2, 500, nil, nil, webhook.DeliveryRetrying, 2 * time.Second, false, ""},
		{"500 exhausted", p, 3, 500, nil, nil, webhook.DeliveryFailed, 0, false, "endpoint answered 500 Internal Server Error; attempts exhausted (3 of 3)"},
		{"beyond max", p, 7, 500, nil, nil, webhook.DeliveryFailed, 0, false, ""},
		{"302 retried", p, 1, 302, nil, nil, webhook.DeliveryRetrying, time.Second, false, ""},
		{"404 retried", p, 2, 404, nil, nil, webhook.DeliveryRetrying, 2 * time.Second, false, ""},
		{"410 gone", p, 1, 410, nil, nil, webhook.DeliveryFailed, 0, true, "endpoint answered 410 Gone: webhook marked inactive, not retried"},
		{"blocked", p, 1, 0, nil, permErr{}, webhook.DeliveryFailed, 0, false, "not retryable: blocked: address 10.0.0.1 is private"},
		{"network error", p, 1, 0, nil, errors.New("connection refused"), webhook.DeliveryRetrying, time.Second, false, "connection refused; retrying in 1s (attempt 2 of 3 next)"},
		{"no response", p, 1, 0, nil, nil, webhook.DeliveryRetrying, time.Second, false, "no response; retrying in 1s (attempt 2 of 3 next)"},
		{"429 retry-after seconds", p, 1, 429, ra("30"), nil, webhook.DeliveryRetrying, 30 * time.Second, false, ""},
		{"503 retry-after date", p, 1, 503, ra("Mon, 01 Jan 2024 12:00:45 GMT"), nil, webhook.DeliveryRetrying, 45 * time.Second, false, ""},
		{"429 retry-after capped", p, 1, 429, ra("3600"), nil, webhook.DeliveryRetrying, time.Minute, false, ""},
		{"429 retry-after shorter than backoff", p, 2, 429, ra("1"), nil, webhook.DeliveryRetrying, 2 * time.Second, false, ""},
		{"429 bad retry-after", p, 1, 429, ra("later"), nil, webhook.DeliveryRetrying, time.Second, false, ""},
		{"500 ignores retry-after", p, 1, 500, ra("30"), nil, webhook.DeliveryRetrying, time.Second, false, ""},
		{"429 exhausted despite retry-after", p, 3, 429, ra("5"), nil, webhook.DeliveryFailed, 0, false, ""},
		{"one attempt policy", webhook.RetryPolicy{Strategy: webhook.StrategyFixed, MaxAttempts: 1, InitialDelayMS: 10, MaxDelayMS: 10}, 1, 500, nil, nil, webhook.DeliveryFailed, 0, false, ""},
		{"zero attempts policy allows one", webhook.RetryPolicy{}, 1, 500, nil, nil, webhook.DeliveryFailed, 0, false, "endpoint answered 500 Internal Server Error; attempts exhausted (1 of 1)"},
		{"unknown status text", p, 1, 599, nil, nil, webhook.DeliveryRetrying, time.Second, false, "endpoint answered 599; retrying in 1s (attempt 2 of 3 next)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.p, tt.attempt, tt.code, tt.h, tt.err, now, nil)
			assert.Equal(t, tt.status, d.Status)
			assert.Equal(t, tt.delay, d.Delay)
			assert.Equal(t, tt.inactive, d.MarkInactive)
			assert.Equal(t, Classify(tt.code, tt.err), d.Outcome)
			if tt.status == webhook.DeliveryRetrying {
				assert.Equal(t, now.Add(tt.delay), d.NextAttemptAt)
			} else {
				assert.True(t, d.NextAttemptAt.IsZero())
			}
			if tt.reason != "" {
				assert.Equal(t, tt.reason, d.Reason)
			}
			if tt.status != webhook.DeliverySucceeded {
				assert.NotEmpty(t, d.Reason)
			}
		})
	}
}

func TestDecideJitterWithRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	p := webhook.DefaultRetryPolicy()
	h := http.Header{"Retry-After": {"10"}}
	d := Decide(p, 1, 429, h, nil, now, constRand(0.9))
	assert.Equal(t, 10*time.Second, d.Delay, "Retry-After is a floor, not jittered below")
	d = Decide(p, 2, 500, nil, nil, now, constRand(0.5))
	assert.Equal(t, 1800*time.Millisecond, d.Delay)
}

// WithDelay re-times a retry (the record then says the wait the queue
// really makes) and leaves a final decision alone.
func TestDecisionWithDelay(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 250_000_000, time.UTC)
	p := webhook.RetryPolicy{Strategy: webhook.StrategyFixed, MaxAttempts: 3, InitialDelayMS: 867, MaxDelayMS: 60000}
	d := Decide(p, 1, 500, nil, nil, now, nil)
	require.Equal(t, "endpoint answered 500 Internal Server Error; retrying in 867ms (attempt 2 of 3 next)", d.Reason)
	r := d.WithDelay(time.Second, now)
	assert.Equal(t, time.Second, r.Delay)
	assert.Equal(t, now.Add(time.Second), r.NextAttemptAt)
	assert.Equal(t, "endpoint answered 500 Internal Server Error; retrying in 1s (attempt 2 of 3 next)", r.Reason)
	assert.Equal(t, d.Status, r.Status)
	assert.Equal(t, d.Outcome, r.Outcome)

	final := Decide(p, 3, 500, nil, nil, now, nil)
	assert.Equal(t, final, final.WithDelay(time.Second, now))
}
