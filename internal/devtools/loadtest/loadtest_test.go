package loadtest

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildLocal builds cmd/local as `make run` does, into the test's directory.
func buildLocal(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "local")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/systemprompt-io/webhooks/cmd/local").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// TestRun runs the load test for real with a tiny load: two runs of 50
// events to 2 webhooks on a fresh cmd/local each, then one on a stack
// already running.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cmd/local")
	}
	bin := buildLocal(t)
	ctx := context.Background()

	var out, prog bytes.Buffer
	results, err := Run(ctx, Config{Events: 50, Concurrency: 4, Subscribers: 2, Runs: 2, Bin: bin, LogDir: t.TempDir(),
		Out: &out, Progress: &prog, Settle: 200 * time.Millisecond})
	require.NoError(t, err, "%s\n%s", out.String(), prog.String())
	require.Len(t, results, 2)
	for _, r := range results {
		assert.Equal(t, 100, r.Deliveries)
		assert.Zero(t, r.Refused)
		assert.Zero(t, r.Others)
		assert.True(t, r.Verdict.OK(), r.Verdict.String())
		assert.Equal(t, 100, r.Verdict.Delivered)
		assert.Len(t, r.Verdict.Latencies, 100)
		assert.True(t, r.Measured)
		assert.Positive(t, r.CPU, "the stack worked")
		assert.Greater(t, r.PeakRSS, int64(1<<20))
		assert.Positive(t, r.AcceptRate())
		assert.Positive(t, r.DeliveryRate())
		assert.Positive(t, r.Latency.P50)
		assert.LessOrEqual(t, r.Latency.P50, r.Latency.P90)
		assert.LessOrEqual(t, r.Latency.P99, r.Latency.Max)
		assert.GreaterOrEqual(t, r.Deliver, r.Latency.Max, "the last arrival is at least the slowest one after the first trigger")
	}
	report := out.String()
	for _, want := range []string{
		"50 events x 2 subscriber(s) = 100 deliveries per run, concurrency 4",
		"load average", "accept/s", "deliver/s", "p50", "p90", "p99", "max", "CPU-s/1k", "peak RSS", "exactly once",
		"ok (100 of 100)", "2 of 2 runs ok",
	} {
		assert.Contains(t, report, want)
	}
	lines := strings.Split(report, "\n")
	var rows []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == "1" || f[0] == "2" || f[0] == "median") {
			rows = append(rows, l)
			assert.Contains(t, l, "MiB", "a measured row: %s", l)
		}
	}
	assert.Len(t, rows, 3, "a row per run and the median:\n%s", report)

	t.Run("a running stack", func(t *testing.T) {
		l, err := StartLocal(ctx, bin, filepath.Join(t.TempDir(), "local.log"))
		require.NoError(t, err)
		defer func() { assert.NoError(t, l.Stop()) }()
		var out bytes.Buffer
		results, err := Run(ctx, Config{Events: 20, Concurrency: 2, Subscribers: 1, Runs: 1, URL: l.URL, Out: &out, Settle: 100 * time.Millisecond})
		require.NoError(t, err, out.String())
		require.Len(t, results, 1)
		assert.True(t, results[0].Verdict.OK())
		assert.True(t, results[0].Measured, "found the stack's process by its port")
		assert.Contains(t, out.String(), "on the running stack at "+l.URL)
		assert.Contains(t, out.String(), "since that process started")
		assert.NotContains(t, out.String(), "median", "one run, no median")
	})
}

func TestConfigRefusals(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "give the cmd/local binary"},
		{Config{URL: "http://example.com:3000"}, "want http://127.0.0.1:<port>"},
		{Config{URL: "https://127.0.0.1:3000"}, "want http://127.0.0.1:<port>"},
		{Config{Bin: "x", Events: -1}, "must be positive"},
		{Config{Bin: "x", Subscribers: 1001}, "at most 1000"},
	} {
		_, err := Run(context.Background(), c.cfg)
		assert.ErrorContains(t, err, c.want)
	}
}

func TestReadProc(t *testing.T) {
	st, err := ReadProc(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, st.PeakRSS)
	assert.Positive(t, st.RSS)
	assert.GreaterOrEqual(t, st.PeakRSS, st.RSS)
	_, err = ReadProc(0)
	assert.Error(t, err)
}

func TestListenerPID(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	pid, err := ListenerPID(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), pid)

	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, err = ListenerPID(port)
	assert.ErrorContains(t, err, "nothing listens")
}
