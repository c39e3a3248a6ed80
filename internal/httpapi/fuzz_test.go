package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/oauth2"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// fuzzSeedLimit keeps the seed corpus to bodies a fuzzer can mutate quickly;
// the size limit itself has its own tests.
const fuzzSeedLimit = 4 << 10

// checkStored asserts what any webhook the API stored must be: valid as
// create-time validation with private targets refused says, with no
// plaintext credentials, and answered by GET exactly as the write answered.
func checkStored(t *testing.T, e *env, answer string) webhookOut {
	t.Helper()
	var got webhookOut
	require.NoError(t, json.Unmarshal([]byte(answer), &got), answer)
	w := e.store.Webhook(got.ID)
	require.NotNil(t, w, "the answered webhook is stored")
	assert.Nil(t, w.Credentials, "no plaintext credentials are stored")
	w.Credentials, _ = e.secrets.Open(context.Background(), w.ID, w.SealedCredentials)
	assert.NoError(t, w.Validate(false), "what is stored is valid")
	if w.AuthType == webhook.AuthOAuth2 {
		_, err := oauth2.ParseCredentials(w.Credentials, false)
		assert.NoError(t, err, "stored oauth2 credentials are valid")
	}
	rec := e.do("GET", "/webhooks/"+got.ID, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	// A generated secret is shown in full once, by the write; reads mask it.
	want := got
	want.AuthCredentials = w.MaskedCredentials
	if want.AuthCredentials == nil {
		want.AuthCredentials = map[string]string{}
	}
	assert.Equal(t, want, decode[webhookOut](t, rec), "read back as written")
	return got
}

// checkRefused asserts a refusal: a 4xx with the error JSON, never a 5xx.
func checkRefused(t *testing.T, status int, body string) {
	t.Helper()
	require.Less(t, status, 500, "never a 5xx: %s", body)
	require.GreaterOrEqual(t, status, 400, body)
	var e errOut
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	assert.NotEmpty(t, e.Error.Code, body)
	assert.NotEmpty(t, e.Error.Message, body)
}

// FuzzCreateWebhook sends bodies to POST /webhooks through the real handler
// and the webhook service on the in-memory fakes: a create is either
// accepted, stored valid and read back as answered, or refused with a 4xx
// and nothing stored or sealed; never a 5xx.
func FuzzCreateWebhook(f *testing.F) {
	f.Add(validBody)
	f.Add(`{"name":"n","url":"https://example.com/h?a=1&b=2","method":"PUT","headers":{"X-Custom":"value"},
		"events":["custom"],"status":"inactive","auth_type":"bearer","auth_credentials":{"token":"secret123"},
		"retry":{"strategy":"linear","max_attempts":5,"initial_delay_ms":500,"max_delay_ms":10000},"timeout_ms":2000}`)
	f.Add(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"hmac"}`)
	f.Add(`{"name":"n","url":"https://example.com/","events":["custom"],"filter":{"data":{"amount":{"$gt":100}},"$or":[{"event":"custom"}]}}`)
	f.Add(`{"name":"n","url":"https://example.com/","events":["custom"],"rate_limit":{"per_second":5}}`)
	f.Add(`{"name":"n","url":"https://example.com/","events":["custom"],"rate_limit":{"per_second":1e4,"x":1}}`)
	f.Add(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"api-key","auth_credentials":{"api_key":"k","header_name":"X-K"}}`)
	f.Add(`{"name":"n","url":"https://example.com/","events":["custom"],"method":null,"headers":null,"retry":null,"timeout_ms":null,"auth_credentials":null}`)
	f.Add(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"oauth2","auth_credentials":{"token_url":"https://auth.example.com/token","client_id":"c","client_secret":"s","scope":"a b","audience":"x","auth_style":"body"}}`)
	f.Add(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"oauth2","auth_credentials":{"token_url":"http://10.0.0.1/token","client_id":"c","client_secret":"s"}}`)
	for _, in := range createBadInputs() {
		if len(in.body) <= fuzzSeedLimit {
			f.Add(in.body)
		}
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := newEnv(t)
		rec := e.do("POST", "/webhooks", body)
		if rec.Code == http.StatusCreated {
			got := checkStored(t, e, rec.Body.String())
			assert.Equal(t, 1, e.store.Len())
			assert.Equal(t, "/webhooks/"+got.ID, rec.Header().Get("Location"))
			assert.Equal(t, int64(1), got.Version)
			return
		}
		checkRefused(t, rec.Code, rec.Body.String())
		assert.Zero(t, e.store.Len(), "a refused create stores nothing")
		assert.Zero(t, e.secrets.Seals(), "and seals nothing")
	})
}

// FuzzPatchWebhook sends bodies and If-Match headers to PATCH
// /webhooks/{id} of a stored webhook: a patch is either accepted, leaving a
// valid webhook read back as answered (at the next version, or the same one
// when it changed nothing), or refused with a 4xx and the store as it was;
// never a 5xx.
func FuzzPatchWebhook(f *testing.F) {
	f.Add(`{"name":"New Name","status":"inactive"}`, "")
	f.Add(`{"headers":{"X-C":"3"}}`, `"1"`)
	f.Add(`{"retry":{"max_attempts":9,"strategy":null}}`, "")
	f.Add(`{"method":null,"timeout_ms":null,"headers":null,"retry":null}`, "*")
	f.Add(`{"auth_type":"hmac"}`, "")
	f.Add(`{"filter":{"metadata":{"source":{"$in":["a","b"]}}}}`, "")
	f.Add(`{"filter":null}`, "")
	f.Add(`{"rate_limit":{"per_second":10000}}`, "")
	f.Add(`{"rate_limit":null}`, "")
	f.Add(`{"rate_limit":{"per_second":-1}}`, "")
	f.Add(`{"auth_type":"none"}`, "")
	f.Add(`{"auth_type":"bearer","auth_credentials":{"token":"tok-2"}}`, "")
	f.Add(`{"auth_credentials":{"api_key":"key-2"}}`, "")
	f.Add(`{"auth_type":"oauth2","auth_credentials":{"token_url":"https://auth.example.com/token","client_id":"c","client_secret":"s"}}`, "")
	f.Add(`{"auth_type":"oauth2","auth_credentials":{"token_url":"https://169.254.169.254/","client_id":"c","client_secret":"s"}}`, "")
	f.Add(`{}`, "")
	f.Add(`{"name":"v","version":1}`, `"1"`)
	for _, in := range patchBadInputs() {
		if len(in.body) > fuzzSeedLimit {
			continue
		}
		ifMatch := ""
		if len(in.headers) == 2 && in.headers[0] == "If-Match" {
			ifMatch = in.headers[1]
		}
		f.Add(in.body, ifMatch)
	}
	f.Fuzz(func(t *testing.T, body, ifMatch string) {
		e := newEnv(t)
		base := e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"headers":{"X-A":"1"},
			"auth_type":"api-key","auth_credentials":{"api_key":"key-1","header_name":"X-Key"}}`)
		snap := e.store.Snapshot()
		var headers []string
		if ifMatch != "" {
			headers = []string{"If-Match", ifMatch}
		}
		rec := e.do("PATCH", "/webhooks/"+base.ID, body, headers...)
		if rec.Code == http.StatusOK {
			got := checkStored(t, e, rec.Body.String())
			assert.Equal(t, base.ID, got.ID)
			assert.Equal(t, base.CreatedAt, got.CreatedAt)
			switch got.Version {
			case base.Version:
				assert.Equal(t, snap, e.store.Snapshot(), "the same version is the same webhook")
			case base.Version + 1:
				assert.NotEqual(t, snap, e.store.Snapshot(), "a new version is a change")
			default:
				t.Fatalf("version %d after a patch of version %d", got.Version, base.Version)
			}
			return
		}
		checkRefused(t, rec.Code, rec.Body.String())
		assert.Equal(t, snap, e.store.Snapshot(), "a refused patch changes nothing")
		if rec.Code == http.StatusConflict {
			var m map[string]json.RawMessage
			_ = json.Unmarshal([]byte(body), &m)
			_, inBody := m["version"]
			assert.True(t, inBody || ifMatch != "" && ifMatch != "*", "409 only for a version the client sent")
		}
	})
}
