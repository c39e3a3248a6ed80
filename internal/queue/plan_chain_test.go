package queue

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chain follows a wait through Plan as the consumer does: each message
// arrives exactly its DelaySeconds later and, while the job is not due, is
// re-sent with the rest. It returns each hop's DelaySeconds and the arrival.
func chain(t *testing.T, start time.Time, wait time.Duration) (sends []int32, arrival time.Time) {
	t.Helper()
	now := start
	delay, nb := Plan(now, wait)
	for delay > 0 {
		sends = append(sends, delay)
		now = now.Add(time.Duration(delay) * time.Second)
		j := Job{NotBefore: nb}
		if j.Due(now) {
			break
		}
		delay, nb = Plan(now, j.Remaining(now))
		require.Less(t, len(sends), 10000, "no progress")
	}
	return sends, now
}

// Every hop of a chained wait but the last is MaxDelay; the last is the rest,
// rounded up to a whole second.
func TestPlanChainSends(t *testing.T) {
	start := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		wait  time.Duration
		sends []int32
	}{
		{"3600 s in 4 hops", 3600 * time.Second, []int32{900, 900, 900, 900}},
		{"901 s in 2 hops", 901 * time.Second, []int32{900, 1}},
		{"1000.2 s", 1000200 * time.Millisecond, []int32{900, 101}},
		{"60 s in 1 hop", time.Minute, []int32{60}},
		{"nothing", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sends, arrival := chain(t, start, tt.wait)
			assert.Equal(t, tt.sends, sends)
			assert.False(t, arrival.Before(start.Add(tt.wait)), "never attempted early")
			assert.Less(t, arrival.Sub(start.Add(tt.wait)), time.Second, "late by less than the rounding")
		})
	}
	// A week chains in 672 hops and arrives on time.
	sends, arrival := chain(t, start, 7*24*time.Hour)
	assert.Len(t, sends, 672)
	assert.Equal(t, start.Add(7*24*time.Hour), arrival)
}
