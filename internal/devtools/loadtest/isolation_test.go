package loadtest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunIsolation runs the isolation benchmark for real with a tiny load
// (20 events/s for 1 s, a bad endpoint answering after 2 s with a 1 s
// timeout): every healthy delivery arrives in both scenarios, the bad
// endpoint is reached only in the second, and the report has both rows and
// the ratio. It checks the tool, not a speed.
func TestRunIsolation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cmd/local")
	}
	bin := buildLocal(t)
	var out bytes.Buffer
	res, err := RunIsolation(context.Background(), IsolationConfig{Rate: 20, Duration: time.Second,
		BadDelay: 2 * time.Second, BadTimeout: time.Second, Bin: bin, LogDir: t.TempDir(), Drain: 30 * time.Second, Out: &out})
	require.NoError(t, err, out.String())
	require.Len(t, res, 2)
	for _, r := range res {
		assert.Equal(t, 20, r.Events)
		assert.Equal(t, 20, r.Arrived, "neighbour %t", r.Neighbour)
		assert.LessOrEqual(t, r.Latency.P50, r.Latency.P99)
	}
	assert.Zero(t, res[0].Bad)
	assert.Positive(t, res[1].Bad, "the bad endpoint was tried")
	for _, want := range []string{"alone", "bad neighbour", "healthy p99 with the bad neighbour / alone"} {
		assert.Contains(t, out.String(), want)
	}
}
