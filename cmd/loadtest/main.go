// Command loadtest is `make loadtest`: a load benchmark of the local stack
// (internal/devtools/loadtest; docs/cost.md). It starts the cmd/local binary
// given by --bin afresh for every run, or uses the stack at --url, sends
// events through POST /events to webhooks on a loopback receiver and prints
// the rates, latencies, CPU time and memory of the stack, and whether every
// delivery arrived exactly once. It exits 1 if one did not.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/systemprompt-io/webhooks/internal/devtools/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := command().ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}

func command() *cobra.Command {
	var (
		cfg      loadtest.Config
		progress bool
	)
	cmd := &cobra.Command{
		Use:          "loadtest",
		Short:        "Load-test the local stack: rates, latencies, CPU and memory, exactly-once",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = cmd.OutOrStdout()
			if progress {
				cfg.Progress = cmd.ErrOrStderr()
			}
			_, err := loadtest.Run(cmd.Context(), cfg)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVarP(&cfg.Events, "events", "n", loadtest.DefaultEvents, "events per run")
	f.IntVarP(&cfg.Concurrency, "concurrency", "c", loadtest.DefaultConcurrency, "POST /events in flight")
	f.IntVar(&cfg.Subscribers, "subscribers", loadtest.DefaultSubscribers, "webhooks subscribed to each run's event")
	f.IntVar(&cfg.Runs, "runs", loadtest.DefaultRuns, "runs; the report gives each and the median")
	f.IntVar(&cfg.PayloadBytes, "payload", loadtest.DefaultPayloadBytes, "bytes of each event's data")
	f.StringVar(&cfg.Event, "event", loadtest.DefaultEvent, "the event triggered (one of GET /events/types)")
	f.StringVar(&cfg.Bin, "bin", "", "the cmd/local binary to start for each run")
	f.StringVar(&cfg.URL, "url", "", "use the stack running at this URL (http://127.0.0.1:PORT) instead of starting one")
	f.IntVar(&cfg.PID, "pid", 0, "with --url: its process id (default: the process listening on its port)")
	f.StringVar(&cfg.LogDir, "log-dir", "", "where the started stacks' logs go (default: the temporary directory)")
	f.DurationVar(&cfg.Timeout, "timeout", loadtest.DefaultTimeout, "bound on one run's triggering and delivering")
	f.DurationVar(&cfg.Settle, "settle", loadtest.DefaultSettle, "how long to listen for late duplicates after the last delivery")
	f.BoolVar(&progress, "progress", true, "report progress on stderr")
	cmd.MarkFlagsMutuallyExclusive("bin", "url")
	cmd.AddCommand(isolationCommand())
	return cmd
}

// isolationCommand is `loadtest isolation`: a healthy webhook's latency
// alone and beside one whose endpoint hangs past its timeout.
func isolationCommand() *cobra.Command {
	var (
		cfg      loadtest.IsolationConfig
		progress bool
	)
	cmd := &cobra.Command{
		Use:          "isolation",
		Short:        "A healthy webhook's trigger-to-arrival latency alone and beside one that times out",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = cmd.OutOrStdout()
			if progress {
				cfg.Progress = cmd.ErrOrStderr()
			}
			_, err := loadtest.RunIsolation(cmd.Context(), cfg)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Rate, "rate", 100, "events per second")
	f.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long events are sent")
	f.DurationVar(&cfg.BadDelay, "bad-delay", 10*time.Second, "how long the bad endpoint takes to answer")
	f.DurationVar(&cfg.BadTimeout, "bad-timeout", 5*time.Second, "the bad webhook's timeout")
	f.DurationVar(&cfg.Drain, "drain", time.Minute, "how long to wait for the healthy deliveries once sent")
	f.StringVar(&cfg.Bin, "bin", "", "the cmd/local binary to start for each scenario")
	f.IntVar(&cfg.Pollers, "pollers", 0, "batches in flight per queue in the local stack (WEBHOOKS_POLLERS; 0: its 2; AWS starts 5)")
	f.StringVar(&cfg.LogDir, "log-dir", "", "where the started stacks' logs go (default: the temporary directory)")
	f.BoolVar(&progress, "progress", true, "report progress on stderr")
	return cmd
}
