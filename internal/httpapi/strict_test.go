package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// countingEvents is the event side as far as these tests reach it: it counts
// the triggers and listings that got through.
type countingEvents struct {
	mu       sync.Mutex
	triggers []webhook.TriggerRequest
	listings []webhook.DeliveryFilter
}

func (c *countingEvents) Trigger(_ context.Context, r webhook.TriggerRequest) (webhook.TriggerResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.triggers = append(c.triggers, r)
	return webhook.TriggerResult{EventID: "evt_1", Deliveries: 1}, nil
}

func (c *countingEvents) ListDeliveries(_ context.Context, _ string, f webhook.DeliveryFilter) (webhook.Page[*webhook.Delivery], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listings = append(c.listings, f)
	return webhook.Page[*webhook.Delivery]{}, nil
}

func (c *countingEvents) GetDelivery(context.Context, string, string) (*webhook.Delivery, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listings = append(c.listings, webhook.DeliveryFilter{})
	return nil, webhook.Errorf(webhook.ENotFound, "no such delivery")
}

func (c *countingEvents) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.triggers) + len(c.listings)
}

// strictEnv is an env with the event side plugged in and one webhook.
type strictEnv struct {
	*env
	events *countingEvents
	id     string
}

func newStrictEnv(t *testing.T) *strictEnv {
	ev := &countingEvents{}
	e := &strictEnv{env: newEnv(t, func(o *envOptions) { o.api.Triggerer, o.api.Deliveries = ev, ev }), events: ev}
	e.id = e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"bearer","auth_credentials":{"token":"t0ken"}}`).ID
	return e
}

// refused sends a request that must be answered status/code/field and
// change nothing: the store, the sealed secrets and the event side are as
// they were.
func (e *strictEnv) refused(t *testing.T, r *http.Request, status int, code, field string) {
	t.Helper()
	before, seals, events := e.store.Snapshot(), e.secrets.Seals(), e.events.calls()
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	assertError(t, rec, status, code, field)
	assert.Empty(t, rec.Header().Get("Location"), "never a redirect")
	assert.Equal(t, before, e.store.Snapshot(), "nothing stored changed")
	assert.Equal(t, seals, e.secrets.Seals(), "nothing was sealed")
	assert.Equal(t, events, e.events.calls(), "nothing was triggered or listed")
}

func request(method, path, body string, headers ...string) *http.Request {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, "http://api.test"+path, nil)
	} else {
		r = httptest.NewRequest(method, "http://api.test"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// Member names match exactly and appear once, at every depth, in every body:
// encoding/json alone would fold case and let a later duplicate win.
func TestStrictBodies(t *testing.T) {
	const hook = `"name":"n","url":"https://example.com/","events":["custom"]`
	tests := []struct {
		name, method, path, body, field string
	}{
		// POST /events: the case-folded member would trigger "custom".
		{"trigger case-folded event", "POST", "/events", `{"event":"nope","Event":"custom"}`, "Event"},
		{"trigger case-folded data", "POST", "/events", `{"event":"custom","Data":{}}`, "Data"},
		{"trigger upper-case metadata", "POST", "/events", `{"event":"custom","METADATA":{}}`, "METADATA"},
		{"trigger duplicate event", "POST", "/events", `{"event":"nope","event":"custom"}`, "event"},
		{"trigger duplicate escaped", "POST", "/events", `{"event":"nope","\u0065vent":"custom"}`, "event"},
		{"trigger duplicate data", "POST", "/events", `{"event":"custom","data":{},"data":{"a":1}}`, "data"},
		{"trigger duplicate inside data", "POST", "/events", `{"event":"custom","data":{"amount":1,"amount":1000}}`, "data.amount"},
		{"trigger duplicate deep in metadata", "POST", "/events", `{"event":"custom","metadata":{"a":[1,{"b":1,"b":2}]}}`, "metadata.a[1].b"},
		{"trigger lone high surrogate", "POST", "/events", `{"event":"custom","data":{"s":"\ud800"}}`, "data.s"},
		{"trigger lone low surrogate", "POST", "/events", `{"event":"custom","data":{"s":"\udc00"}}`, "data.s"},
		{"trigger high without low", "POST", "/events", `{"event":"custom","data":{"s":"\ud800\u0041"}}`, "data.s"},
		{"trigger high then text", "POST", "/events", `{"event":"custom","data":{"s":"\uD83Dx"}}`, "data.s"},
		{"trigger surrogate in a name", "POST", "/events", `{"event":"custom","data":{"\udc00":1}}`, "data"},
		{"trigger surrogate in event", "POST", "/events", `{"event":"custom\ud800"}`, "event"},
		{"trigger invalid UTF-8", "POST", "/events", "{\"event\":\"custom\",\"data\":{\"s\":\"\xff\"}}", "data.s"},
		{"trigger invalid UTF-8 in event", "POST", "/events", "{\"event\":\"cust\xc3om\"}", "event"},
		{"trigger UTF-8 surrogate bytes", "POST", "/events", "{\"event\":\"custom\",\"metadata\":{\"s\":\"\xed\xa0\x80\"}}", "metadata.s"},
		{"trigger invalid UTF-8 in a name", "POST", "/events", "{\"event\":\"custom\",\"data\":{\"\xfe\":1}}", "data"},

		// POST /webhooks
		{"create duplicate name", "POST", "/webhooks", `{"name":"a",` + hook + `}`, "name"},
		{"create duplicate url", "POST", "/webhooks", `{` + hook + `,"url":"https://evil.example/"}`, "url"},
		{"create case-folded url", "POST", "/webhooks", `{` + hook + `,"URL":"https://evil.example/"}`, "URL"},
		{"create duplicate events", "POST", "/webhooks", `{` + hook + `,"events":["agent.failed"]}`, "events"},
		{"create duplicate retry member", "POST", "/webhooks", `{` + hook + `,"retry":{"max_attempts":3,"max_attempts":20}}`, "retry.max_attempts"},
		{"create case-folded retry member", "POST", "/webhooks", `{` + hook + `,"retry":{"Max_Attempts":3}}`, "retry.Max_Attempts"},
		{"create duplicate header", "POST", "/webhooks", `{` + hook + `,"headers":{"X-A":"1","X-A":"2"}}`, "headers.X-A"},
		{"create duplicate credential", "POST", "/webhooks", `{` + hook + `,"auth_type":"bearer","auth_credentials":{"token":"a","token":"b"}}`, "auth_credentials.token"},
		{"create lone surrogate", "POST", "/webhooks", `{"name":"n\ud800","url":"https://example.com/","events":["custom"]}`, "name"},
		{"create lone surrogate in header", "POST", "/webhooks", `{` + hook + `,"headers":{"X-A":"\udfff"}}`, "headers.X-A"},
		{"create invalid UTF-8", "POST", "/webhooks", "{\"name\":\"n\xff\",\"url\":\"https://example.com/\",\"events\":[\"custom\"]}", "name"},
		{"create invalid UTF-8 in events", "POST", "/webhooks", "{\"name\":\"n\",\"url\":\"https://example.com/\",\"events\":[\"c\xffustom\"]}", "events[0]"},

		// PATCH /webhooks/{id}
		{"patch duplicate name", "PATCH", "/webhooks/{id}", `{"name":"a","name":"b"}`, "name"},
		{"patch case-folded name", "PATCH", "/webhooks/{id}", `{"name":"a","Name":"b"}`, "Name"},
		{"patch duplicate version", "PATCH", "/webhooks/{id}", `{"name":"a","version":1,"version":2}`, "version"},
		{"patch duplicate status", "PATCH", "/webhooks/{id}", `{"status":"active","status":"inactive"}`, "status"},
		{"patch duplicate retry member", "PATCH", "/webhooks/{id}", `{"retry":{"strategy":"linear","strategy":"fixed"}}`, "retry.strategy"},
		{"patch duplicate credential", "PATCH", "/webhooks/{id}", `{"auth_credentials":{"token":"a","token":"b"}}`, "auth_credentials.token"},
		{"patch lone surrogate", "PATCH", "/webhooks/{id}", `{"name":"\ud800"}`, "name"},
		{"patch invalid UTF-8", "PATCH", "/webhooks/{id}", "{\"name\":\"\xc0\xaf\"}", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newStrictEnv(t)
			path := strings.ReplaceAll(tt.path, "{id}", e.id)
			e.refused(t, request(tt.method, path, tt.body), 400, webhook.EInvalid, tt.field)
			if tt.method == "POST" && tt.path == "/webhooks" {
				assert.Equal(t, 1, e.store.Len(), "no webhook created")
			}
		})
	}

	// The same bodies, spelled once in the documented case, are taken.
	e := newStrictEnv(t)
	rec := e.do("POST", "/events", `{"event":"custom","data":{"amount":1,"s":"\ud83d\ude00 \u00e9"},"metadata":{"a":[1,{"b":2}]}}`)
	require.Equal(t, 202, rec.Code, rec.Body.String())
	require.Len(t, e.events.triggers, 1)
	assert.Equal(t, "custom", e.events.triggers[0].Event)
	assert.JSONEq(t, `{"amount":1,"s":"😀 é"}`, string(e.events.triggers[0].Data))
	rec = e.do("PATCH", "/webhooks/"+e.id, `{"name":"b","retry":{"strategy":"linear"},"version":1}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, "b", decode[webhookOut](t, rec).Name)
}

// Empty query values and a limit not written as a canonical whole number
// are refused; so is a query string that does not parse (it would be
// dropped silently).
func TestStrictQueries(t *testing.T) {
	tests := []struct{ query, field string }{
		{"limit=", "limit"},
		{"limit", "limit"},
		{"status=", "status"},
		{"cursor=", "cursor"},
		{"limit=%2B5", "limit"}, // "+5"
		{"limit=+5", "limit"},   // " 5": a '+' in a query is a space
		{"limit=05", "limit"},
		{"limit=007", "limit"},
		{"limit=-0", "limit"},
		{"limit=0x10", "limit"},
		{"limit=5%20", "limit"},
		{"limit=%EF%BC%95", "limit"}, // a full-width digit five
		{"limit=99999999999999999999", "limit"},
		{"limit=5&limit=", "limit"},
		{"limit=5&cursor=%zz", ""},
		{"limit=5;cursor=x", ""},
	}
	for _, tt := range tests {
		t.Run("webhooks?"+tt.query, func(t *testing.T) {
			e := newStrictEnv(t)
			calls := e.store.Calls()
			e.refused(t, request("GET", "/webhooks?"+tt.query, ""), 400, webhook.EInvalid, tt.field)
			assert.Equal(t, calls, e.store.Calls(), "refused before the store is asked")
		})
		t.Run("deliveries?"+tt.query, func(t *testing.T) {
			e := newStrictEnv(t)
			e.refused(t, request("GET", "/webhooks/"+e.id+"/deliveries?"+tt.query, ""), 400, webhook.EInvalid, tt.field)
		})
	}
	for _, q := range []string{"event=", "event=&status=active"} {
		t.Run("webhooks?"+q, func(t *testing.T) {
			e := newStrictEnv(t)
			e.refused(t, request("GET", "/webhooks?"+q, ""), 400, webhook.EInvalid, "event")
		})
	}

	// Canonical values are taken, and the bound is the domain's.
	e := newStrictEnv(t)
	for _, q := range []string{"limit=1", "limit=5&status=active&event=custom", "limit=100"} {
		assert.Equal(t, 200, e.do("GET", "/webhooks?"+q, "").Code, q)
	}
	assert.Equal(t, 200, e.do("GET", "/webhooks/"+e.id+"/deliveries?limit=100&status=failed", "").Code)
	require.Len(t, e.events.listings, 1)
	assert.Equal(t, webhook.DeliveryFilter{Status: webhook.DeliveryFailed, Limit: webhook.MaxListLimit}, e.events.listings[0])
	assertError(t, e.do("GET", "/webhooks?limit=101", ""), 400, webhook.EInvalid, "limit")
}

// If-Match is one version exactly as ETag gives it ("3"), or "*".
func TestStrictIfMatch(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
	}{
		{"empty", []string{"If-Match", ""}},
		{"blank", []string{"If-Match", "  "}},
		{"leading zero", []string{"If-Match", `"01"`}},
		{"plus", []string{"If-Match", `"+1"`}},
		{"zero", []string{"If-Match", `"0"`}},
		{"unquoted", []string{"If-Match", `1`}},
		{"half quoted", []string{"If-Match", `"1`}},
		{"weak", []string{"If-Match", `W/"1"`}},
		{"empty quotes", []string{"If-Match", `""`}},
		{"list", []string{"If-Match", `"1", "2"`}},
		{"two headers", []string{"If-Match", `"1"`, "If-Match", `"1"`}},
		{"two stars", []string{"If-Match", "*", "If-Match", "*"}},
		{"space inside", []string{"If-Match", `" 1"`}},
	}
	for _, tt := range tests {
		t.Run("PATCH "+tt.name, func(t *testing.T) {
			e := newStrictEnv(t)
			e.refused(t, request("PATCH", "/webhooks/"+e.id, `{"name":"b"}`, tt.headers...), 400, webhook.EInvalid, "If-Match")
		})
		t.Run("DELETE "+tt.name, func(t *testing.T) {
			e := newStrictEnv(t)
			e.refused(t, request("DELETE", "/webhooks/"+e.id, "", tt.headers...), 400, webhook.EInvalid, "If-Match")
			assert.Equal(t, 1, e.store.Len(), "not deleted")
		})
	}

	e := newStrictEnv(t)
	rec := e.do("PATCH", "/webhooks/"+e.id, `{"name":"b"}`, "If-Match", `"1"`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	require.Equal(t, 200, e.do("PATCH", "/webhooks/"+e.id, `{"name":"c"}`, "If-Match", "*").Code)
	assertError(t, e.do("DELETE", "/webhooks/"+e.id, "", "If-Match", `"2"`), 409, webhook.EConflict, "")
	assert.Equal(t, 204, e.do("DELETE", "/webhooks/"+e.id, "", "If-Match", `"3"`).Code)
	other := newStrictEnv(t)
	assert.Equal(t, 204, other.do("DELETE", "/webhooks/"+other.id, "", "If-Match", "*").Code)
}

// A path with "//", "." or ".." names nothing: 404 with error JSON, where
// ServeMux would answer a bodiless redirect to the cleaned path (and a
// client following it would POST or DELETE elsewhere).
func TestStrictPaths(t *testing.T) {
	e := newStrictEnv(t)
	body := `{"name":"n","url":"https://example.com/","events":["custom"]}`
	tests := []struct{ method, path, body string }{
		{"GET", "//webhooks", ""},
		{"POST", "//webhooks", body},
		{"POST", "/webhooks/", body},
		{"POST", "/./webhooks", body},
		{"POST", "/events/../webhooks", body},
		{"GET", "/webhooks/" + e.id + "/", ""},
		{"GET", "/webhooks//" + e.id, ""},
		{"GET", "/webhooks/x/../" + e.id, ""},
		{"GET", "/webhooks/%2e%2e/webhooks/" + e.id, ""},
		{"GET", "/webhooks/./" + e.id, ""},
		{"PATCH", "/webhooks/x/../" + e.id, `{"name":"evil"}`},
		{"DELETE", "/webhooks/x/../" + e.id, ""},
		{"DELETE", "/webhooks/" + e.id + "/.", ""},
		{"POST", "/webhooks/" + e.id + "/pause/..", ""},
		{"POST", "/webhooks/x/../" + e.id + "/pause", ""},
		{"POST", "//events", `{"event":"custom"}`},
		{"GET", "/webhooks/" + e.id + "/deliveries//", ""},
		{"GET", "/healthz/.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			e.refused(t, request(tt.method, tt.path, tt.body), 404, "not_found", "")
			assert.Equal(t, 1, e.store.Len())
		})
	}
}

func TestCheckListLimitIsTheOneBound(t *testing.T) {
	for _, n := range []int{1, 50, webhook.MaxListLimit} {
		got, err := webhook.CheckListLimit(n)
		require.NoError(t, err)
		assert.Equal(t, n, got)
		f, err := listFilter(map[string][]string{"limit": {strconv.Itoa(n)}})
		require.NoError(t, err)
		assert.Equal(t, n, f.Limit)
	}
	for _, n := range []int{0, -1, webhook.MaxListLimit + 1} {
		_, err := webhook.CheckListLimit(n)
		assert.Equal(t, "limit", webhook.ErrorField(err))
		_, err = deliveryFilter(map[string][]string{"limit": {strconv.Itoa(n)}})
		assert.Equal(t, "limit", webhook.ErrorField(err), "the API refuses what the domain refuses")
	}
	f, err := listFilter(nil)
	require.NoError(t, err)
	assert.Equal(t, webhook.DefaultListLimit, f.Limit)
}
