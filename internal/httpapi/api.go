// Package httpapi is the service's HTTP surface: a plain net/http handler for the
// management calls (and, once its service is plugged in, the trigger calls).
// The API Lambda adapts API Gateway events to it and the local server serves
// it directly, so both answer the same way.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/manage"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Webhooks is the webhook management the API serves (implemented by
// *manage.Service, which documents each use case). Members are a request
// body's members, still encoded; a version of 0 names none.
type Webhooks interface {
	Create(ctx context.Context, in manage.Members) (w *webhook.Webhook, reveal map[string]string, err error)
	Get(ctx context.Context, id string) (*webhook.Webhook, error)
	List(ctx context.Context, f webhook.ListFilter) (webhook.Page[*webhook.Webhook], error)
	Patch(ctx context.Context, id string, in manage.Members, version int64) (w *webhook.Webhook, reveal map[string]string, err error)
	Delete(ctx context.Context, id string, version int64) error
	Pause(ctx context.Context, id string, hold bool) (*webhook.Webhook, error)
	Resume(ctx context.Context, id string) (*webhook.Webhook, error)
	Stats(ctx context.Context, id string) (webhook.Stats, error)
	StatsSeries(ctx context.Context, id string, window time.Duration) (webhook.Stats, []webhook.HourStats, error)
	Test(ctx context.Context, id string) (*delivery.TestResult, error)
	TestFilter(ctx context.Context, id string, ev manage.FilterEvent) (bool, error)
	Retry(ctx context.Context, webhookID, deliveryID string) (*webhook.Delivery, error)
	RotateSecret(ctx context.Context, id string, in manage.Members, version int64) (w *webhook.Webhook, reveal map[string]string, err error)
}

// Triggerer fans an event out to its subscribers: POST /events
// (implemented by *trigger.Service). While Options.Triggerer is nil that
// route answers 404.
type Triggerer interface {
	Trigger(ctx context.Context, r webhook.TriggerRequest) (webhook.TriggerResult, error)
}

// Deliveries reads a webhook's delivery history: GET
// /webhooks/{id}/deliveries and /webhooks/{id}/deliveries/{delivery_id}
// (implemented by *store.Store). While Options.Deliveries is nil those routes
// answer 404.
type Deliveries interface {
	ListDeliveries(ctx context.Context, webhookID string, f webhook.DeliveryFilter) (webhook.Page[*webhook.Delivery], error)
	GetDelivery(ctx context.Context, webhookID, id string) (*webhook.Delivery, error)
}

// Options are the API's dependencies and settings.
type Options struct {
	Webhooks   Webhooks   // required: the management routes, test sends and manual retries
	Triggerer  Triggerer  // optional: POST /events
	Deliveries Deliveries // optional: the delivery history routes
	Recoveries Recoveries // optional: bulk recovery (recover.go)

	// Batcher is optional: POST /events/batch.
	Batcher BatchTriggerer

	Logger *slog.Logger     // default: discard
	Clock  func() time.Time // times the access log; default time.Now

	// Health reports whether the service can serve; GET /healthz answers 503
	// while it returns an error. Nil means always healthy.
	Health func(context.Context) error
}

// server holds the handlers' dependencies.
type server struct {
	Options
	log *slog.Logger
}

// New returns the API handler.
func New(o Options) (http.Handler, error) {
	if o.Webhooks == nil {
		return nil, errors.New("httpapi: Options.Webhooks is required")
	}
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	a := &server{Options: o, log: o.Logger}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /events/types", a.eventTypes)
	mux.HandleFunc("POST /webhooks", a.createWebhook)
	mux.HandleFunc("GET /webhooks", a.listWebhooks)
	mux.HandleFunc("GET /webhooks/{id}", a.getWebhook)
	mux.HandleFunc("PATCH /webhooks/{id}", a.patchWebhook)
	mux.HandleFunc("DELETE /webhooks/{id}", a.deleteWebhook)
	mux.HandleFunc("POST /webhooks/{id}/pause", a.pause)
	mux.HandleFunc("POST /webhooks/{id}/resume", a.setStatus(a.Webhooks.Resume))
	mux.HandleFunc("GET /webhooks/{id}/stats", a.stats)
	mux.HandleFunc("GET /openapi.json", a.openAPI)
	if o.Triggerer != nil {
		mux.HandleFunc("POST /events", a.triggerEvent)
	}
	if o.Batcher != nil {
		mux.HandleFunc("POST /events/batch", a.triggerBatch)
	}
	if o.Deliveries != nil {
		mux.HandleFunc("GET /webhooks/{id}/deliveries", a.listDeliveries)
		mux.HandleFunc("GET /webhooks/{id}/deliveries/{delivery_id}", a.getDelivery)
	}
	mux.HandleFunc("POST /webhooks/{id}/test", a.testWebhook)
	mux.HandleFunc("POST /webhooks/{id}/rotate-secret", a.rotateSecret)
	mux.HandleFunc("POST /webhooks/{id}/filter/test", a.testFilter)
	mux.HandleFunc("POST /webhooks/{id}/deliveries/{delivery_id}/retry", a.retryDelivery)
	if o.Recoveries != nil {
		mux.HandleFunc("POST /webhooks/{id}/recover", a.recoverWebhook)
		mux.HandleFunc("GET /webhooks/{id}/recoveries/{recovery_id}", a.getRecovery)
	}
	return a.middleware(mux), nil
}

// WriteError answers with err as the API's error JSON, for handlers outside
// the API that must answer the same way (the local server while it starts).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if log == nil {
		log = discardLogger()
	}
	(&server{log: log}).writeError(w, r, err)
}

// WriteJSON answers with v as JSON and the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// decodeJSON reads the request body into v with the API's rules: one JSON
// object of at most webhook.MaxBodyBytes (ETooLarge beyond), nothing after
// it, strict JSON (jsonx: member names exactly v's, once each), type errors
// naming their field.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	if err := jsonx.Unmarshal(raw, v); err != nil {
		return jsonError(err)
	}
	return nil
}

func (a *server) healthz(w http.ResponseWriter, r *http.Request) {
	if a.Health != nil {
		if err := a.Health(r.Context()); err != nil {
			a.log.WarnContext(r.Context(), "not healthy", "request_id", requestID(r.Context()), "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *server) eventTypes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Items []webhook.EventType `json:"items"`
	}{webhook.EventTypes()})
}
