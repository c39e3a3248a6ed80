package webhook

import (
	"math"
	"slices"
	"time"
)

// Hourly statistics: every counter write also adds to the bucket of its
// hour, so a chart of the last 24 hours or 7 days reads its buckets instead
// of scanning the delivery history.

const (
	// StatsHours is how many hourly buckets a webhook's stats serve: 7
	// days (older ones expire).
	StatsHours = 168
	// LatencyBuckets is the number of response-time buckets of an hour: a
	// log scale of ratio √2 (bucket i holds durations up to 2^(i/2) ms), the
	// last one open-ended, above about 23 s.
	LatencyBuckets = 31
)

// Stats windows: the buckets GET /webhooks/{id}/stats answers.
const (
	StatsBucket  = time.Hour
	MaxStatsSpan = StatsHours * time.Hour
)

// statsWindows are the window values the API takes, by name.
var statsWindows = map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

// ParseStatsWindow reads the window and bucket of a stats query: window
// 24h or 7d, bucket 1h (the default when empty).
func ParseStatsWindow(window, bucket string) (time.Duration, error) {
	d, ok := statsWindows[window]
	if !ok {
		return 0, Invalid("window", "window must be 24h or 7d")
	}
	if bucket != "" && bucket != "1h" {
		return 0, Invalid("bucket", "bucket must be 1h")
	}
	return d, nil
}

// LatencyBucket is the bucket of a response time of ms milliseconds.
func LatencyBucket(ms int64) int {
	if ms <= 1 {
		return 0
	}
	i := int(math.Ceil(2 * math.Log2(float64(ms))))
	return min(i, LatencyBuckets-1)
}

// LatencyBound is the upper bound of bucket i in milliseconds (of the last,
// open-ended one: its lower bound).
func LatencyBound(i int) int64 {
	if i >= LatencyBuckets-1 {
		i = LatencyBuckets - 2
	}
	return int64(math.Floor(math.Pow(2, float64(i)/2)))
}

// HourStats are one hour's counts: deliveries that ended succeeded or
// failed in it, attempts in it that left a retry scheduled, and the
// response times of its attempts by LatencyBucket.
type HourStats struct {
	Start     time.Time // the hour, UTC
	Succeeded int64
	Failed    int64
	Retrying  int64
	Latency   [LatencyBuckets]int64
}

// Attempts is the number of attempts counted in the hour's response times.
func (h *HourStats) Attempts() int64 {
	var n int64
	for _, c := range h.Latency {
		n += c
	}
	return n
}

// Add folds o's counts into h (the hours are the caller's concern).
func (h *HourStats) Add(o *HourStats) {
	h.Succeeded += o.Succeeded
	h.Failed += o.Failed
	h.Retrying += o.Retrying
	for i, c := range o.Latency {
		h.Latency[i] += c
	}
}

// Percentile estimates the q-quantile (0 < q <= 1) of the hour's response
// times as the upper bound of the bucket it falls in: at most √2 times the
// true value. ok is false for an hour without attempts.
func (h *HourStats) Percentile(q float64) (ms int64, ok bool) {
	n := h.Attempts()
	if n == 0 {
		return 0, false
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, c := range h.Latency {
		if seen += c; seen >= rank && c > 0 {
			return LatencyBound(i), true
		}
	}
	return LatencyBound(LatencyBuckets - 1), true
}

// StatsSince is the first hour of window ending with now's hour.
func StatsSince(now time.Time, window time.Duration) time.Time {
	n := int(min(window, MaxStatsSpan) / StatsBucket)
	return now.UTC().Truncate(time.Hour).Add(-time.Duration(n-1) * time.Hour)
}

// StatsSeries lays hours (in any order, any span) out as the buckets of
// window ending with now's hour: one per hour, oldest first, zero where
// nothing was recorded, hours outside the window left out.
func StatsSeries(hours []HourStats, now time.Time, window time.Duration) []HourStats {
	n := int(min(window, MaxStatsSpan) / StatsBucket)
	last := now.UTC().Truncate(time.Hour)
	first := StatsSince(now, window)
	out := make([]HourStats, n)
	for i := range out {
		out[i].Start = first.Add(time.Duration(i) * time.Hour)
	}
	for i := range hours {
		h := &hours[i]
		if h.Start.Before(first) || h.Start.After(last) {
			continue
		}
		out[int(h.Start.Sub(first)/time.Hour)].Add(h)
	}
	return out
}

// SortHours orders hours oldest first.
func SortHours(hours []HourStats) {
	slices.SortFunc(hours, func(a, b HourStats) int { return a.Start.Compare(b.Start) })
}
