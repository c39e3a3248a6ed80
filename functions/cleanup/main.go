// Command cleanup is the scheduled Lambda that deletes the delivery records
// older than RETENTION_DAYS + CLEANUP_GRACE_DAYS that DynamoDB's TTL left in
// TABLE_DELIVERIES, webhook by webhook of TABLE_WEBHOOKS (internal/cleanup).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/cleanup"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/store"
)

func main() {
	cfg, err := config.FromEnv()
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err == nil {
		err = cfg.Require("TABLE_WEBHOOKS", "TABLE_DELIVERIES")
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
	sweeper := cleanup.New(store.New(clients.DynamoDB, store.Tables{Webhooks: cfg.WebhooksTable, Deliveries: cfg.DeliveriesTable}))
	sweeper.GraceDays = cfg.CleanupGraceDays
	sweeper.Logger = log
	lambda.Start(cleanup.Handler(sweeper, cfg.RetentionDays))
}
