// Command api is the Lambda behind the API Gateway HTTP API (payload format
// 2.0): the internal/httpapi handler, adapted to API Gateway events.
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
		log.Error("api: bad configuration", "error", err)
		os.Exit(1)
	}
	clients, err := awsx.New(context.Background(), cfg.Endpoints)
	if err != nil {
		log.Error("api: aws clients", "error", err)
		os.Exit(1)
	}
	h, err := app.NewAPI(cfg, clients, log)
	if err != nil {
		log.Error("api: bad configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(app.LambdaHandler(h))
}
