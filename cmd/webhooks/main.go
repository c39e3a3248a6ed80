// Command webhooks is the operator CLI of the webhooks service: the seed's
// `prompt webhooks:*` commands over the HTTP API. See internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/systemprompt-io/webhooks/internal/cli"
)

func main() {
	// SIGTERM too: `webhooks listen` deletes the webhook it created on either.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
