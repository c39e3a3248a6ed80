// Command delivery is the SQS-triggered Lambda: it attempts delivery jobs
// from the DeliveryQueue and fans out events posted to the EventsQueue,
// answering with partial batch failures.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/systemprompt-io/webhooks/internal/app"
	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/config"
)

func main() {
	cfg, err := config.FromEnv()
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err != nil {
		log.Error("delivery: bad configuration", "error", err)
		os.Exit(1)
	}
	clients, err := awsx.New(context.Background(), cfg.Endpoints)
	if err != nil {
		log.Error("delivery: aws clients", "error", err)
		os.Exit(1)
	}
	p, err := app.NewPipeline(cfg, clients, log, nil)
	if err != nil {
		log.Error("delivery: bad configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(p.SQSHandler())
}
