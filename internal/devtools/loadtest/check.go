package loadtest

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Arrival is one request the receiver got.
type Arrival struct {
	// Seq is the event's number in the run, read from the body's data; -1
	// when the body was not one of this run's (unreadable, another run's,
	// or its webhook_id differs from X-Webhook-Id).
	Seq        int
	WebhookID  string // X-Webhook-Id
	DeliveryID string // X-Webhook-Delivery
	Attempt    int    // X-Webhook-Attempt
	Status     int    // what the receiver answered
	At         time.Time
}

// succeeded reports whether the receiver accepted the arrival: the service
// may send a delivery again only after an answer outside 2xx.
func (a Arrival) succeeded() bool { return a.Status >= 200 && a.Status < 300 }

// Verdict is the exactly-once check of one run.
type Verdict struct {
	Expected  int // deliveries asked for: events × webhooks
	Delivered int // of those, arrived and accepted (2xx) at least once
	Lost      int // expected and never accepted
	// Duplicates are arrivals of a delivery that had already been
	// accepted (an attempt after a failed answer is a retry, not one).
	Duplicates int
	// SecondIDs are arrivals of an event for a webhook under a second
	// delivery id: two records for one delivery.
	SecondIDs  int
	Retries    int // attempts after a failed answer (allowed)
	Unexpected int // arrivals that belong to no expected delivery
	// Examples name a few of the problems, for the report.
	Examples []string
	// Latencies are, per delivered delivery, the time from its event's
	// trigger to its first accepted arrival.
	Latencies []time.Duration
	// Last is when the last delivery was first accepted.
	Last time.Time
}

// OK reports whether every expected delivery arrived exactly once.
func (v Verdict) OK() bool {
	return v.Delivered == v.Expected && v.Lost == 0 && v.Duplicates == 0 && v.SecondIDs == 0 && v.Unexpected == 0
}

func (v Verdict) String() string {
	if v.OK() {
		return fmt.Sprintf("ok (%d of %d)", v.Delivered, v.Expected)
	}
	return fmt.Sprintf("FAILED: %d of %d delivered, %d lost, %d duplicated, %d under a second delivery id, %d unexpected",
		v.Delivered, v.Expected, v.Lost, v.Duplicates, v.SecondIDs, v.Unexpected)
}

// maxExamples bounds Verdict.Examples.
const maxExamples = 5

type key struct {
	seq     int
	webhook string
}

// Check checks arrivals, in the order they arrived, against the deliveries
// of len(sent) events (sent[i] is when event i was triggered) to each of
// webhooks: each must be accepted exactly once, under one delivery id.
func Check(sent []time.Time, webhooks []string, arrivals []Arrival) Verdict {
	v := Verdict{Expected: len(sent) * len(webhooks)}
	subscribed := make(map[string]bool, len(webhooks))
	for _, w := range webhooks {
		subscribed[w] = true
	}
	type state struct {
		id       string
		accepted bool
	}
	seen := make(map[key]*state, v.Expected)
	example := func(format string, args ...any) {
		if len(v.Examples) < maxExamples {
			v.Examples = append(v.Examples, fmt.Sprintf(format, args...))
		}
	}
	for _, a := range arrivals {
		if a.Seq < 0 || a.Seq >= len(sent) || !subscribed[a.WebhookID] {
			v.Unexpected++
			example("unexpected arrival: event %d, webhook %q, delivery %q", a.Seq, a.WebhookID, a.DeliveryID)
			continue
		}
		k := key{a.Seq, a.WebhookID}
		s := seen[k]
		switch {
		case s == nil:
			s = &state{id: a.DeliveryID}
			seen[k] = s
		case a.DeliveryID != s.id:
			v.SecondIDs++
			example("event %d to %s arrived as %s and as %s", a.Seq, a.WebhookID, s.id, a.DeliveryID)
			continue
		case s.accepted:
			v.Duplicates++
			example("duplicate: delivery %s (event %d to %s), attempt %d after an accepted one", a.DeliveryID, a.Seq, a.WebhookID, a.Attempt)
			continue
		default:
			v.Retries++
		}
		if a.succeeded() {
			s.accepted = true
			v.Delivered++
			v.Latencies = append(v.Latencies, a.At.Sub(sent[a.Seq]))
			if a.At.After(v.Last) {
				v.Last = a.At
			}
		}
	}
	v.Lost = v.Expected - v.Delivered
	if v.Lost > 0 {
		for seq := range sent {
			for _, w := range webhooks {
				if s := seen[key{seq, w}]; s == nil || !s.accepted {
					example("lost: event %d to %s", seq, w)
				}
			}
			if len(v.Examples) == maxExamples {
				break
			}
		}
	}
	return v
}

// Percentiles summarise latencies.
type Percentiles struct {
	P50, P90, P99, Max time.Duration
}

// percentiles returns the nearest-rank percentiles of ds (zero when empty).
func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1 // rank ⌈p·n⌉, 1-based
		return s[min(max(i, 0), len(s)-1)]
	}
	return Percentiles{P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: s[len(s)-1]}
}
