package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/systemprompt-io/webhooks/api"
	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// triggerRequest is the body of POST /events.
type triggerRequest struct {
	Event    string          `json:"event"`
	Data     json.RawMessage `json:"data"`
	Metadata json.RawMessage `json:"metadata"`
}

func (a *server) triggerEvent(w http.ResponseWriter, r *http.Request) {
	var in triggerRequest
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if keys := r.Header.Values("Idempotency-Key"); len(keys) > 1 || len(keys) == 1 && keys[0] == "" {
		a.writeError(w, r, webhook.Invalid("Idempotency-Key", "give one non-empty Idempotency-Key, or none"))
		return
	}
	res, err := a.Triggerer.Trigger(r.Context(), webhook.TriggerRequest{
		Event: in.Event, Data: in.Data, Metadata: in.Metadata,
		IdempotencyKey: r.Header.Get("Idempotency-Key"), Source: webhook.FromAPI,
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, triggerJSON{EventID: res.EventID, Deliveries: res.Deliveries})
}

// triggerJSON is the answer to POST /events.
type triggerJSON struct {
	EventID    string `json:"event_id"`
	Deliveries int    `json:"deliveries"`
}

// deliveryJSON is a delivery as the API shows it.
type deliveryJSON struct {
	ID            string        `json:"id"`
	WebhookID     string        `json:"webhook_id"`
	EventID       string        `json:"event_id,omitempty"`
	Event         string        `json:"event"`
	Status        string        `json:"status"`
	Test          bool          `json:"test,omitempty"`
	Attempts      []attemptJSON `json:"attempts"`
	NextAttemptAt *apiTime      `json:"next_attempt_at"`
	CreatedAt     apiTime       `json:"created_at"`
	CompletedAt   *apiTime      `json:"completed_at"`
}

func toDeliveryJSON(d *webhook.Delivery) deliveryJSON {
	return deliveryJSON{
		ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, Event: d.Event, Status: string(d.Status),
		Test: d.Test, Attempts: toAttemptsJSON(d.Attempts), NextAttemptAt: timePtr(d.NextAttemptAt),
		CreatedAt: apiTime(d.CreatedAt), CompletedAt: timePtr(d.CompletedAt),
	}
}

func (a *server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f, err := deliveryFilter(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if _, err := a.load(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := a.Deliveries.ListDeliveries(r.Context(), id, f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPageJSON(page, toDeliveryJSON))
}

// deliveryFilter validates the deliveries query: known parameters, once each.
func deliveryFilter(q url.Values) (webhook.DeliveryFilter, error) {
	f := webhook.DeliveryFilter{Limit: webhook.DefaultListLimit}
	if err := queryParams(q, "status", "limit", "cursor"); err != nil {
		return f, err
	}
	if s := webhook.DeliveryStatus(q.Get("status")); s == "" || webhook.KnownDeliveryStatus(s) {
		f.Status = s
	} else {
		return f, webhook.Invalid("status", "status must be pending, retrying, held, succeeded or failed")
	}
	n, err := limitParam(q)
	if err != nil {
		return f, err
	}
	f.Limit = n
	f.Cursor = q.Get("cursor")
	return f, nil
}

func (a *server) getDelivery(w http.ResponseWriter, r *http.Request) {
	id, did := r.PathValue("id"), r.PathValue("delivery_id")
	if _, err := a.load(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.Deliveries.GetDelivery(r.Context(), id, did)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toDeliveryJSON(d))
}

func (a *server) retryDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := a.Webhooks.Retry(r.Context(), r.PathValue("id"), r.PathValue("delivery_id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toDeliveryJSON(d))
}

// testJSON is the answer to POST /webhooks/{id}/test.
type testJSON struct {
	Success         bool              `json:"success"`
	StatusCode      int               `json:"status_code,omitempty"`
	DurationMS      int64             `json:"duration_ms"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	Error           string            `json:"error,omitempty"`
	Delivery        deliveryJSON      `json:"delivery"`
}

func (a *server) testWebhook(w http.ResponseWriter, r *http.Request) {
	res, err := a.Webhooks.Test(r.Context(), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, testAnswer(res))
}

func testAnswer(res *delivery.TestResult) testJSON {
	out := testJSON{
		Success: res.Success, StatusCode: res.Result.StatusCode, DurationMS: res.Result.Duration.Milliseconds(),
		ResponseHeaders: map[string]string{}, Error: res.Error, Delivery: toDeliveryJSON(res.Delivery),
		ResponseBody: res.Result.Excerpt(webhook.MaxResponseExcerpt),
	}
	for k := range res.Result.Header {
		out.ResponseHeaders[k] = res.Result.Header.Get(k)
	}
	return out
}

func (a *server) openAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := api.OpenAPIJSON()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(doc)
}
