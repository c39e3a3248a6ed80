package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// fakeTriggerer records the requests it is given and answers with res, or
// err when set.
type fakeTriggerer struct {
	mu  sync.Mutex
	got []webhook.TriggerRequest
	res webhook.TriggerResult
	err error
}

var _ Triggerer = (*fakeTriggerer)(nil)

func (f *fakeTriggerer) Trigger(_ context.Context, r webhook.TriggerRequest) (webhook.TriggerResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
	return f.res, f.err
}

func (f *fakeTriggerer) calls() []webhook.TriggerRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]webhook.TriggerRequest(nil), f.got...)
}

// fakeDeliveries holds deliveries by webhook id, in order, and records the
// filters it is asked for.
type fakeDeliveries struct {
	mu      sync.Mutex
	items   map[string][]*webhook.Delivery
	filters []webhook.DeliveryFilter
}

var _ Deliveries = (*fakeDeliveries)(nil)

func (f *fakeDeliveries) ListDeliveries(_ context.Context, webhookID string, flt webhook.DeliveryFilter) (webhook.Page[*webhook.Delivery], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, flt)
	var page webhook.Page[*webhook.Delivery]
	for _, d := range f.items[webhookID] {
		if flt.Status == "" || d.Status == flt.Status {
			page.Items = append(page.Items, d)
		}
	}
	return page, nil
}

func (f *fakeDeliveries) GetDelivery(_ context.Context, webhookID, id string) (*webhook.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.items[webhookID] {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, webhook.Errorf(webhook.ENotFound, "delivery %s not found", id)
}

func (f *fakeDeliveries) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.filters)
}

func TestTriggerEvent(t *testing.T) {
	tr := &fakeTriggerer{res: webhook.TriggerResult{EventID: "evt_01a22306f51a7c779708eca8ddac3b22", Deliveries: 2}}
	e := newEnv(t, func(o *envOptions) { o.api.Triggerer = tr })

	rec := e.do("POST", "/events", `{"event":"custom","data":{"a":1},"metadata":{"m":"x"}}`, "Idempotency-Key", "run-42")
	require.Equal(t, 202, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"event_id":"evt_01a22306f51a7c779708eca8ddac3b22","deliveries":2}`, rec.Body.String())
	require.Len(t, tr.calls(), 1)
	got := tr.calls()[0]
	assert.Equal(t, "custom", got.Event)
	assert.JSONEq(t, `{"a":1}`, string(got.Data))
	assert.JSONEq(t, `{"m":"x"}`, string(got.Metadata))
	assert.Equal(t, "run-42", got.IdempotencyKey)
	assert.Equal(t, webhook.FromAPI, got.Source, "a caller's key is remembered")
	assert.True(t, got.Time.IsZero(), "the event is timed when it is triggered")
	assert.Empty(t, got.Via)

	rec = e.do("POST", "/events", `{"event":"custom"}`)
	require.Equal(t, 202, rec.Code, rec.Body.String())
	assert.Empty(t, tr.calls()[1].IdempotencyKey)
}

func TestTriggerEventRefused(t *testing.T) {
	tr := &fakeTriggerer{}
	e := newEnv(t, func(o *envOptions) { o.api.Triggerer = tr })

	// The header's shape is the handler's to check; nothing reaches the
	// trigger.
	r := e.do("POST", "/events", `{"event":"custom"}`, "Idempotency-Key", "")
	assertError(t, r, 400, webhook.EInvalid, "Idempotency-Key")
	assertError(t, e.do("POST", "/events", `{"event":"custom","extra":1}`), 400, webhook.EInvalid, "extra")
	assert.Empty(t, tr.calls())

	// The trigger's own refusal is answered as it is.
	tr.err = webhook.Invalid("event", "unknown event")
	assertError(t, e.do("POST", "/events", `{"event":"agent.exploded"}`), 400, webhook.EInvalid, "event")
	tr.err = webhook.Errorf(webhook.ETooLarge, "data and metadata are too large")
	assertError(t, e.do("POST", "/events", `{"event":"custom"}`), 413, webhook.ETooLarge, "")
}

func TestTriggerEventOneIdempotencyKey(t *testing.T) {
	tr := &fakeTriggerer{}
	e := newEnv(t, func(o *envOptions) { o.api.Triggerer = tr })
	req := httptest.NewRequest("POST", "/events", strings.NewReader(`{"event":"custom"}`))
	req.Header.Add("Idempotency-Key", "a")
	req.Header.Add("Idempotency-Key", "b")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	assertError(t, rec, 400, webhook.EInvalid, "Idempotency-Key")
	assert.Empty(t, tr.calls())
}

func TestDeliveryHistory(t *testing.T) {
	ds := &fakeDeliveries{items: map[string][]*webhook.Delivery{}}
	e := newEnv(t, func(o *envOptions) { o.api.Deliveries = ds })
	w := e.create(`{"name":"n","url":"https://example.com/","events":["custom"]}`)
	at := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	ok := &webhook.Delivery{ID: webhook.NewID(webhook.DeliveryIDPrefix), WebhookID: w.ID, EventID: "evt_1", Event: "custom",
		Status: webhook.DeliverySucceeded, CreatedAt: at, CompletedAt: &at,
		Attempts: []webhook.Attempt{{Attempt: 1, StartedAt: at, StatusCode: 200}}}
	failed := &webhook.Delivery{ID: webhook.NewID(webhook.DeliveryIDPrefix), WebhookID: w.ID, Event: "custom",
		Status: webhook.DeliveryFailed, CreatedAt: at}
	ds.items[w.ID] = []*webhook.Delivery{ok, failed}

	rec := e.do("GET", "/webhooks/"+w.ID+"/deliveries?status=failed&limit=5", "")
	require.Equal(t, 200, rec.Code, rec.Body.String())
	var page struct {
		Items      []map[string]any `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
	require.Len(t, page.Items, 1)
	assert.Equal(t, failed.ID, page.Items[0]["id"])
	assert.Equal(t, []any{}, page.Items[0]["attempts"], "no attempts is an empty list")
	assert.Equal(t, []webhook.DeliveryFilter{{Status: webhook.DeliveryFailed, Limit: 5}}, ds.filters)

	rec = e.do("GET", "/webhooks/"+w.ID+"/deliveries/"+ok.ID, "")
	require.Equal(t, 200, rec.Code, rec.Body.String())
	var one map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &one))
	assert.Equal(t, ok.ID, one["id"])
	assert.Equal(t, "evt_1", one["event_id"])
	assert.Equal(t, "succeeded", one["status"])

	assertError(t, e.do("GET", "/webhooks/"+w.ID+"/deliveries/"+webhook.NewID(webhook.DeliveryIDPrefix), ""), 404, webhook.ENotFound, "")

	// A webhook that does not exist has no history to read.
	missing := webhook.NewID(webhook.WebhookIDPrefix)
	assertError(t, e.do("GET", "/webhooks/"+missing+"/deliveries", ""), 404, webhook.ENotFound, "")
	assertError(t, e.do("GET", "/webhooks/"+missing+"/deliveries/"+ok.ID, ""), 404, webhook.ENotFound, "")
	assert.Equal(t, 1, ds.calls())
}

// Each event route is served once its interface is plugged in, and only then.
func TestEventRoutesFollowOptions(t *testing.T) {
	id := webhook.NewID(webhook.WebhookIDPrefix)
	routes := map[string][2]string{
		"trigger":  {"POST", "/events"},
		"list":     {"GET", "/webhooks/" + id + "/deliveries"},
		"get":      {"GET", "/webhooks/" + id + "/deliveries/" + webhook.NewID(webhook.DeliveryIDPrefix)},
		"test":     {"POST", "/webhooks/" + id + "/test"},
		"retry":    {"POST", "/webhooks/" + id + "/deliveries/" + webhook.NewID(webhook.DeliveryIDPrefix) + "/retry"},
		"webhooks": {"GET", "/webhooks"},
	}
	for name, tc := range map[string]struct {
		mod    func(*envOptions)
		served []string
	}{
		// Test sends and retries are the webhook service's: always served.
		"none":       {func(*envOptions) {}, []string{"webhooks", "test", "retry"}},
		"triggerer":  {func(o *envOptions) { o.api.Triggerer = &fakeTriggerer{} }, []string{"webhooks", "test", "retry", "trigger"}},
		"deliveries": {func(o *envOptions) { o.api.Deliveries = &fakeDeliveries{} }, []string{"webhooks", "test", "retry", "list", "get"}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, tc.mod)
			for route, r := range routes {
				rec := e.do(r[0], r[1], `{"event":"custom"}`)
				var body errOut
				_ = json.Unmarshal(rec.Body.Bytes(), &body)
				routed := !strings.HasPrefix(body.Error.Message, "no route for ")
				assert.Equal(t, slices.Contains(tc.served, route), routed, "%s %s: %d %s", r[0], r[1], rec.Code, rec.Body.String())
			}
		})
	}
}
