package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
)

// emulate is -emulator: the local stack's emulator alone on a fixed
// address, until ctx ends. ready, when set, is called with the functions'
// environment once everything is up.
func emulate(ctx context.Context, m mode, getenv func(string) string, stdout, stderr io.Writer, ready func(env map[string]string)) (err error) {
	cfg, err := config.Parse(localEnv(getenv))
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err != nil {
		return err
	}
	so, err := stackOptions(getenv, cfg, log, DefaultEmulatorPort)
	if err != nil {
		return err
	}
	stack, err := localaws.Start(ctx, so)
	if err != nil {
		return err
	}
	var bg *localaws.Background
	defer func() {
		log.Info("shutting down")
		var b stopper
		if bg != nil {
			b = bg
		}
		err = errors.Join(err, shutdown(context.WithoutCancel(ctx), b, nil, stack))
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			err = nil
		}
	}()

	env := stack.Env()
	env["ALLOW_PRIVATE_TARGETS"] = strconv.FormatBool(cfg.AllowPrivate)
	if m.envVars != "" {
		if err := writeEnvVars(m.envVars, env); err != nil {
			return err
		}
	}
	if m.invoke != "" {
		fn := localaws.Invoker{Endpoint: m.invoke}
		bg, err = stack.StartBackground(localaws.Functions{
			Delivery:     fn.SQS(deliveryFunction),
			Cleanup:      fn.Schedule(cleanupFunction),
			CleanupEvery: cfg.CleanupInterval,
			Logger:       log,
		})
		if err != nil {
			return err
		}
	}
	printEmulatorBanner(stdout, m, stack, env, cfg, so.DataDir)
	log.Info("emulating", "endpoint", stack.Endpoint, "invoke", m.invoke)
	if ready != nil {
		ready(env)
	}
	<-ctx.Done()
	return nil
}

// writeEnvVars writes env as a `sam local --env-vars` file: "Parameters"
// apply to every function (sam local sets only the variables the template
// declares).
func writeEnvVars(path string, env map[string]string) error {
	b, err := json.MarshalIndent(map[string]map[string]string{"Parameters": env}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("env-vars: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("env-vars: %w", err)
	}
	return nil
}

func printEmulatorBanner(w io.Writer, m mode, stack *localaws.Stack, env map[string]string, cfg config.Config, dataDir string) {
	fmt.Fprintf(w, `webhooks: local AWS emulator
  endpoint         %s   (embedded DynamoDB, SQS and KMS)
  data             %s
  tables           %s, %s
  queues           %s, %s (with their DLQs)
  KMS key          %s (%s)
`, stack.Endpoint, dataLine(dataDir), stack.Tables.Webhooks, stack.Tables.Deliveries,
		queueName(stack.Queues.DeliveryQueue), queueName(stack.Queues.EventsQueue), stack.KeyID, stack.KeyAlias)
	if m.invoke != "" {
		fmt.Fprintf(w, "  functions        %s: both queues feed %s (as its SQS triggers would), cleanup every %s calls %s\n",
			m.invoke, deliveryFunction, cfg.CleanupInterval, cleanupFunction)
	} else {
		fmt.Fprintln(w, "  functions        none: nothing polls the queues (-invoke URL feeds sam local start-lambda)")
	}
	fmt.Fprintln(w, "\nthe environment a function needs to use it:")
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(w, "  %s=%s\n", k, env[k])
	}
	if m.envVars != "" {
		fmt.Fprintf(w, "(also in %s, for sam local --env-vars)\n", m.envVars)
	}
	fmt.Fprintln(w, "\nCtrl-C stops it.")
}
