// Package loadtest is `make loadtest` (cmd/loadtest): a load benchmark of the
// local stack. Each run starts the real cmd/local binary as a child process
// (or uses one already running), a receiver on 127.0.0.1, creates webhooks
// subscribed to one event of its own, triggers N events at concurrency C
// through POST /events and reports the API's accept rate, the delivery rate,
// trigger-to-arrival percentiles, the stack process's CPU time per 1,000
// deliveries and peak resident set (from /proc), and whether every delivery
// arrived exactly once (Check).
//
// It is development tooling: it reaches only 127.0.0.1, and every loop is
// bounded by the number of events and by Config.Timeout.
package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"
)

// Defaults of Config, and of `make loadtest`.
const (
	DefaultEvents       = 5000
	DefaultConcurrency  = 16
	DefaultSubscribers  = 1
	DefaultRuns         = 3
	DefaultPayloadBytes = 1024
	DefaultTimeout      = 2 * time.Minute
	DefaultSettle       = time.Second
	DefaultEvent        = "agent.started"
)

// Config says what to run.
type Config struct {
	Events       int // events per run (N)
	Concurrency  int // POST /events in flight (C)
	Subscribers  int // webhooks subscribed to the run's event: deliveries per event
	Runs         int
	PayloadBytes int // size of each event's data
	// Event is the event triggered (default DefaultEvent): one of the
	// catalogue's. On a running stack, its other subscribers are delivered
	// to as well (and cost CPU), but only the run's own are checked.
	Event string

	// URL is a stack already running (e.g. `make run`'s
	// http://127.0.0.1:3000); empty starts Bin afresh for every run.
	URL string
	// PID is URL's process, for its CPU time and memory; 0 finds the
	// process listening on URL's port.
	PID int
	// Bin is the cmd/local binary to start when URL is empty.
	Bin string
	// LogDir receives each started stack's logs (default os.TempDir()).
	LogDir string

	// Timeout bounds a run's triggering and delivering; what has not
	// arrived by then is lost.
	Timeout time.Duration
	// Settle is how long the receiver keeps listening once every delivery
	// has arrived, for late duplicates.
	Settle time.Duration

	Out      io.Writer // the report (default os.Stdout)
	Progress io.Writer // a line per step (nil: quiet)
}

func (c *Config) defaults() error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Events, DefaultEvents)
	def(&c.Concurrency, DefaultConcurrency)
	def(&c.Subscribers, DefaultSubscribers)
	def(&c.Runs, DefaultRuns)
	def(&c.PayloadBytes, DefaultPayloadBytes)
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Event == "" {
		c.Event = DefaultEvent
	}
	if c.LogDir == "" {
		c.LogDir = os.TempDir()
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	switch {
	case c.Events < 0 || c.Concurrency < 0 || c.Subscribers < 0 || c.Runs < 0 || c.PayloadBytes < 0:
		return errors.New("loadtest: events, concurrency, subscribers, runs and payload size must be positive")
	case c.Subscribers > 1000:
		return errors.New("loadtest: at most 1000 subscribers")
	case c.URL == "" && c.Bin == "":
		return errors.New("loadtest: give the cmd/local binary to start, or the URL of a running stack")
	case c.URL != "":
		u, err := url.Parse(c.URL)
		if err != nil || u.Scheme != "http" || !isLoopback(u.Hostname()) {
			return fmt.Errorf("loadtest: URL %q: want http://127.0.0.1:<port>", c.URL)
		}
		c.URL = strings.TrimSuffix(c.URL, "/")
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// Result is one run.
type Result struct {
	Run        int
	Events     int
	Deliveries int // expected: Events × subscribers
	Refused    int // events POST /events did not accept (202 with every delivery)
	// Others are deliveries the service made to webhooks that are not the
	// run's (on a running stack, other subscribers of the event).
	Others  int
	Accept  time.Duration
	Deliver time.Duration // first trigger to last first arrival
	Latency Percentiles   // trigger to first accepted arrival
	// Measured says CPU and PeakRSS were read from /proc.
	Measured bool
	CPU      time.Duration // the stack process's, from the first trigger to the last arrival
	PeakRSS  int64         // its VmHWM at the end of the run
	// DriverCPU is this process's own CPU time (the HTTP client and the
	// receiver) over the same span.
	DriverCPU time.Duration
	Verdict   Verdict
	// TimedOut says the run ended at Config.Timeout with deliveries still
	// missing: slow, not necessarily lost.
	TimedOut bool
	Timeout  time.Duration
}

// Outcome is the exactly-once check's answer as the report gives it.
func (r Result) Outcome() string {
	if r.TimedOut {
		return fmt.Sprintf("timed out after %s: %s", r.Timeout, r.Verdict)
	}
	return r.Verdict.String()
}

// AcceptRate is events accepted per second.
func (r Result) AcceptRate() float64 { return rate(r.Events-r.Refused, r.Accept) }

// DeliveryRate is deliveries per second, first trigger to last arrival.
func (r Result) DeliveryRate() float64 { return rate(r.Verdict.Delivered, r.Deliver) }

// CPUPer1000 is the stack's CPU seconds per 1,000 deliveries.
func (r Result) CPUPer1000() float64 {
	if r.Verdict.Delivered == 0 {
		return 0
	}
	return r.CPU.Seconds() * 1000 / float64(r.Verdict.Delivered)
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// ErrNotExactlyOnce is returned (wrapped) when a run lost or duplicated a
// delivery.
var ErrNotExactlyOnce = errors.New("loadtest: not every delivery arrived exactly once")

// Run runs cfg.Runs runs and writes the report: each run and the median. It
// returns the runs, and ErrNotExactlyOnce if any of them failed the check.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	where := "each on a fresh cmd/local (" + cfg.Bin + "; logs in " + cfg.LogDir + ")"
	if cfg.URL != "" {
		where = "on the running stack at " + cfg.URL
	}
	fmt.Fprintf(cfg.Out, "loadtest: %d events x %d subscriber(s) = %d deliveries per run, concurrency %d, %d-byte data, %d run(s), %s\n",
		cfg.Events, cfg.Subscribers, cfg.Events*cfg.Subscribers, cfg.Concurrency, cfg.PayloadBytes, cfg.Runs, where)
	fmt.Fprintf(cfg.Out, "machine: %d CPUs, load average %s at the start\n", runtime.NumCPU(), loadAverage())

	pid := cfg.PID
	if cfg.URL != "" && pid == 0 {
		if p, err := pidOf(cfg.URL); err != nil {
			fmt.Fprintf(cfg.Out, "stack process: %v; CPU and memory not measured (give its pid)\n", err)
		} else {
			pid = p
		}
	}
	var results []Result
	for i := 1; i <= cfg.Runs; i++ {
		r, err := runOne(ctx, cfg, i, pid)
		if err != nil {
			return results, fmt.Errorf("run %d: %w", i, err)
		}
		results = append(results, r)
	}
	writeTable(cfg.Out, results, cfg.URL != "")
	fmt.Fprintf(cfg.Out, "load average %s at the end\n", loadAverage())
	for _, r := range results {
		if !r.Verdict.OK() || r.Refused > 0 {
			return results, fmt.Errorf("run %d: %w: %s", r.Run, ErrNotExactlyOnce, r.Outcome())
		}
	}
	return results, nil
}

func progress(cfg Config, format string, args ...any) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, format+"\n", args...)
	}
}

// pidOf finds the process serving url on this machine.
func pidOf(rawURL string) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return 0, fmt.Errorf("loadtest: no port in %s", rawURL)
	}
	return ListenerPID(port)
}

// runOne is one run: on a stack of its own unless cfg.URL names one.
func runOne(ctx context.Context, cfg Config, n, pid int) (Result, error) {
	target := cfg.URL
	if target == "" {
		logPath := filepath.Join(cfg.LogDir, fmt.Sprintf("loadtest-local-%d.log", n))
		_ = os.Remove(logPath)
		l, err := StartLocal(ctx, cfg.Bin, logPath)
		if err != nil {
			return Result{}, err
		}
		progress(cfg, "run %d: cmd/local pid %d serving %s", n, l.PID, l.URL)
		defer func() {
			if err := l.Stop(); err != nil {
				progress(cfg, "run %d: stopping cmd/local: %v", n, err)
			}
		}()
		target, pid = l.URL, l.PID
	}
	r, err := measure(ctx, cfg, n, target, pid)
	if err == nil {
		progress(cfg, "run %d: %d events accepted in %s; %d deliveries in %s, exactly once: %s; this process %.2f CPU-s per 1,000",
			n, r.Events-r.Refused, r.Accept.Round(time.Millisecond), r.Verdict.Delivered, r.Deliver.Round(time.Millisecond), r.Outcome(),
			r.DriverCPU.Seconds()*1000/float64(max(r.Verdict.Delivered, 1)))
	}
	return r, err
}

// api is a client of the service's HTTP API.
type api struct {
	base   string
	client *http.Client
}

// do sends body as JSON and decodes the answer into out (may be nil).
func (a *api) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, nil
}

// secret signs the run's webhooks (auth_type hmac, as a typical subscriber).
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// measure triggers the run's events on the stack at target and waits for
// their deliveries.
func measure(ctx context.Context, cfg Config, n int, target string, pid int) (Result, error) {
	res := Result{Run: n, Events: cfg.Events, Deliveries: cfg.Events * cfg.Subscribers, Timeout: cfg.Timeout}
	run, err := randHex()
	if err != nil {
		return res, err
	}
	recv, err := newReceiver(run)
	if err != nil {
		return res, err
	}
	defer recv.close()
	a := &api{base: target, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency + 1, IdleConnTimeout: time.Minute},
	}}
	defer a.client.CloseIdleConnections()

	event := cfg.Event
	ids, err := createWebhooks(ctx, a, cfg.Subscribers, run, event, recv.URL)
	defer deleteWebhooks(context.WithoutCancel(ctx), a, ids)
	if err != nil {
		return res, err
	}
	recv.expect(cfg.Events, ids)
	bodies, err := eventBodies(cfg.Events, cfg.PayloadBytes, run, event)
	if err != nil {
		return res, err
	}

	rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var before, after ProcStat
	if pid > 0 {
		if before, err = ReadProc(pid); err != nil {
			return res, err
		}
	}
	self0, _ := ReadProc(os.Getpid())
	sent := make([]time.Time, cfg.Events)
	var (
		next    atomic.Int64
		refused atomic.Int64
		made    atomic.Int64
		once    sync.Once
		refusal string
	)
	t0 := time.Now()
	g, gctx := errgroup.WithContext(rctx)
	for range cfg.Concurrency {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Events {
					return nil
				}
				var ans struct {
					EventID    string `json:"event_id"`
					Deliveries int    `json:"deliveries"`
				}
				sent[i] = time.Now()
				code, err := a.do(gctx, http.MethodPost, "/events", bodies[i], &ans)
				if err != nil {
					return fmt.Errorf("POST /events: %w", err)
				}
				made.Add(int64(ans.Deliveries))
				if code != http.StatusAccepted || ans.Deliveries < cfg.Subscribers {
					refused.Add(1)
					once.Do(func() { refusal = fmt.Sprintf("event %d: %d, %d deliveries", i, code, ans.Deliveries) })
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.Accept = time.Since(t0)
	res.Refused = int(refused.Load())
	res.Others = max(int(made.Load())-res.Deliveries, 0)
	if res.Others > 0 {
		progress(cfg, "run %d: %d more deliveries to other subscribers of %s (in the CPU figures, not checked)", n, res.Others, event)
	}
	if res.Refused > 0 {
		progress(cfg, "run %d: %d events refused, the first: %s", n, res.Refused, refusal)
	}

	select {
	case <-recv.done:
	case <-rctx.Done():
		res.TimedOut = true
		progress(cfg, "run %d: not every delivery arrived within %s", n, cfg.Timeout)
	}
	// The figures stop here: the settle time is idle polling.
	if pid > 0 {
		if after, err = ReadProc(pid); err != nil {
			return res, err
		}
		res.Measured, res.CPU, res.PeakRSS = true, after.CPU-before.CPU, after.PeakRSS
	}
	self1, _ := ReadProc(os.Getpid())
	res.DriverCPU = self1.CPU - self0.CPU
	select {
	case <-time.After(cfg.Settle):
	case <-ctx.Done():
	}
	res.Verdict = Check(sent, ids, recv.snapshot())
	res.Latency = percentiles(res.Verdict.Latencies)
	if !res.Verdict.Last.IsZero() {
		res.Deliver = res.Verdict.Last.Sub(t0)
	}
	return res, ctx.Err()
}

func createWebhooks(ctx context.Context, a *api, n int, run, event, target string) ([]string, error) {
	ids := make([]string, 0, n)
	for i := range n {
		body, err := json.Marshal(map[string]any{
			"name": fmt.Sprintf("loadtest-%s-%d", run, i), "url": target, "events": []string{event},
			"auth_type": "hmac", "auth_credentials": map[string]string{"secret": secret},
		})
		if err != nil {
			return ids, err
		}
		var out struct {
			ID    string          `json:"id"`
			Error json.RawMessage `json:"error"`
		}
		code, err := a.do(ctx, http.MethodPost, "/webhooks", body, &out)
		if err != nil {
			return ids, err
		}
		if code != http.StatusCreated {
			return ids, fmt.Errorf("create webhook %d: %d %s", i, code, out.Error)
		}
		ids = append(ids, out.ID)
	}
	return ids, nil
}

// deleteWebhooks removes a run's webhooks, so a running stack is left as it
// was found (but for the deliveries' records).
func deleteWebhooks(ctx context.Context, a *api, ids []string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, id := range ids {
		_, _ = a.do(ctx, http.MethodDelete, "/webhooks/"+id, nil, nil)
	}
}

// eventBodies builds the POST /events bodies up front, out of the measured
// time: data {"run", "seq", "pad"} of size bytes.
func eventBodies(n, size int, run, event string) ([][]byte, error) {
	out := make([][]byte, n)
	for i := range out {
		head := fmt.Sprintf(`{"run":%q,"seq":%d,"pad":"`, run, i)
		data := head + strings.Repeat("x", max(size-len(head)-2, 0)) + `"}`
		b, err := json.Marshal(map[string]any{"event": event, "data": json.RawMessage(data)})
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func randHex() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// loadAverage is /proc/loadavg's first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// writeTable prints the runs and, for more than one, their medians.
func writeTable(w io.Writer, rs []Result, running bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\taccept/s\tdeliver/s\tp50\tp90\tp99\tmax\tCPU-s/1k\tpeak RSS\texactly once\t")
	for _, r := range rs {
		cpu, rss := "n/a", "n/a"
		if r.Measured {
			cpu, rss = fmt.Sprintf("%.2f", r.CPUPer1000()), mib(r.PeakRSS)
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Run, r.AcceptRate(), r.DeliveryRate(),
			ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99), ms(r.Latency.Max), cpu, rss, r.Outcome())
	}
	if len(rs) > 1 {
		m := func(f func(Result) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			return median(v)
		}
		d := func(f func(Result) time.Duration) time.Duration {
			return time.Duration(m(func(r Result) float64 { return float64(f(r)) }))
		}
		cpu, rss := "n/a", "n/a"
		if rs[0].Measured {
			cpu, rss = fmt.Sprintf("%.2f", m(Result.CPUPer1000)), mib(int64(m(func(r Result) float64 { return float64(r.PeakRSS) })))
		}
		ok := 0
		for _, r := range rs {
			if r.Verdict.OK() {
				ok++
			}
		}
		fmt.Fprintf(tw, "median\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%d of %d runs ok\t\n", m(Result.AcceptRate), m(Result.DeliveryRate),
			ms(d(func(r Result) time.Duration { return r.Latency.P50 })), ms(d(func(r Result) time.Duration { return r.Latency.P90 })),
			ms(d(func(r Result) time.Duration { return r.Latency.P99 })), ms(d(func(r Result) time.Duration { return r.Latency.Max })),
			cpu, rss, ok, len(rs))
	}
	tw.Flush()
	fmt.Fprintln(w, "accept/s: events POST /events accepted per second; deliver/s: deliveries per second from the first trigger to the last arrival;")
	fmt.Fprintln(w, "p50..max: trigger (the POST sent) to first arrival; CPU-s/1k: the stack process's user+system CPU seconds per 1,000 deliveries")
	peak := "its VmHWM"
	if running {
		peak += ", since that process started"
	}
	fmt.Fprintf(w, "over the same span (/proc/<pid>/stat); peak RSS: %s (/proc/<pid>/status).\n", peak)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
