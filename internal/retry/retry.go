// Package retry is the pure retry policy of a delivery attempt: how an
// endpoint's answer is classified and how long to wait before the next
// attempt. (How a wait is carried over SQS's 900-second delay limit is
// queue.Plan's.)
//
// Nothing here reads the clock or a global random source: callers pass the
// current time and a random source, so every decision is reproducible in tests.
package retry

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Outcome is what one attempt's answer means for the delivery.
type Outcome int

const (
	// Success: the endpoint accepted the delivery (any 2xx).
	Success Outcome = iota
	// Retryable: the attempt failed, a later attempt may succeed.
	Retryable
	// Gone: the endpoint answered 410; the webhook must be marked inactive
	// and the delivery fails now.
	Gone
	// Permanent: no later attempt can succeed (the target was refused by the
	// dial guard, or the webhook's configuration cannot produce a request).
	Permanent
)

func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Retryable:
		return "retryable"
	case Gone:
		return "gone"
	case Permanent:
		return "permanent"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Classify maps one attempt's answer to an Outcome. statusCode is 0 when no
// response arrived; err is the attempt's error, if any.
//
// When a status code is present it decides, even if err is also set (e.g. the
// response body could not be read to its end): the endpoint did answer.
//
//	answer                                   outcome    why
//	2xx                                      Success
//	410 Gone                                 Gone       the receiver says the endpoint is gone for good
//	3xx                                      Retryable  redirects are not followed (the dial guard would
//	                                                    be bypassed), so a 3xx is a failed attempt; like
//	                                                    Svix/Convoy/Stripe we retry every non-2xx, and a
//	                                                    moved endpoint may be fixed within the retry window
//	408, 425, 429, 5xx                       Retryable  transient by definition
//	other 4xx (400, 401, 403, 404, 413, ...) Retryable  as Svix, Convoy and Stripe do (and as the seed did,
//	                                                    "failed webhooks are retried"): a receiver mid-deploy
//	                                                    or a rotated secret often answers 4xx for a while;
//	                                                    max_attempts bounds the cost
//	1xx (only 101 reaches us), other codes   Retryable  not a success
//	no status, error with Permanent() true   Permanent  e.g. *safehttp.BlockedError: the address won't change
//	                                                    its class by waiting; a bad auth configuration
//	no status, any other error               Retryable  DNS, refused, reset, TLS, timeout: may heal
//	no status, no error                      Retryable  nothing was received
func Classify(statusCode int, err error) Outcome {
	switch {
	case statusCode >= 200 && statusCode <= 299:
		return Success
	case statusCode == http.StatusGone:
		return Gone
	case statusCode != 0:
		return Retryable
	case isPermanent(err):
		return Permanent
	}
	return Retryable
}

// permanent is implemented by errors that no retry can cure, such as
// *safehttp.BlockedError. An interface keeps this package free of the HTTP
// client's package.
type permanent interface{ Permanent() bool }

func isPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p) && p.Permanent()
}

// Rand returns a pseudo-random number in [0, 1), e.g. rand.Float64 from
// math/rand/v2 or the Float64 method of a seeded *rand.Rand.
// A nil Rand means no jitter.
type Rand func() float64

// JitterFraction is the largest share of a delay that jitter removes.
//
// Jitter only ever shortens a delay, by up to 20 %: the result stays within
// the configured schedule (never later than the strategy says and never above
// max_delay_ms, which is a hard cap users can rely on), yet deliveries that
// failed together (an endpoint outage) come back spread over a window instead
// of in one burst. A symmetric ±20 % would have to be clamped at the cap, and
// every capped delay would then land on exactly the same value again.
const JitterFraction = 0.2

// Delay is the wait before attempt+1 after attempt (1-based) failed:
//
//	exponential  initial × 2^(attempt-1)
//	linear       initial × attempt
//	fixed        initial
//
// capped at p.MaxDelayMS, then shortened by jitter (see JitterFraction).
// An unknown strategy is treated as exponential, the default. The result is
// never negative, never above the cap, and does not overflow for any attempt.
func Delay(p webhook.RetryPolicy, attempt int, rnd Rand) time.Duration {
	ms := baseMS(p, attempt)
	if rnd != nil && ms > 0 {
		r := rnd()
		if !(r >= 0 && r < 1) { // also catches NaN
			r = 0
		}
		ms -= int64(float64(ms) * JitterFraction * r)
	}
	return time.Duration(ms) * time.Millisecond
}

// maxMS bounds every delay so the conversion to time.Duration cannot overflow;
// validation already limits max_delay_ms to a week.
const maxMS = math.MaxInt64 / int64(time.Millisecond)

// capDelay is the policy's max delay as a Duration.
func capDelay(p webhook.RetryPolicy) time.Duration {
	return time.Duration(min(max(p.MaxDelayMS, 0), maxMS)) * time.Millisecond
}

// baseMS is the strategy's delay in milliseconds, capped, without jitter.
func baseMS(p webhook.RetryPolicy, attempt int) int64 {
	capMS := min(max(p.MaxDelayMS, 0), maxMS)
	initial := max(p.InitialDelayMS, 0)
	if attempt < 1 {
		attempt = 1
	}
	var ms int64
	switch p.Strategy {
	case webhook.StrategyFixed:
		ms = initial
	case webhook.StrategyLinear:
		if initial > 0 && int64(attempt) > capMS/initial {
			return capMS
		}
		ms = initial * int64(attempt)
	default:
		shift := attempt - 1
		if initial > 0 && (shift >= 62 || initial > capMS>>shift) {
			return capMS
		}
		ms = initial << shift
	}
	return min(ms, capMS)
}

// RetryAfter parses a Retry-After header (RFC 9110 §10.2.3): delay-seconds or
// an HTTP-date, relative to now. A date in the past means "now" (0, true).
// The result is at most limit (a negative limit is 0): delay-seconds too
// large for a Duration, or a date far ahead, are the receiver asking for a
// very long pause, which limit bounds. ok is false when the header is absent
// or malformed.
func RetryAfter(h http.Header, now time.Time, limit time.Duration) (time.Duration, bool) {
	limit = max(limit, 0)
	// Only the optional white space of HTTP (SP, HTAB) surrounds a value.
	v := strings.Trim(h.Get("Retry-After"), " \t")
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(limit/time.Second) {
			return limit, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), limit), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Decision is what to do with a delivery after an attempt.
type Decision struct {
	// Status is succeeded, failed (final) or retrying.
	Status webhook.DeliveryStatus
	// Outcome is the attempt's classification.
	Outcome Outcome
	// Delay is the wait before the next attempt; set only when retrying.
	Delay time.Duration
	// NextAttemptAt is now+Delay when retrying, zero otherwise.
	NextAttemptAt time.Time
	// MarkInactive: the endpoint answered 410 Gone; deactivate the webhook.
	MarkInactive bool
	// Reason explains a failure or retry in words, for logs and records;
	// empty on success.
	Reason string

	// What a retry's Reason is made of, so WithDelay can say it again.
	failure           string
	next, maxAttempts int
}

// WithDelay returns d, a retrying decision, with delay as its wait, and
// NextAttemptAt (now+delay) and Reason to match: for the carrier of the
// retry to record the wait it really makes when that differs from the
// planned one (SQS delays by whole seconds). Other decisions are returned
// as they are.
func (d Decision) WithDelay(delay time.Duration, now time.Time) Decision {
	if d.Status != webhook.DeliveryRetrying {
		return d
	}
	d.Delay = delay
	d.NextAttemptAt = now.Add(delay)
	d.Reason = retryReason(d.failure, delay, d.next, d.maxAttempts)
	return d
}

func retryReason(failure string, delay time.Duration, next, maxAttempts int) string {
	return fmt.Sprintf("%s; retrying in %s (attempt %d of %d next)", failure, delay, next, maxAttempts)
}

// Decide turns the answer to attempt (1-based) into a Decision.
//
// A retryable failure is retried until p.MaxAttempts attempts were made (a
// policy with fewer than 1 attempt allows 1). The delay is Delay(p, attempt,
// rnd); for 429 and 503 a Retry-After header is honoured as a floor (we never
// come back sooner than the receiver asked), and the result is capped at
// p.MaxDelayMS like every other delay.
func Decide(p webhook.RetryPolicy, attempt int, statusCode int, header http.Header, err error, now time.Time, rnd Rand) Decision {
	o := Classify(statusCode, err)
	d := Decision{Outcome: o}
	switch o {
	case Success:
		d.Status = webhook.DeliverySucceeded
		return d
	case Gone:
		d.Status = webhook.DeliveryFailed
		d.MarkInactive = true
		d.Reason = "endpoint answered 410 Gone: webhook marked inactive, not retried"
		return d
	case Permanent:
		d.Status = webhook.DeliveryFailed
		d.Reason = "not retryable: " + Describe(statusCode, err)
		return d
	}
	maxAttempts := max(p.MaxAttempts, 1)
	if attempt >= maxAttempts {
		d.Status = webhook.DeliveryFailed
		d.Reason = fmt.Sprintf("%s; attempts exhausted (%d of %d)", Describe(statusCode, err), attempt, maxAttempts)
		return d
	}
	delay := Delay(p, attempt, rnd)
	if statusCode == http.StatusTooManyRequests || statusCode == http.StatusServiceUnavailable {
		if ra, ok := RetryAfter(header, now, capDelay(p)); ok && ra > delay {
			delay = ra
		}
	}
	d.Status = webhook.DeliveryRetrying
	d.failure, d.next, d.maxAttempts = Describe(statusCode, err), attempt+1, maxAttempts
	return d.WithDelay(delay, now)
}

// Describe names an attempt's failure in a few words.
func Describe(statusCode int, err error) string {
	switch {
	case statusCode != 0:
		if text := http.StatusText(statusCode); text != "" {
			return fmt.Sprintf("endpoint answered %d %s", statusCode, text)
		}
		return fmt.Sprintf("endpoint answered %d", statusCode)
	case err != nil:
		return err.Error()
	}
	return "no response"
}
