package httpapi

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestPauseWithHold(t *testing.T) {
	e := newEnv(t)
	got := e.create(validBody)
	path := "/webhooks/" + got.ID

	rec := e.do("POST", path+"/pause", `{"hold": true}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p := decode[webhookOut](t, rec)
	assert.Equal(t, "inactive", p.Status)
	require.NotNil(t, p.StatusReason)
	assert.Equal(t, "paused", *p.StatusReason)
	assert.True(t, p.Hold)
	assert.Equal(t, int64(2), p.Version)

	rec = e.do("GET", path, "")
	assert.True(t, decode[webhookOut](t, rec).Hold, "a read shows it")

	rec = e.do("POST", path+"/pause", `{"hold": true}`)
	assert.Equal(t, int64(2), decode[webhookOut](t, rec).Version, "the same pause changes nothing")

	// Pausing again without hold: a plain pause.
	rec = e.do("POST", path+"/pause", `{}`)
	p = decode[webhookOut](t, rec)
	assert.False(t, p.Hold)
	assert.Equal(t, "inactive", p.Status)
	assert.Equal(t, int64(3), p.Version)

	rec = e.do("POST", path+"/pause", `{"hold": true}`)
	require.Equal(t, 200, rec.Code)
	rec = e.do("POST", path+"/resume", "")
	p = decode[webhookOut](t, rec)
	assert.Equal(t, "active", p.Status)
	assert.False(t, p.Hold, "a resume ends the hold")
	assert.Nil(t, p.StatusReason)
}

func TestPauseBodyRefused(t *testing.T) {
	e := newEnv(t)
	got := e.create(validBody)
	path := "/webhooks/" + got.ID
	before := e.store.Webhook(got.ID)
	for _, tc := range []struct {
		body, field string
	}{
		{`{"hold": "true"}`, "hold"},
		{`{"hold": 1}`, "hold"},
		{`{"hold": null}`, "hold"},
		{`{"hold": {}}`, "hold"},
		{`{"hold": true, "until": 5}`, "until"},
		{`{"Hold": true}`, "Hold"},
		{`[]`, ""},
		{`true`, ""},
		{`{"hold": true, "hold": false}`, "hold"},
		{`{"hold": tru`, ""},
	} {
		t.Run(tc.body, func(t *testing.T) {
			rec := e.do("POST", path+"/pause", tc.body)
			assertError(t, rec, 400, webhook.EInvalid, tc.field)
			assert.Equal(t, before, e.store.Webhook(got.ID), "nothing changes")
		})
	}
	assertError(t, e.do("POST", "/webhooks/wh_nope/pause", `{"hold": true}`), 404, webhook.ENotFound, "")
}

// FuzzPauseBody sends bodies to POST /webhooks/{id}/pause of an active
// webhook: a pause is accepted, leaving it inactive with hold as asked, or
// refused with a 4xx and the store as it was; never a 5xx.
func FuzzPauseBody(f *testing.F) {
	for _, s := range []string{"", `{}`, `{"hold":true}`, `{"hold":false}`, `{"hold":"true"}`,
		`{"hold":null}`, `{"hold":1}`, `{"x":1}`, `[]`, `{`, `{"hold":true,"hold":false}`, " \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := newEnv(t)
		base := e.create(validBody)
		snap := e.store.Snapshot()
		rec := e.do("POST", "/webhooks/"+base.ID+"/pause", body)
		if rec.Code != http.StatusOK {
			checkRefused(t, rec.Code, rec.Body.String())
			assert.Equal(t, snap, e.store.Snapshot(), "a refused pause changes nothing")
			return
		}
		got := decode[webhookOut](t, rec)
		assert.Equal(t, "inactive", got.Status)
		assert.Equal(t, got.Hold, e.store.Webhook(base.ID).Hold)
	})
}
