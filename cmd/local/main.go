// Command local is `make run`: the whole service in one process, with an
// embedded AWS emulator instead of an AWS account. It serves the API on
// 127.0.0.1:$PORT (default 3000) with private targets allowed, so a receiver
// on localhost works.
//
// With -emulator (`make emulator`, `make sam-api`) it runs the emulator
// alone on $EMULATOR_HOST:$EMULATOR_PORT (default 127.0.0.1:4566), with the
// same tables, queues and key, and prints the environment a function needs
// to use it; -env-vars writes that environment as a `sam local --env-vars`
// file, and -invoke feeds the queues and the cleanup schedule to the
// functions `sam local start-lambda` serves.
//
// Both keep their state in $WEBHOOKS_DATA_DIR (default .cache/local/data)
// across restarts, or in memory with WEBHOOKS_DATA_DIR=memory.
//
//	local [-emulator [-env-vars FILE] [-invoke URL]]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/systemprompt-io/webhooks/internal/app"
	"github.com/systemprompt-io/webhooks/internal/cleanup"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/console"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/httpapi"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// DefaultPort is where the API listens unless PORT says otherwise, and
// DefaultEmulatorPort where -emulator serves unless EMULATOR_PORT does.
const (
	DefaultPort         = 3000
	DefaultEmulatorPort = 4566
)

// shutdownGrace bounds how long requests in flight may finish on shutdown,
// and saveGrace how long the emulator may take to save its state.
const (
	shutdownGrace = 10 * time.Second
	saveGrace     = 10 * time.Second
)

// The functions -invoke calls, by their logical ids in template.yaml.
const (
	deliveryFunction = "DeliveryFunction"
	cleanupFunction  = "CleanupFunction"
)

func main() {
	if err := localMain(os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func localMain(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	m, err := parseMode(args, stderr)
	if err != nil {
		return err
	}
	// First: the emulator reads its data directory when the process starts,
	// so this may start the program again with it set.
	dir, err := localaws.DataDir(getenv("WEBHOOKS_DATA_DIR"))
	if err != nil {
		return err
	}
	if err := localaws.Persist(dir); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if m.emulator {
		return emulate(ctx, m, getenv, stdout, stderr, nil)
	}
	return run(ctx, getenv, stdout, stderr, nil)
}

// mode is what the command line asks for.
type mode struct {
	emulator bool   // only the emulator
	envVars  string // file to write the functions' environment to (sam local --env-vars)
	invoke   string // Lambda Invoke endpoint of the functions to feed (sam local start-lambda)
}

func parseMode(args []string, stderr io.Writer) (mode, error) {
	var m mode
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&m.emulator, "emulator", false, "run only the AWS emulator, on $EMULATOR_HOST:$EMULATOR_PORT (default 127.0.0.1:4566)")
	fs.StringVar(&m.envVars, "env-vars", "", "with -emulator: write the functions' environment to `FILE`, as sam local --env-vars reads it")
	fs.StringVar(&m.invoke, "invoke", "", "with -emulator: feed the queues and the cleanup schedule to the functions at this Lambda endpoint (`URL` of sam local start-lambda)")
	if err := fs.Parse(args); err != nil {
		return m, err
	}
	switch {
	case fs.NArg() > 0:
		return m, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case !m.emulator && (m.envVars != "" || m.invoke != ""):
		return m, errors.New("-env-vars and -invoke go with -emulator")
	}
	return m, nil
}

// localEnv is the environment with the local server's own defaults:
// private targets are allowed unless ALLOW_PRIVATE_TARGETS says otherwise.
func localEnv(getenv func(string) string) func(string) string {
	return func(k string) string {
		if v := getenv(k); v != "" || k != "ALLOW_PRIVATE_TARGETS" {
			return v
		}
		return "true"
	}
}

// run listens, starts the local stack, serves the API until ctx ends, then
// shuts down gracefully. Logs are JSON on stderr; what was started is told
// on stdout. ready, when set, is called with the API's URL once it serves.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, ready func(url string)) error {
	cfg, err := config.Parse(localEnv(getenv))
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err != nil {
		return err
	}
	port, err := parsePort("PORT", getenv("PORT"), DefaultPort)
	if err != nil {
		return err
	}
	so, err := stackOptions(getenv, cfg, log, 0)
	if err != nil {
		return err
	}
	pollers, err := parsePollers(getenv("WEBHOOKS_POLLERS"))
	maxDeliveries, err := parseMaxDeliveries(getenv("LOCAL_MAX_DELIVERIES"))
	if err != nil {
		return err
	}
	stopPprof, err := servePprof(getenv("WEBHOOKS_PPROF"), log)
	if err != nil {
		return err
	}
	defer stopPprof()

	// Listen first: a taken port fails at once, and /healthz answers 503
	// while the stack starts.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", port, err)
	}
	var handler atomic.Pointer[http.Handler]
	starting := http.Handler(http.HandlerFunc(startingHandler))
	handler.Store(&starting)
	srv := &http.Server{
		Handler:           withConsole(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) })),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	baseURL := "http://" + ln.Addr().String()

	cfg, err = start(ctx, cfg, so, pollers, maxDeliveries, log, &handler)
	if err == nil {
		printBanner(stdout, baseURL, cfg, so.DataDir, maxDeliveries)
		log.Info("serving", "url", baseURL, "allow_private_targets", cfg.AllowPrivate)
		if ready != nil {
			ready(baseURL)
		}
		select {
		case <-ctx.Done():
		case err = <-served:
		}
	}

	log.Info("shutting down")
	var bg stopper
	var stack shutdowner
	if s := stackOf(&handler); s != nil {
		bg, stack = s.background, s.stack
	}
	if serr := shutdown(context.WithoutCancel(ctx), bg, srv, stack); serr != nil {
		err = errors.Join(err, serr)
	}
	if errors.Is(err, http.ErrServerClosed) || ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil // stopped on purpose, even while starting
	}
	return err
}

type stopper interface{ Stop() }

type shutdowner interface {
	Shutdown(context.Context) error
}

// shutdown stops what runs, in this order, each part only when set: the
// background work first (its pollers receive no new batch, the batches in
// flight finish), so that nothing more is delivered while the API drains;
// then the API server (requests in flight get shutdownGrace); then the
// stack (its state saved when it keeps it, within saveGrace). What was not
// processed stays queued.
func shutdown(ctx context.Context, bg stopper, srv, stack shutdowner) error {
	var errs []error
	if bg != nil {
		bg.Stop()
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(ctx, shutdownGrace)
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		cancel()
	}
	if stack != nil {
		sctx, cancel := context.WithTimeout(ctx, saveGrace)
		if err := stack.Shutdown(sctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	return errors.Join(errs...)
}

// stackOptions are the local stack's: its tables from cfg, its data
// directory from WEBHOOKS_DATA_DIR, and the emulator's address from
// EMULATOR_HOST and EMULATOR_PORT; with neither set and defaultPort 0 the
// emulator takes a free loopback port.
func stackOptions(getenv func(string) string, cfg config.Config, log *slog.Logger, defaultPort int) (localaws.Options, error) {
	o := localaws.Options{
		Tables: store.Tables{Webhooks: cfg.WebhooksTable, Deliveries: cfg.DeliveriesTable},
		// The operational events' bus, created on the emulator unless it is
		// the default one.
		OperationsBus: cfg.OperationsBus,
		Logger:        log,
	}
	var err error
	if o.DataDir, err = localaws.DataDir(getenv("WEBHOOKS_DATA_DIR")); err != nil {
		return o, err
	}
	host, p := strings.TrimSpace(getenv("EMULATOR_HOST")), getenv("EMULATOR_PORT")
	if host == "" && strings.TrimSpace(p) == "" && defaultPort == 0 {
		return o, nil
	}
	if host == "" {
		host = "127.0.0.1"
	}
	port, err := parsePort("EMULATOR_PORT", p, defaultPort)
	if err != nil {
		return o, err
	}
	o.Listen = net.JoinHostPort(host, strconv.Itoa(port))
	return o, nil
}

// stacked is the served handler once the stack is up, keeping the stack and
// its background work so shutdown can stop them after the server.
type stacked struct {
	http.Handler
	stack      *localaws.Stack
	background *localaws.Background
}

func stackOf(h *atomic.Pointer[http.Handler]) *stacked {
	if s, ok := (*h.Load()).(stacked); ok {
		return &s
	}
	return nil
}

// start brings up the local stack (emulator, tables, queues, key), the
// pipeline with its event source mappings and cleanup schedule, and swaps
// the API in for the starting handler. Its config replaces cfg's.
func start(ctx context.Context, cfg config.Config, so localaws.Options, pollers, maxDeliveries int, log *slog.Logger, handler *atomic.Pointer[http.Handler]) (config.Config, error) {
	stack, err := localaws.Start(ctx, so)
	if err != nil {
		return cfg, err
	}
	cfg = stack.Config(cfg)
	p, err := app.NewPipeline(cfg, stack.Clients, log, nil)
	if err != nil {
		stack.Close()
		return cfg, err
	}
	sweeper := cleanup.New(store.New(stack.Clients.DynamoDB, store.Tables{Webhooks: cfg.WebhooksTable, Deliveries: cfg.DeliveriesTable}))
	// No grace: locally the sweep alone makes retention take effect at once
	// (the emulator's TTL reaper, if any, is no cost to save).
	sweeper.GraceDays = 0
	sweeper.Logger = log
	sweep := cleanup.Handler(sweeper, cfg.RetentionDays)
	tr := &trimmer{store: p.Store, max: maxDeliveries, log: log}
	cleanupFn, cleanupEvery := tr.every(time.Now(), cfg.CleanupInterval, func(ctx context.Context, ev events.EventBridgeEvent) error {
		_, err := sweep(ctx, ev)
		return err
	})
	bg, err := stack.StartBackground(localaws.Functions{
		Delivery:     p.SQSHandler(),
		Cleanup:      cleanupFn,
		CleanupEvery: cleanupEvery,
		Pollers:      pollers,
		Logger:       log,
	})
	if err != nil {
		stack.Close()
		return cfg, err
	}
	opts, err := app.APIOptions(cfg, p, log)
	if err != nil {
		bg.Stop()
		stack.Close()
		return cfg, err
	}
	opts.Health = stack.Ready
	h, err := httpapi.New(opts)
	if err != nil {
		bg.Stop()
		stack.Close()
		return cfg, err
	}
	var served http.Handler = stacked{Handler: h, stack: stack, background: bg}
	handler.Store(&served)
	return cfg, nil
}

// withConsole serves the operator console at /console/ beside the API.
func withConsole(api http.Handler) http.Handler {
	ui := console.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if console.Handles(r.URL.Path) {
			ui.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// startingHandler answers while the stack starts: 503 for everything.
func startingHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "1")
	if r.URL.Path == "/healthz" {
		httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return
	}
	httpapi.WriteError(w, r, nil, webhook.Errorf(webhook.EUnavailable, "the local stack is starting; retry in a moment"))
}

func parsePort(name, s string, def int) (int, error) {
	if s = strings.TrimSpace(s); s == "" {
		return def, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("%s=%q: want a port number from 0 to 65535", name, s)
	}
	return p, nil
}

// parsePollers reads WEBHOOKS_POLLERS: batches in flight per queue, 1 to
// 50 (empty: the local stack's 2; AWS starts 5 per queue).
func parsePollers(s string) (int, error) {
	if s = strings.TrimSpace(s); s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 50 {
		return 0, fmt.Errorf("WEBHOOKS_POLLERS=%q: want a whole number from 1 to 50", s)
	}
	return n, nil
}

// dataLine tells where the state is kept.
func dataLine(dir string) string {
	if dir == "" {
		return "in memory (WEBHOOKS_DATA_DIR=memory), gone on exit"
	}
	return dir + " (kept across restarts; make reset empties it)"
}

func printBanner(w io.Writer, url string, cfg config.Config, dataDir string, maxDeliveries int) {
	private := "refused (ALLOW_PRIVATE_TARGETS=false)"
	if cfg.AllowPrivate {
		private = "allowed, so a receiver on localhost works"
	}
	fmt.Fprintf(w, `webhooks: local server
  API              %[1]s   (GET %[1]s/healthz)
  console          %[1]s/console/
  AWS stand-in     %[2]s   (embedded DynamoDB, SQS and KMS)
  data             %[12]s
  tables           %[3]s, %[4]s
  queues           %[8]s, %[9]s (polled here, as Lambda's SQS triggers would)
  KMS key          %[5]s (%[7]s)
  private targets  %[6]s
  cleanup          every %[10]s, keeping %[11]d days; %[13]s

try:
  curl -s -X POST %[1]s/webhooks -H 'Content-Type: application/json' \
    -d '{"name":"local","url":"http://127.0.0.1:9000/hook","events":["custom"],"auth_type":"hmac"}'
  curl -s %[1]s/webhooks
  curl -s -X POST %[1]s/events -H 'Content-Type: application/json' \
    -d '{"event":"custom","data":{"message":"hello"}}'
  curl -s %[1]s/events/types

Ctrl-C stops it.
`, url, cfg.Endpoints.DynamoDB, cfg.WebhooksTable, cfg.DeliveriesTable, cfg.KMSKeyID, private, localaws.DefaultKeyAlias,
		queueName(cfg.DeliveryQueueURL), queueName(cfg.EventsQueueURL), cfg.CleanupInterval, cfg.RetentionDays, dataLine(dataDir), boundLine(maxDeliveries))
}

// queueName is the last path element of a queue URL.
func queueName(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		return u[i+1:]
	}
	return u
}

// servePprof serves net/http/pprof on addr, a loopback address such as
// 127.0.0.1:6060 (WEBHOOKS_PPROF), to profile the local stack; "" serves
// nothing. stop closes it.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("WEBHOOKS_PPROF=%q: want a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("WEBHOOKS_PPROF: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("pprof", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}
