package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzRotateSecret sends bodies and If-Match headers to POST
// /webhooks/{id}/rotate-secret of a stored hmac webhook: a rotation is
// either accepted, leaving a valid webhook at the next version whose sealed
// secret is the one answered in full and whose previous secret is the old
// one, or refused with a 4xx and the store as it was; never a 5xx.
func FuzzRotateSecret(f *testing.F) {
	for _, s := range []struct{ body, ifMatch string }{
		{"", ""}, {`{}`, ""}, {`{}`, `"1"`}, {`{}`, `"2"`}, {`{}`, "*"},
		{`{"secret":"new-secret"}`, ""}, {`{"secret":"whsec_bmV3IGtleQ=="}`, ""},
		{`{"secret":"old-secret"}`, ""}, {`{"secret":""}`, ""}, {`{"secret":"whsec_%%"}`, ""},
		{`{"previous_valid_for_ms":0}`, ""}, {`{"previous_valid_for_ms":604800000}`, ""},
		{`{"previous_valid_for_ms":604800001}`, ""}, {`{"previous_valid_for_ms":-1}`, ""},
		{`{"previous_valid_for_ms":1e3}`, ""}, {`{"secret":null,"previous_valid_for_ms":null}`, ""},
		{`{"secret":"a","secret":"b"}`, ""}, {`{"other":1}`, ""}, {`[]`, ""}, {`{`, ""},
	} {
		f.Add(s.body, s.ifMatch)
	}
	f.Fuzz(func(t *testing.T, body, ifMatch string) {
		e := newEnv(t)
		base := e.create(hmacBody)
		snap := e.store.Snapshot()
		var headers []string
		if ifMatch != "" {
			headers = []string{"If-Match", ifMatch}
		}
		rec := e.do("POST", "/webhooks/"+base.ID+"/rotate-secret", body, headers...)
		if rec.Code != http.StatusOK {
			checkRefused(t, rec.Code, rec.Body.String())
			assert.Equal(t, snap, e.store.Snapshot(), "a refused rotation changes nothing")
			return
		}
		got := decode[webhookOut](t, rec)
		assert.Equal(t, base.Version+1, got.Version)
		w := e.store.Webhook(base.ID)
		require.NotNil(t, w)
		creds, err := e.secrets.Open(context.Background(), w.ID, w.SealedCredentials)
		require.NoError(t, err)
		assert.Equal(t, got.AuthCredentials["secret"], creds["secret"], "the secret answered is the one sealed")
		assert.NotEqual(t, "old-secret", creds["secret"])
		w.Credentials = creds
		assert.NoError(t, w.Validate(false), "what is stored is valid")
		if w.Previous == nil {
			assert.Nil(t, got.PreviousExpires)
			return
		}
		prev, err := e.secrets.Open(context.Background(), w.ID, w.Previous.Sealed)
		require.NoError(t, err)
		assert.Equal(t, "old-secret", prev["secret"])
		require.NotNil(t, got.PreviousExpires)
		assert.Equal(t, w.Previous.ExpiresAt, *got.PreviousExpires)
	})
}
