package manage

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// withFilter is the minimal webhook with the given filter.
func withFilter(f string) string {
	return `{"name":"n","url":"https://example.com/","events":["custom"],"filter":` + f + `}`
}

// deepFilter nests objects one level deeper than the language allows.
var deepFilter = `{"data":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}}`

// bigFilter is over the size bound in its compact form.
var bigFilter = `{"data":{"k":"` + strings.Repeat("x", 5000) + `"}}`

// badFilters are refused with the path of what is wrong.
var badFilters = []struct {
	name, filter, field string
}{
	{"unknown operator, reported before the valid one", `{"data": {"amount": {"$gte": "x", "$bogus": 1}}}`, "filter.data.amount.$bogus"},
	{"wrong operand", `{"data":{"amount":{"$in":5}}}`, "filter.data.amount.$in"},
	{"unknown root member", `{"payload":{"a":1}}`, "filter.payload"},
	{"not an object", `[1]`, "filter"},
	{"a string", `"x"`, "filter"},
	{"too deep", deepFilter, "filter.data.a.b.c.d.e.f.g"},
	{"too large", bigFilter, "filter"},
}

func TestCreateWithFilter(t *testing.T) {
	f := newFixture(t)
	w := f.create(t, withFilter(`{ "data": { "currency": "usd", "amount": { "$gt": 100 } } }`))
	assert.Equal(t, `{"data":{"amount":{"$gt":100},"currency":"usd"}}`, string(w.Filter), "kept in canonical form")
	assert.Equal(t, w.Filter, f.store.Webhook(w.ID).Filter, "and stored so")

	none := f.create(t, withFilter(`null`))
	assert.Nil(t, none.Filter, "null on create is no filter")
	assert.Nil(t, f.create(t, minimal).Filter)
}

func TestCreateWithBadFilterWritesNothing(t *testing.T) {
	for _, tt := range badFilters {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, _, err := f.svc.Create(context.Background(), members(t, withFilter(tt.filter)))
			require.Error(t, err)
			assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err), "%v", err)
			assert.Equal(t, tt.field, webhook.ErrorField(err), "%v", err)
			assert.Zero(t, f.store.Len(), "nothing stored")
		})
	}
}

func TestPatchFilter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	w := f.create(t, withFilter(`{"data":{"amount":{"$gt":100}}}`))

	for _, tt := range badFilters {
		t.Run(tt.name, func(t *testing.T) {
			snap := f.store.Snapshot()
			_, _, err := f.svc.Patch(ctx, w.ID, members(t, `{"filter":`+tt.filter+`,"name":"changed"}`), 0)
			assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err), "%v", err)
			assert.Equal(t, tt.field, webhook.ErrorField(err))
			assert.Equal(t, snap, f.store.Snapshot(), "nothing changed")
		})
	}

	got, _, err := f.svc.Patch(ctx, w.ID, members(t, `{"filter":{"event":"custom"}}`), 0)
	require.NoError(t, err)
	assert.Equal(t, `{"event":"custom"}`, string(got.Filter))
	assert.Equal(t, w.Version+1, got.Version)

	same, _, err := f.svc.Patch(ctx, w.ID, members(t, `{"filter":{ "event" : "custom" }}`), 0)
	require.NoError(t, err)
	assert.Equal(t, got.Version, same.Version, "the same filter written otherwise is no change")

	removed, _, err := f.svc.Patch(ctx, w.ID, members(t, `{"filter":null}`), 0)
	require.NoError(t, err)
	assert.Nil(t, removed.Filter, "null removes the filter")
	assert.Nil(t, f.store.Webhook(w.ID).Filter)
}

func TestTestFilter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	filtered := f.create(t, withFilter(`{"data":{"amount":{"$gt":100}},"metadata":{"$not":{"env":"test"}}}`))
	plain := f.create(t, minimal)

	tests := []struct {
		name  string
		id    string
		ev    FilterEvent
		match bool
		code  string
		field string
	}{
		{"matches", filtered.ID, FilterEvent{Event: "custom", Data: json.RawMessage(`{"amount":150}`)}, true, "", ""},
		{"does not", filtered.ID, FilterEvent{Event: "custom", Data: json.RawMessage(`{"amount":50}`)}, false, "", ""},
		{"metadata counts", filtered.ID, FilterEvent{Event: "custom", Data: json.RawMessage(`{"amount":150}`), Metadata: json.RawMessage(`{"env":"test"}`)}, false, "", ""},
		{"null data is missing", filtered.ID, FilterEvent{Event: "custom", Data: json.RawMessage(`null`)}, false, "", ""},
		{"an event the webhook does not subscribe to is still tested", filtered.ID, FilterEvent{Event: "agent.failed", Data: json.RawMessage(`{"amount":101}`)}, true, "", ""},
		{"no filter matches everything", plain.ID, FilterEvent{Event: "custom"}, true, "", ""},
		{"event required", filtered.ID, FilterEvent{Data: json.RawMessage(`{}`)}, false, webhook.EInvalid, "event"},
		{"unknown event", filtered.ID, FilterEvent{Event: "no.such"}, false, webhook.EInvalid, "event"},
		{"data not an object", filtered.ID, FilterEvent{Event: "custom", Data: json.RawMessage(`[1]`)}, false, webhook.EInvalid, "data"},
		{"metadata not JSON", filtered.ID, FilterEvent{Event: "custom", Metadata: json.RawMessage(`{nope`)}, false, webhook.EInvalid, "metadata"},
		{"unknown webhook", webhook.NewID(webhook.WebhookIDPrefix), FilterEvent{Event: "custom"}, false, webhook.ENotFound, ""},
		{"malformed id", "wh_x", FilterEvent{Event: "custom"}, false, webhook.ENotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.svc.TestFilter(ctx, tt.id, tt.ev)
			assert.Equal(t, tt.code, webhook.ErrorCode(err), "%v", err)
			assert.Equal(t, tt.field, webhook.ErrorField(err))
			assert.Equal(t, tt.match, got)
		})
	}
}
