package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func filterBody(f string) string {
	return `{"name":"n","url":"https://example.com/","events":["custom"],"filter":` + f + `}`
}

// The bad filters of the issue, and the bounds: a 400 naming the path.
var badFilterInputs = []struct{ name, filter, field string }{
	{"bad operator and value", `{"data": {"amount": {"$gte": "x", "$bogus": 1}}}`, "filter.data.amount.$bogus"},
	{"too deep", `{"data":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}}`, "filter.data.a.b.c.d.e.f.g"},
	{"too large", `{"data":{"k":"` + strings.Repeat("x", 5000) + `"}}`, "filter"},
	{"not an object", `true`, "filter"},
}

func TestWebhookFilterShownInReads(t *testing.T) {
	e := newEnv(t)
	w := e.create(filterBody(`{"data": {"currency": "usd", "amount": {"$gt": 100}}}`))
	assert.JSONEq(t, `{"data":{"amount":{"$gt":100},"currency":"usd"}}`, string(w.Filter))
	assert.Equal(t, `{"data":{"amount":{"$gt":100},"currency":"usd"}}`, string(w.Filter), "canonical: compact, sorted")
	got := decode[webhookOut](t, e.do("GET", "/webhooks/"+w.ID, ""))
	assert.Equal(t, w.Filter, got.Filter)

	plain := e.create(validBody)
	assert.Equal(t, "null", string(plain.Filter), "no filter is null")

	rec := e.do("PATCH", "/webhooks/"+w.ID, `{"filter":null}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "null", string(decode[webhookOut](t, rec).Filter), "null removes it")
}

func TestWebhookBadFilterIs400AndChangesNothing(t *testing.T) {
	for _, tt := range badFilterInputs {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			assertError(t, e.do("POST", "/webhooks", filterBody(tt.filter)), http.StatusBadRequest, webhook.EInvalid, tt.field)
			assert.Zero(t, e.store.Len(), "nothing created")

			w := e.create(filterBody(`{"event":"custom"}`))
			snap := e.store.Snapshot()
			assertError(t, e.do("PATCH", "/webhooks/"+w.ID, `{"name":"other","filter":`+tt.filter+`}`), http.StatusBadRequest, webhook.EInvalid, tt.field)
			assert.Equal(t, snap, e.store.Snapshot(), "nothing changed")
		})
	}
}

func TestFilterTestRoute(t *testing.T) {
	e := newEnv(t)
	w := e.create(filterBody(`{"data":{"amount":{"$gt":100}}}`))
	plain := e.create(validBody)
	path := "/webhooks/" + w.ID + "/filter/test"

	for _, tt := range []struct {
		name, path, body string
		matches          bool
	}{
		{"matches", path, `{"event":"custom","data":{"amount":150}}`, true},
		{"does not", path, `{"event":"custom","data":{"amount":50},"metadata":{"a":1}}`, false},
		{"no data", path, `{"event":"custom"}`, false},
		{"no filter matches all", "/webhooks/" + plain.ID + "/filter/test", `{"event":"agent.started","data":{"amount":1}}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do("POST", tt.path, tt.body)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			got := decode[struct {
				Matches bool `json:"matches"`
			}](t, rec)
			assert.Equal(t, tt.matches, got.Matches)
		})
	}

	snap := e.store.Snapshot()
	for _, tt := range []struct {
		name, path, body string
		status           int
		code, field      string
	}{
		{"not JSON", path, `{"event":`, http.StatusBadRequest, webhook.EInvalid, ""},
		{"unknown member", path, `{"event":"custom","payload":{}}`, http.StatusBadRequest, webhook.EInvalid, "payload"},
		{"no event", path, `{"data":{}}`, http.StatusBadRequest, webhook.EInvalid, "event"},
		{"unknown event", path, `{"event":"nope"}`, http.StatusBadRequest, webhook.EInvalid, "event"},
		{"data not an object", path, `{"event":"custom","data":[1]}`, http.StatusBadRequest, webhook.EInvalid, "data"},
		{"metadata not an object", path, `{"event":"custom","metadata":"x"}`, http.StatusBadRequest, webhook.EInvalid, "metadata"},
		{"unknown webhook", "/webhooks/" + webhook.NewID(webhook.WebhookIDPrefix) + "/filter/test", `{"event":"custom"}`, http.StatusNotFound, webhook.ENotFound, ""},
		{"malformed id, whatever the body", "/webhooks/wh_x/filter/test", `nope`, http.StatusNotFound, webhook.ENotFound, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assertError(t, e.do("POST", tt.path, tt.body), tt.status, tt.code, tt.field)
		})
	}
	assert.Equal(t, snap, e.store.Snapshot(), "testing a filter changes nothing")
}

// FuzzFilterTest sends bodies to POST /webhooks/{id}/filter/test of a
// webhook with a filter: the answer is 200 with matches, or a 4xx; never a
// 5xx, and nothing changes.
func FuzzFilterTest(f *testing.F) {
	f.Add(`{"event":"custom","data":{"amount":150}}`)
	f.Add(`{"event":"custom","data":{"amount":50,"tags":["a"]},"metadata":{"source":"api"}}`)
	f.Add(`{"event":"custom","data":null,"metadata":null}`)
	f.Add(`{"event":"custom","data":{"amount":1e400}}`)
	f.Add(`{"event":"agent.started","data":{"amount":"150"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		e := newEnv(t)
		w := e.create(filterBody(`{"$or":[{"data":{"amount":{"$gt":100}}},{"metadata":{"source":{"$startsWith":"api"}}}]}`))
		snap := e.store.Snapshot()
		rec := e.do("POST", "/webhooks/"+w.ID+"/filter/test", body)
		if rec.Code != http.StatusOK {
			checkRefused(t, rec.Code, rec.Body.String())
		} else {
			decode[struct {
				Matches bool `json:"matches"`
			}](t, rec)
		}
		assert.Equal(t, snap, e.store.Snapshot())
	})
}
