package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// IsolationConfig is the isolation benchmark (`make loadtest-isolation`,
// docs/cost.md): events at a steady Rate for Duration to a healthy webhook,
// once alone and once beside a bad neighbour, a webhook whose endpoint
// answers only after BadDelay while its timeout is BadTimeout; it reports
// the healthy webhook's trigger-to-arrival percentiles in both and their
// ratio.
type IsolationConfig struct {
	Rate       int           // events per second (100)
	Duration   time.Duration // how long events are sent (30 s)
	BadDelay   time.Duration // the bad endpoint's answer delay (10 s)
	BadTimeout time.Duration // the bad webhook's timeout_ms (5 s)
	Bin        string        // cmd/local, started afresh for each scenario
	// Pollers is the local event source mapping's batches in flight per
	// queue (WEBHOOKS_POLLERS; 0: the local stack's 2). AWS starts 5.
	Pollers int
	LogDir  string // default os.TempDir()
	// Drain bounds the wait for the healthy webhook's deliveries once the
	// events are sent (60 s); what has not arrived by then is missing.
	Drain    time.Duration
	Out      io.Writer
	Progress io.Writer
}

// IsolationResult is one scenario.
type IsolationResult struct {
	Neighbour bool
	Events    int
	Arrived   int // of the healthy webhook's deliveries
	Latency   Percentiles
	Bad       int64 // requests the bad endpoint received
}

// RunIsolation runs the healthy webhook alone, then beside the bad one, and
// writes the comparison.
func RunIsolation(ctx context.Context, cfg IsolationConfig) ([]IsolationResult, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 100
	}
	if cfg.Duration == 0 {
		cfg.Duration = 30 * time.Second
	}
	if cfg.BadDelay == 0 {
		cfg.BadDelay = 10 * time.Second
	}
	if cfg.BadTimeout == 0 {
		cfg.BadTimeout = 5 * time.Second
	}
	if cfg.Drain == 0 {
		cfg.Drain = time.Minute
	}
	if cfg.LogDir == "" {
		cfg.LogDir = os.TempDir()
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Bin == "" {
		return nil, errors.New("loadtest: isolation: give the cmd/local binary")
	}
	pollers := "2 (the local stack's)"
	if cfg.Pollers > 0 {
		pollers = fmt.Sprint(cfg.Pollers)
	}
	fmt.Fprintf(cfg.Out, "isolation: %d events/s for %s to a healthy webhook, alone and beside one whose endpoint answers after %s (timeout %s); %s pollers per queue\n",
		cfg.Rate, cfg.Duration, cfg.BadDelay, cfg.BadTimeout, pollers)
	var out []IsolationResult
	for _, neighbour := range []bool{false, true} {
		r, err := isolationRun(ctx, cfg, neighbour)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	tw := tabwriter.NewWriter(cfg.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tevents\tarrived\tp50\tp90\tp99\tmax\tbad requests\t")
	for _, r := range out {
		name := "alone"
		if r.Neighbour {
			name = "bad neighbour"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t\n", name, r.Events, r.Arrived,
			ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99), ms(r.Latency.Max), r.Bad)
	}
	tw.Flush()
	if out[0].Latency.P99 > 0 {
		fmt.Fprintf(cfg.Out, "healthy p99 with the bad neighbour / alone: %.2fx (goal: within 1.5x)\n",
			float64(out[1].Latency.P99)/float64(out[0].Latency.P99))
	}
	return out, nil
}

// isolationRun is one scenario on a fresh cmd/local.
func isolationRun(ctx context.Context, cfg IsolationConfig, neighbour bool) (IsolationResult, error) {
	res := IsolationResult{Neighbour: neighbour}
	logPath := filepath.Join(cfg.LogDir, fmt.Sprintf("isolation-local-%t.log", neighbour))
	_ = os.Remove(logPath)
	// In memory: nothing of an earlier run (its webhooks) is there.
	env := []string{"WEBHOOKS_DATA_DIR=memory"}
	if cfg.Pollers > 0 {
		env = append(env, fmt.Sprintf("WEBHOOKS_POLLERS=%d", cfg.Pollers))
	}
	l, err := StartLocal(ctx, cfg.Bin, logPath, env...)
	if err != nil {
		return res, err
	}
	defer func() { _ = l.Stop() }()
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "isolation: neighbour=%t: cmd/local pid %d at %s (logs %s)\n", neighbour, l.PID, l.URL, logPath)
	}

	n := int(cfg.Duration.Seconds() * float64(cfg.Rate))
	res.Events = n
	arrived := make([]time.Time, n)
	var got atomic.Int64
	var mu sync.Mutex
	healthy, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p payload
		_ = json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&p)
		if s := p.Data.Seq; s != nil && *s >= 0 && *s < n {
			mu.Lock()
			if arrived[*s].IsZero() {
				arrived[*s] = time.Now()
				got.Add(1)
			}
			mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		return res, err
	}
	defer healthy.Close()
	var bad atomic.Int64
	slow, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad.Add(1)
		select {
		case <-time.After(cfg.BadDelay):
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		return res, err
	}
	defer slow.Close()

	a := &api{base: l.URL, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}}}
	defer a.client.CloseIdleConnections()
	run, err := randHex()
	if err != nil {
		return res, err
	}
	event := DefaultEvent
	specs := []map[string]any{{"name": "healthy-" + run, "url": healthy.url, "events": []string{event}}}
	if neighbour {
		specs = append(specs, map[string]any{"name": "bad-" + run, "url": slow.url, "events": []string{event},
			"timeout_ms": cfg.BadTimeout.Milliseconds()})
	}
	for _, s := range specs {
		body, _ := json.Marshal(s)
		var created struct {
			Error json.RawMessage `json:"error"`
		}
		if code, err := a.do(ctx, http.MethodPost, "/webhooks", body, &created); err != nil || code != http.StatusCreated {
			return res, fmt.Errorf("loadtest: create webhook: %d %s %v", code, created.Error, err)
		}
	}
	bodies, err := eventBodies(n, 256, run, event)
	if err != nil {
		return res, err
	}

	// A steady rate: event i is sent at start + i/rate, whatever the
	// answers of the earlier ones.
	sent := make([]time.Time, n)
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(cfg.Rate))
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return res, ctx.Err()
			}
		}
		sent[i] = time.Now()
		wg.Go(func() {
			if code, err := a.do(ctx, http.MethodPost, "/events", bodies[i], nil); err != nil || code != http.StatusAccepted {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return res, fmt.Errorf("loadtest: %d of %d POST /events failed", f, n)
	}
	deadline := time.Now().Add(cfg.Drain)
	for got.Load() < int64(n) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for i, at := range arrived {
		if !at.IsZero() {
			lat = append(lat, at.Sub(sent[i]))
		}
	}
	res.Arrived, res.Latency, res.Bad = len(lat), percentiles(lat), bad.Load()
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "isolation: neighbour=%t: %d of %d arrived, p99 %s\n", neighbour, res.Arrived, n, ms(res.Latency.P99))
	}
	return res, nil
}

type server struct {
	url string
	srv *http.Server
}

func (s *server) Close() { _ = s.srv.Close() }

// serve runs h on a free loopback port.
func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{url: "http://" + ln.Addr().String() + "/hook", srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}
