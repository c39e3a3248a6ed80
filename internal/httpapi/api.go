// Package httpapi is the service's HTTP surface: a plain net/http handler for the
// management calls (and, once its service is plugged in, the trigger calls).
// The API Lambda adapts API Gateway events to it and the local server serves
// it directly, so both answer the same way.
package httpapi

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Store is the storage the API needs (implemented by *store.Store).
type Store interface {
	CreateWebhook(ctx context.Context, w *webhook.Webhook) error
	GetWebhook(ctx context.Context, id string) (*webhook.Webhook, error)
	ListWebhooks(ctx context.Context, f webhook.ListFilter) (webhook.Page[*webhook.Webhook], error)
	UpdateWebhook(ctx context.Context, w *webhook.Webhook) error
	DeleteWebhook(ctx context.Context, id string) error
	GetStats(ctx context.Context, id string) (webhook.Stats, error)
}

// Secrets seals a webhook's credentials before they are stored and opens them
// again when an update needs them (implemented by *secrets.KMS).
type Secrets interface {
	Seal(ctx context.Context, webhookID string, creds map[string]string) ([]byte, error)
	Open(ctx context.Context, webhookID string, sealed []byte) (map[string]string, error)
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

// Events is the rest of the event side of the API: manual retries and test
// sends (implemented by app.Pipeline over the delivery attempter). While
// Options.Events is nil those routes answer 404.
type Events interface {
	Retry(ctx context.Context, webhookID, deliveryID string) (*webhook.Delivery, error)
	Test(ctx context.Context, webhookID string) (*delivery.TestResult, error)
}

// Options are the API's dependencies and settings.
type Options struct {
	Store      Store      // required
	Secrets    Secrets    // required
	Triggerer  Triggerer  // optional: POST /events
	Deliveries Deliveries // optional: the delivery history routes
	Events     Events     // optional: the retry and test routes

	// Mask returns the shown form of credentials (secrets.Mask); required.
	Mask func(creds map[string]string) map[string]string
	// GenerateSecret makes an HMAC secret for a webhook created with
	// auth_type hmac and no secret (secrets.GenerateHMACSecret); required.
	GenerateSecret func(io.Reader) (string, error)

	Logger         *slog.Logger     // default: discard
	Clock          func() time.Time // default: time.Now
	Rand           io.Reader        // default: crypto/rand.Reader
	AllowPrivate   bool             // ALLOW_PRIVATE_TARGETS
	DefaultTimeout time.Duration    // timeout of a webhook created without one; default 30 s

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
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("httpapi: Options.Store is required"))
	}
	if o.Secrets == nil {
		errs = append(errs, errors.New("httpapi: Options.Secrets is required"))
	}
	if o.Mask == nil {
		errs = append(errs, errors.New("httpapi: Options.Mask is required"))
	}
	if o.GenerateSecret == nil {
		errs = append(errs, errors.New("httpapi: Options.GenerateSecret is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = webhook.DefaultTimeoutMS * time.Millisecond
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
	mux.HandleFunc("POST /webhooks/{id}/pause", a.setStatus(webhook.StatusInactive))
	mux.HandleFunc("POST /webhooks/{id}/resume", a.setStatus(webhook.StatusActive))
	mux.HandleFunc("GET /webhooks/{id}/stats", a.stats)
	mux.HandleFunc("GET /openapi.json", a.openAPI)
	if o.Triggerer != nil {
		mux.HandleFunc("POST /events", a.triggerEvent)
	}
	if o.Deliveries != nil {
		mux.HandleFunc("GET /webhooks/{id}/deliveries", a.listDeliveries)
		mux.HandleFunc("GET /webhooks/{id}/deliveries/{delivery_id}", a.getDelivery)
	}
	if o.Events != nil {
		mux.HandleFunc("POST /webhooks/{id}/test", a.testWebhook)
		mux.HandleFunc("POST /webhooks/{id}/deliveries/{delivery_id}/retry", a.retryDelivery)
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
