// Command cost is `make cost`: it runs first-attempt deliveries of a 1 KB
// payload through the real handlers on the reference stand-ins (moto's
// DynamoDB and ElasticMQ, as `make test` starts them; KMS embedded), counts
// every AWS request, SQS chunk and DynamoDB capacity unit, and prices them
// per million deliveries (internal/devtools/bench/cost; docs/cost.md).
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/devtools/bench/cost"
)

func main() {
	if err := command().Execute(); err != nil {
		os.Exit(1)
	}
}

func command() *cobra.Command {
	var (
		n        int
		tpl      string
		latency  time.Duration
		paths    []string
		progress bool
		grace    int
	)
	cmd := &cobra.Command{
		Use:           "cost",
		Short:         "Measure and price first-attempt deliveries per million",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: false,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			mem, err := cost.MemoryFromTemplate(tpl)
			if err != nil {
				return err
			}
			selected, err := pick(paths)
			if err != nil {
				return err
			}
			b, err := cost.BackendFromEnv(ctx, os.Getenv)
			if err != nil {
				return err
			}
			defer b.Close()
			cfg := cost.Config{N: n, Clients: b.Clients, Memory: mem, Paths: selected, SweepGrace: grace}
			if progress {
				cfg.Progress = cmd.ErrOrStderr()
			}
			results, err := cost.Run(ctx, cfg)
			if err != nil {
				return err
			}
			cost.Write(cmd.OutOrStdout(), cost.Setup{N: n, Backend: b.Description, Memory: mem, Latency: latency,
				Capacity: cost.CapacityNote(b.Reference)}, results, cost.ListPrices)
			return nil
		},
	}
	cmd.Flags().IntVarP(&n, "deliveries", "n", 2000, "deliveries per path")
	cmd.Flags().IntVar(&grace, "sweep-grace", config.DefaultCleanupGrace,
		"the cleanup sweep's grace in days: the deployed default lets TTL delete first (free); 0 sweeps everything (as if TTL deleted nothing)")
	cmd.Flags().StringVar(&tpl, "template", "template.yaml", "SAM template to read the functions' memory sizes from")
	cmd.Flags().DurationVar(&latency, "latency", 100*time.Millisecond, "endpoint latency assumed in the second column")
	cmd.Flags().StringSliceVar(&paths, "path", nil, "paths to run (default all): "+strings.Join(names(), ", "))
	cmd.Flags().BoolVar(&progress, "progress", true, "report progress on stderr")
	cmd.SetContext(context.Background())
	return cmd
}

func names() []string {
	var out []string
	for _, p := range cost.Paths {
		out = append(out, p.Name)
	}
	return out
}

func pick(want []string) ([]cost.Path, error) {
	if len(want) == 0 {
		return nil, nil
	}
	var out []cost.Path
	for _, w := range want {
		found := false
		for _, p := range cost.Paths {
			if p.Name == w {
				out = append(out, p)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown path %q (known: %s)", w, strings.Join(names(), ", "))
		}
	}
	return out, nil
}
