package webhook

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLatencyBucket(t *testing.T) {
	for _, tc := range []struct {
		ms     int64
		bucket int
	}{{-1, 0}, {0, 0}, {1, 0}, {2, 2}, {3, 4}, {4, 4}, {5, 5}, {100, 14}, {128, 14}, {129, 15}, {1 << 20, LatencyBuckets - 1}} {
		assert.Equal(t, tc.bucket, LatencyBucket(tc.ms), "%d ms", tc.ms)
	}
	// Every duration is at most its bucket's bound, and above the one before.
	for ms := int64(2); ms < 40000; ms += 7 {
		i := LatencyBucket(ms)
		if i < LatencyBuckets-1 {
			require.LessOrEqual(t, ms, LatencyBound(i), "%d ms", ms)
		}
		require.Greater(t, ms, LatencyBound(i-1), "%d ms", ms)
	}
}

func TestPercentile(t *testing.T) {
	var h HourStats
	_, ok := h.Percentile(0.5)
	assert.False(t, ok, "no attempts")
	for range 90 {
		h.Latency[LatencyBucket(100)]++
	}
	for range 9 {
		h.Latency[LatencyBucket(1000)]++
	}
	h.Latency[LatencyBucket(20000)]++
	for _, tc := range []struct {
		q  float64
		ms int64
	}{{0.5, 128}, {0.9, 128}, {0.91, 1024}, {0.99, 1024}, {1, 23170}} {
		got, ok := h.Percentile(tc.q)
		require.True(t, ok)
		assert.Equal(t, tc.ms, got, "q=%v", tc.q)
	}
}

func TestStatsSeries(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
	hours := []HourStats{
		{Start: now.Truncate(time.Hour), Succeeded: 1},
		{Start: now.Truncate(time.Hour).Add(-23 * time.Hour), Failed: 2},
		{Start: now.Truncate(time.Hour).Add(-24 * time.Hour), Failed: 5}, // outside 24h
	}
	s := StatsSeries(hours, now, 24*time.Hour)
	require.Len(t, s, 24)
	assert.Equal(t, now.Truncate(time.Hour).Add(-23*time.Hour), s[0].Start)
	assert.Equal(t, int64(2), s[0].Failed)
	assert.Equal(t, int64(1), s[23].Succeeded)
	s = StatsSeries(hours, now, 7*24*time.Hour)
	require.Len(t, s, StatsHours)
	assert.Equal(t, int64(5), s[StatsHours-25].Failed)
}

func TestStatsSince(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 30, 0, 0, time.FixedZone("x", 3600))
	hour := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	assert.Equal(t, hour.Add(-23*time.Hour), StatsSince(now, 24*time.Hour))
	assert.Equal(t, hour.Add(-167*time.Hour), StatsSince(now, 7*24*time.Hour))
	assert.Equal(t, hour.Add(-167*time.Hour), StatsSince(now, 30*24*time.Hour), "at most 7 days")
	s := StatsSeries(nil, now, 24*time.Hour)
	assert.Equal(t, StatsSince(now, 24*time.Hour), s[0].Start, "the series starts there")
}

func TestParseStatsWindow(t *testing.T) {
	for _, tc := range []struct {
		window, bucket, field string
		want                  time.Duration
	}{
		{"24h", "", "", 24 * time.Hour},
		{"7d", "1h", "", 168 * time.Hour},
		{"", "", "window", 0},
		{"30d", "", "window", 0},
		{"24h", "1d", "bucket", 0},
	} {
		got, err := ParseStatsWindow(tc.window, tc.bucket)
		if tc.field != "" {
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.field, e.Field)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}

// BenchmarkStatsSeries lays out 7 days of full hours and estimates their
// percentiles, as GET /webhooks/{id}/stats?window=7d does.
func BenchmarkStatsSeries(b *testing.B) {
	now := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
	hours := make([]HourStats, StatsHours)
	for i := range hours {
		hours[i].Start = now.Truncate(time.Hour).Add(-time.Duration(i) * time.Hour)
		for _, ms := range []int64{20, 50, 100, 400, 2000} {
			hours[i].Latency[LatencyBucket(ms)] = 321
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		s := StatsSeries(hours, now, MaxStatsSpan)
		for i := range s {
			for _, q := range []float64{0.5, 0.9, 0.99} {
				s[i].Percentile(q)
			}
		}
	}
}
