// Command cleanup is the scheduled Lambda that deletes delivery records older
// than RETENTION_DAYS from TABLE_DELIVERIES (internal/cleanup).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/guregu/dynamo/v2"

	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/cleanup"
	"github.com/systemprompt-io/webhooks/internal/config"
)

func main() {
	cfg, err := config.FromEnv()
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err == nil {
		err = cfg.Require("TABLE_DELIVERIES")
	}
	if err != nil {
		log.Error("cleanup: bad configuration", "error", err)
		os.Exit(1)
	}
	clients, err := awsx.New(context.Background(), cfg.Endpoints)
	if err != nil {
		log.Error("cleanup: aws clients", "error", err)
		os.Exit(1)
	}
	sweeper := cleanup.New(dynamo.NewFromIface(clients.DynamoDB), cfg.DeliveriesTable)
	sweeper.Logger = log
	lambda.Start(cleanup.Handler(sweeper, cfg.RetentionDays))
}
