// Package app wires the API handler from configuration and AWS clients, for
// the API Lambda and the local server alike, and adapts it to API Gateway
// events. Keeping the wiring here keeps functions/api thin and testable.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/systemprompt-io/webhooks/internal/awsx"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/httpapi"
	"github.com/systemprompt-io/webhooks/internal/manage"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/recovery"
	"github.com/systemprompt-io/webhooks/internal/secrets"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/trigger"
)

// Compile-time checks that the concrete types satisfy the API's and the
// webhook service's interfaces.
var (
	_ httpapi.Webhooks   = (*manage.Service)(nil)
	_ httpapi.Triggerer  = (*trigger.Service)(nil)
	_ httpapi.Deliveries = (*store.Store)(nil)
	_ httpapi.Recoveries = (*recovery.Service)(nil)
	_ manage.Store       = (*store.Store)(nil)
	_ manage.Secrets     = (*secrets.KMS)(nil)
	_ manage.Deliveries  = (*store.Store)(nil)
	_ manage.JobSender   = (*queue.Queue)(nil)
	_ manage.Tester      = (*delivery.Attempter)(nil)
	_ manage.Drainer     = (*delivery.Attempter)(nil)
)

var _ httpapi.BatchTriggerer = (*trigger.Service)(nil)

// APIRequires lists the settings the API needs: the trigger enqueues jobs,
// and the test route opens credentials.
var APIRequires = DeliveryRequires

// NewWebhooks returns the webhook management service over the pipeline p:
// its store, KMS secrets, job queue (retries) and attempter (test sends),
// with cfg's private-target and timeout settings.
func NewWebhooks(cfg config.Config, p *Pipeline, log *slog.Logger) (*manage.Service, error) {
	return manage.New(manage.Options{
		Store:          p.Store,
		Secrets:        p.Secrets,
		Mask:           secrets.Mask,
		GenerateSecret: secrets.GenerateHMACSecret,
		Deliveries:     p.Store,
		Jobs:           p.Jobs,
		Tester:         p.Attempter,
		Health:         p.Store,
		Drains:         p.Attempter,
		AllowPrivate:   cfg.AllowPrivate,
		DefaultTimeout: cfg.DefaultTimeout,
		Logger:         log,
	})
}

// APIOptions returns the API options for cfg over the pipeline p: the
// webhook service (NewWebhooks) and p's event side (its trigger service and
// the store's delivery history). Callers may add to them (Health) before
// httpapi.New.
func APIOptions(cfg config.Config, p *Pipeline, log *slog.Logger) (httpapi.Options, error) {
	w, err := NewWebhooks(cfg, p, log)
	if err != nil {
		return httpapi.Options{}, fmt.Errorf("app: %w", err)
	}
	return httpapi.Options{Webhooks: w, Triggerer: p.Triggers, Deliveries: p.Store, Recoveries: p.Recovery, Logger: log, Batcher: p.Triggers}, nil
}

// NewAPI checks cfg and returns the API handler.
func NewAPI(cfg config.Config, clients *awsx.Clients, log *slog.Logger) (http.Handler, error) {
	p, err := NewPipeline(cfg, clients, log, nil)
	if err != nil {
		return nil, err
	}
	opts, err := APIOptions(cfg, p, log)
	if err != nil {
		return nil, err
	}
	h, err := httpapi.New(opts)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	return h, nil
}

// LambdaHandler adapts h to API Gateway HTTP API (payload format 2.0)
// events. API Gateway's request id becomes the API's request id, so logs and
// the X-Request-Id answer match API Gateway's access logs.
func LambdaHandler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && rc.RequestID != "" {
			r.Header.Set(httpapi.RequestIDHeader, rc.RequestID)
		}
		h.ServeHTTP(w, r)
	}))
	return adapter.ProxyWithContext
}
