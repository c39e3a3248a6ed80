package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/manage"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

type env struct {
	t       *testing.T
	h       http.Handler
	store   *fake.Store
	secrets *fake.Secrets
	logs    *bytes.Buffer
}

var fixedNow = time.Date(2024, 1, 1, 12, 0, 0, 123456789, time.UTC)

// envOptions are what newEnv builds the API from: the webhook service's
// options and the handler's.
type envOptions struct {
	manage.Options
	api Options
}

func newEnv(t *testing.T, mods ...func(*envOptions)) *env {
	t.Helper()
	e := &env{t: t, store: fake.NewStore(), secrets: &fake.Secrets{}, logs: &bytes.Buffer{}}
	clock := fake.NewClock(fixedNow)
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := envOptions{
		Options: manage.Options{
			Store:          e.store,
			Secrets:        e.secrets,
			Mask:           fake.Mask,
			GenerateSecret: fake.GenerateSecret,
			Clock:          clock.Now,
			Sleep:          clock.Sleep,
			Jitter:         func() float64 { return 0.5 },
			Rand:           &fake.Counter{},
			Logger:         logger,
		},
		api: Options{Logger: logger, Clock: clock.Now},
	}
	for _, m := range mods {
		m(&o)
	}
	svc, err := manage.New(o.Options)
	require.NoError(t, err)
	o.api.Webhooks = svc
	h, err := New(o.api)
	require.NoError(t, err)
	e.h = h
	return e
}

// do sends a request; headers are name, value pairs.
func (e *env) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

func (e *env) create(body string) webhookOut {
	e.t.Helper()
	rec := e.do("POST", "/webhooks", body)
	require.Equal(e.t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[webhookOut](e.t, rec)
}

// webhookOut is the response shape, decoded independently of webhookJSON so
// a renamed tag shows up as a test failure.
type webhookOut struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	URL             string            `json:"url"`
	Method          string            `json:"method"`
	Headers         map[string]string `json:"headers"`
	Events          []string          `json:"events"`
	Status          string            `json:"status"`
	AuthType        string            `json:"auth_type"`
	AuthCredentials map[string]string `json:"auth_credentials"`
	PreviousExpires *time.Time        `json:"previous_secret_expires_at"`
	Retry           struct {
		Strategy       string `json:"strategy"`
		MaxAttempts    int    `json:"max_attempts"`
		InitialDelayMS int64  `json:"initial_delay_ms"`
		MaxDelayMS     int64  `json:"max_delay_ms"`
	} `json:"retry"`
	TimeoutMS    int64           `json:"timeout_ms"`
	Filter       json.RawMessage `json:"filter"`
	RateLimit    *rateLimitJSON  `json:"rate_limit"`
	Version      int64           `json:"version"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	StatusReason *string         `json:"status_reason"`
	Hold         bool            `json:"hold"`
	Health       healthOut       `json:"health"`
}

type healthOut struct {
	Circuit             string     `json:"circuit"`
	ConsecutiveFailures int64      `json:"consecutive_failures"`
	FailingSince        *time.Time `json:"failing_since"`
	LastSuccessAt       *time.Time `json:"last_success_at"`
	OpenedAt            *time.Time `json:"opened_at"`
	NextProbeAt         *time.Time `json:"next_probe_at"`
}

type errOut struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "body: %s", rec.Body.String())
	return v
}

// assertError checks an error answer.
func assertError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, field string) errOut {
	t.Helper()
	assert.Equal(t, status, rec.Code, "body: %s", rec.Body.String())
	assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	var e errOut
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "body: %s", rec.Body.String())
	assert.Equal(t, code, e.Error.Code, "body: %s", rec.Body.String())
	assert.Equal(t, field, e.Error.Field, "body: %s", rec.Body.String())
	assert.NotEmpty(t, e.Error.Message)
	return e
}

const validBody = `{"name":"My Webhook","url":"https://example.com/webhook","events":["agent.started","agent.failed"]}`

func TestNewRequiresDependencies(t *testing.T) {
	_, err := New(Options{})
	require.Error(t, err)
	// The webhook service's own dependencies: manage's TestNewRequiresDependencies.
	assert.Contains(t, err.Error(), "Webhooks")
}

func TestCreateDefaults(t *testing.T) {
	e := newEnv(t)
	rec := e.do("POST", "/webhooks", validBody)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"created_at":"2024-01-01T12:00:00.123Z"`)
	got := decode[webhookOut](t, rec)

	assert.True(t, webhook.ValidID(webhook.WebhookIDPrefix, got.ID), got.ID)
	assert.Equal(t, "/webhooks/"+got.ID, rec.Header().Get("Location"))
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))
	assert.Equal(t, "My Webhook", got.Name)
	assert.Equal(t, "https://example.com/webhook", got.URL)
	assert.Equal(t, "POST", got.Method)
	assert.Equal(t, map[string]string{}, got.Headers)
	assert.Equal(t, []string{"agent.started", "agent.failed"}, got.Events)
	assert.Equal(t, "active", got.Status)
	assert.Equal(t, "none", got.AuthType)
	assert.Equal(t, map[string]string{}, got.AuthCredentials)
	assert.Equal(t, "exponential", got.Retry.Strategy)
	assert.Equal(t, 3, got.Retry.MaxAttempts)
	assert.Equal(t, int64(1000), got.Retry.InitialDelayMS)
	assert.Equal(t, int64(60000), got.Retry.MaxDelayMS)
	assert.Equal(t, int64(30000), got.TimeoutMS)
	assert.Equal(t, int64(1), got.Version)
	assert.Equal(t, fixedNow.Truncate(time.Millisecond), got.CreatedAt)
	assert.Equal(t, got.CreatedAt, got.UpdatedAt)

	// What was stored is what GET answers.
	rec = e.do("GET", "/webhooks/"+got.ID, "")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, got, decode[webhookOut](t, rec))
	assert.Equal(t, `"1"`, rec.Header().Get("ETag"))
}

func TestCreateAllFields(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.DefaultTimeout = 5 * time.Second })
	got := e.create(`{"name":"n","url":"https://example.com/h?a=1&b=2","method":"PUT","headers":{"X-Custom":"value"},
		"events":["custom"],"status":"inactive","auth_type":"bearer","auth_credentials":{"token":"secret123"},
		"retry":{"strategy":"linear","max_attempts":5,"initial_delay_ms":500,"max_delay_ms":10000},"timeout_ms":2000}`)
	assert.Equal(t, "PUT", got.Method)
	assert.Equal(t, "https://example.com/h?a=1&b=2", got.URL)
	assert.Equal(t, map[string]string{"X-Custom": "value"}, got.Headers)
	assert.Equal(t, "inactive", got.Status)
	assert.Equal(t, "bearer", got.AuthType)
	assert.Equal(t, map[string]string{"token": "se****"}, got.AuthCredentials, "credentials are masked")
	assert.Equal(t, "linear", got.Retry.Strategy)
	assert.Equal(t, 5, got.Retry.MaxAttempts)
	assert.Equal(t, int64(2000), got.TimeoutMS)

	// Stored sealed, never in plain text.
	w, err := e.store.GetWebhook(context.Background(), got.ID)
	require.NoError(t, err)
	assert.Nil(t, w.Credentials)
	assert.NotContains(t, e.store.Snapshot(), `"token":"secret123"`)
	creds, err := e.secrets.Open(context.Background(), got.ID, w.SealedCredentials)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"token": "secret123"}, creds)

	// Default timeout comes from the options.
	assert.Equal(t, int64(5000), e.create(validBody).TimeoutMS)
	// Partial retry objects fill the rest from the defaults.
	got = e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"retry":{"max_attempts":7}}`)
	assert.Equal(t, 7, got.Retry.MaxAttempts)
	assert.Equal(t, "exponential", got.Retry.Strategy)
	assert.Equal(t, int64(60000), got.Retry.MaxDelayMS)
	// null means "not given" on create.
	got = e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"method":null,"headers":null,"retry":null,"timeout_ms":null,"auth_credentials":null}`)
	assert.Equal(t, "POST", got.Method)
	assert.Equal(t, int64(5000), got.TimeoutMS)
}

func TestCreateHMACGeneratesSecretShownOnce(t *testing.T) {
	e := newEnv(t)
	got := e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"hmac"}`)
	secret := got.AuthCredentials["secret"]
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	assert.NotContains(t, secret, "****", "the create answer shows the generated secret in full")

	w, err := e.store.GetWebhook(context.Background(), got.ID)
	require.NoError(t, err)
	creds, err := e.secrets.Open(context.Background(), got.ID, w.SealedCredentials)
	require.NoError(t, err)
	assert.Equal(t, secret, creds["secret"], "the secret shown is the one sealed")

	rec := e.do("GET", "/webhooks/"+got.ID, "")
	assert.Equal(t, map[string]string{"secret": "wh****"}, decode[webhookOut](t, rec).AuthCredentials, "later reads mask it")

	// A given secret is kept and masked in the answer.
	got = e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"hmac","auth_credentials":{"secret":"shared-secret"}}`)
	assert.Equal(t, map[string]string{"secret": "sh****"}, got.AuthCredentials)
	// Two generated secrets differ.
	a := e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"hmac"}`)
	b := e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"hmac"}`)
	assert.NotEqual(t, a.AuthCredentials["secret"], b.AuthCredentials["secret"])
}

// badInput is a request that must be refused with status, code and field,
// changing nothing.
type badInput struct {
	name    string
	body    string
	headers []string
	status  int
	code    string
	field   string
}

// createBadInputs are refused bodies of POST /webhooks.
func createBadInputs() []badInput {
	big := `{"name":"` + strings.Repeat("a", webhook.MaxBodyBytes) + `","url":"https://example.com/","events":["custom"]}`
	withField := func(extra string) string {
		return `{"name":"n","url":"https://example.com/","events":["custom"],` + extra + `}`
	}
	return []badInput{
		{"invalid JSON", `{"name":`, nil, 400, webhook.EInvalid, ""},
		{"invalid JSON garbage", `not json`, nil, 400, webhook.EInvalid, ""},
		{"empty body", ``, nil, 400, webhook.EInvalid, ""},
		{"white space body", "  \n", nil, 400, webhook.EInvalid, ""},
		{"array body", `[1,2]`, nil, 400, webhook.EInvalid, ""},
		{"null body", `null`, nil, 400, webhook.EInvalid, ""},
		{"string body", `"x"`, nil, 400, webhook.EInvalid, ""},
		{"trailing object", validBody + `{}`, nil, 400, webhook.EInvalid, ""},
		{"trailing garbage", validBody + ` x`, nil, 400, webhook.EInvalid, ""},
		{"unknown field", withField(`"colour":"red"`), nil, 400, webhook.EInvalid, "colour"},
		{"unknown field id", withField(`"id":"wh_x"`), nil, 400, webhook.EInvalid, "id"},
		{"unknown field version", withField(`"version":1`), nil, 400, webhook.EInvalid, "version"},
		{"field with other case", `{"NAME":"n","url":"https://example.com/","events":["custom"]}`, nil, 400, webhook.EInvalid, "NAME"},
		{"unknown retry field", withField(`"retry":{"jitter":true}`), nil, 400, webhook.EInvalid, "retry.jitter"},
		{"wrong type name", `{"name":5,"url":"https://example.com/","events":["custom"]}`, nil, 400, webhook.EInvalid, "name"},
		{"wrong type url", `{"name":"n","url":["x"],"events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"wrong type events", `{"name":"n","url":"https://example.com/","events":"custom"}`, nil, 400, webhook.EInvalid, "events"},
		{"wrong type event item", `{"name":"n","url":"https://example.com/","events":["custom",5]}`, nil, 400, webhook.EInvalid, "events"},
		{"wrong type headers", withField(`"headers":["X-A"]`), nil, 400, webhook.EInvalid, "headers"},
		{"wrong type header value", withField(`"headers":{"X-A":1}`), nil, 400, webhook.EInvalid, "headers"},
		{"null header value", withField(`"headers":{"X-A":null}`), nil, 400, webhook.EInvalid, "headers"},
		{"wrong type timeout", withField(`"timeout_ms":"30000"`), nil, 400, webhook.EInvalid, "timeout_ms"},
		{"fraction timeout", withField(`"timeout_ms":1500.5`), nil, 400, webhook.EInvalid, "timeout_ms"},
		{"huge timeout", withField(`"timeout_ms":1e30`), nil, 400, webhook.EInvalid, "timeout_ms"},
		{"wrong type retry", withField(`"retry":"fast"`), nil, 400, webhook.EInvalid, "retry"},
		{"wrong type max_attempts", withField(`"retry":{"max_attempts":"3"}`), nil, 400, webhook.EInvalid, "retry.max_attempts"},
		{"wrong type status", withField(`"status":true`), nil, 400, webhook.EInvalid, "status"},
		{"wrong type auth_type", withField(`"auth_type":1`), nil, 400, webhook.EInvalid, "auth_type"},
		{"wrong type credentials", withField(`"auth_type":"bearer","auth_credentials":"token"`), nil, 400, webhook.EInvalid, "auth_credentials"},
		{"number credential", withField(`"auth_type":"bearer","auth_credentials":{"token":123}`), nil, 400, webhook.EInvalid, "auth_credentials.token"},
		{"object credential", withField(`"auth_type":"bearer","auth_credentials":{"token":{"a":1}}`), nil, 400, webhook.EInvalid, "auth_credentials.token"},
		{"null credential", withField(`"auth_type":"bearer","auth_credentials":{"token":null}`), nil, 400, webhook.EInvalid, "auth_credentials.token"},
		{"missing name", `{"url":"https://example.com/","events":["custom"]}`, nil, 400, webhook.EInvalid, "name"},
		{"null name", `{"name":null,"url":"https://example.com/","events":["custom"]}`, nil, 400, webhook.EInvalid, "name"},
		{"missing url", `{"name":"n","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"missing events", `{"name":"n","url":"https://example.com/"}`, nil, 400, webhook.EInvalid, "events"},
		{"name over 256", `{"name":"` + strings.Repeat("x", 257) + `","url":"https://example.com/","events":["custom"]}`, nil, 400, webhook.EInvalid, "name"},
		{"url relative", `{"name":"n","url":"/hook","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"url not http", `{"name":"n","url":"ftp://example.com/","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"url no scheme", `{"name":"n","url":"example.com/hook","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"url with credentials", `{"name":"n","url":"https://user:pass@example.com/","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"url loopback", `{"name":"n","url":"http://127.0.0.1:9000/","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"url localhost", `{"name":"n","url":"http://localhost/","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"url private", `{"name":"n","url":"http://10.0.0.1/","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"url metadata", `{"name":"n","url":"http://169.254.169.254/latest/meta-data/","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"url mapped loopback", `{"name":"n","url":"http://[::ffff:127.0.0.1]/","events":["custom"]}`, nil, 400, webhook.EInvalid, "url"},
		{"method GET", withField(`"method":"GET"`), nil, 400, webhook.EInvalid, "method"},
		{"method DELETE", withField(`"method":"DELETE"`), nil, 400, webhook.EInvalid, "method"},
		{"unknown event", `{"name":"n","url":"https://example.com/","events":["agent.exploded"]}`, nil, 400, webhook.EInvalid, "events"},
		{"empty events", `{"name":"n","url":"https://example.com/","events":[]}`, nil, 400, webhook.EInvalid, "events"},
		{"duplicate events", `{"name":"n","url":"https://example.com/","events":["custom","custom"]}`, nil, 400, webhook.EInvalid, "events"},
		{"bad status", withField(`"status":"paused"`), nil, 400, webhook.EInvalid, "status"},
		{"bad auth type", withField(`"auth_type":"digest"`), nil, 400, webhook.EInvalid, "auth_type"},
		{"basic without credentials", withField(`"auth_type":"basic"`), nil, 400, webhook.EInvalid, "auth_credentials.username"},
		{"basic without password", withField(`"auth_type":"basic","auth_credentials":{"username":"u"}`), nil, 400, webhook.EInvalid, "auth_credentials.password"},
		{"bearer without token", withField(`"auth_type":"bearer"`), nil, 400, webhook.EInvalid, "auth_credentials.token"},
		{"bearer wrong key", withField(`"auth_type":"bearer","auth_credentials":{"secret":"x"}`), nil, 400, webhook.EInvalid, "auth_credentials.secret"},
		{"api-key without key", withField(`"auth_type":"api-key","auth_credentials":{"header_name":"X-K"}`), nil, 400, webhook.EInvalid, "auth_credentials.api_key"},
		{"api-key reserved header", withField(`"auth_type":"api-key","auth_credentials":{"api_key":"k","header_name":"Content-Type"}`), nil, 400, webhook.EInvalid, "auth_credentials.header_name"},
		{"hmac empty secret", withField(`"auth_type":"hmac","auth_credentials":{"secret":""}`), nil, 400, webhook.EInvalid, "auth_credentials.secret"},
		{"none with credentials", withField(`"auth_credentials":{"token":"x"}`), nil, 400, webhook.EInvalid, "auth_credentials"},
		{"credentials over 4 KiB", withField(`"auth_type":"bearer","auth_credentials":{"token":"` + strings.Repeat("t", 4096) + `"}`), nil, 400, webhook.EInvalid, "auth_credentials"},
		{"header name CRLF", withField(`"headers":{"X-A\r\nX-B":"v"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header value CRLF", withField(`"headers":{"X-A":"v\r\nX-Injected: 1"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header value LF", withField(`"headers":{"X-A":"v\nw"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header value NUL", withField(`"headers":{"X-A":"v\u0000"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header Host", withField(`"headers":{"Host":"evil.example"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header Content-Length", withField(`"headers":{"Content-Length":"0"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header Content-Type", withField(`"headers":{"content-type":"text/plain"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header X-Webhook-Signature", withField(`"headers":{"X-Webhook-Signature":"sha256=0"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header X-Webhook-Event", withField(`"headers":{"x-webhook-event":"custom"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header webhook-id", withField(`"headers":{"webhook-id":"x"}`), nil, 400, webhook.EInvalid, "headers"},
		{"header Authorization with bearer", withField(`"auth_type":"bearer","auth_credentials":{"token":"t"},"headers":{"Authorization":"x"}`), nil, 400, webhook.EInvalid, "headers"},
		{"timeout too small", withField(`"timeout_ms":999`), nil, 400, webhook.EInvalid, "timeout_ms"},
		{"timeout zero", withField(`"timeout_ms":0`), nil, 400, webhook.EInvalid, "timeout_ms"},
		{"timeout too big", withField(`"timeout_ms":120001`), nil, 400, webhook.EInvalid, "timeout_ms"},
		{"retry attempts 0", withField(`"retry":{"max_attempts":0}`), nil, 400, webhook.EInvalid, "retry.max_attempts"},
		{"retry attempts 21", withField(`"retry":{"max_attempts":21}`), nil, 400, webhook.EInvalid, "retry.max_attempts"},
		{"retry negative delay", withField(`"retry":{"initial_delay_ms":-1}`), nil, 400, webhook.EInvalid, "retry.initial_delay_ms"},
		{"retry initial over max", withField(`"retry":{"initial_delay_ms":70000}`), nil, 400, webhook.EInvalid, "retry.initial_delay_ms"},
		{"retry max over a week", withField(`"retry":{"max_delay_ms":604800001}`), nil, 400, webhook.EInvalid, "retry.max_delay_ms"},
		{"retry strategy", withField(`"retry":{"strategy":"random"}`), nil, 400, webhook.EInvalid, "retry.strategy"},
		{"body over 256 KiB", big, nil, 413, webhook.ETooLarge, ""},
	}
}

func TestCreateBadInput(t *testing.T) {
	tests := createBadInputs()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rec := e.do("POST", "/webhooks", tt.body)
			assertError(t, rec, tt.status, tt.code, tt.field)
			assert.Equal(t, 0, e.store.Len(), "nothing was stored")
			assert.Equal(t, 0, e.secrets.Seals(), "nothing was sealed")
		})
	}
}

func TestWrongTypeMessagesNameTheField(t *testing.T) {
	e := newEnv(t)
	rec := e.do("POST", "/webhooks", `{"name":"n","url":"https://example.com/","events":["custom"],"retry":{"max_attempts":2.5}}`)
	er := assertError(t, rec, 400, webhook.EInvalid, "retry.max_attempts")
	assert.Contains(t, er.Error.Message, "retry.max_attempts must be a whole number")
	rec = e.do("POST", "/webhooks", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"bearer","auth_credentials":{"token":1}}`)
	er = assertError(t, rec, 400, webhook.EInvalid, "auth_credentials.token")
	assert.Contains(t, er.Error.Message, "token")
	assert.Contains(t, er.Error.Message, "string")
}

func TestAllowPrivateTargets(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.AllowPrivate = true })
	for _, u := range []string{"http://127.0.0.1:9000/hook", "http://localhost:3000/", "http://[::1]:8080/", "http://192.168.1.10/"} {
		got := e.create(`{"name":"n","url":"` + u + `","events":["custom"]}`)
		assert.Equal(t, u, got.URL)
	}
	// Other URL rules still hold.
	rec := e.do("POST", "/webhooks", `{"name":"n","url":"http://u:p@127.0.0.1/","events":["custom"]}`)
	assertError(t, rec, 400, webhook.EInvalid, "url")
}

func TestGet(t *testing.T) {
	e := newEnv(t)
	got := e.create(validBody)

	rec := e.do("GET", "/webhooks/wh_0123456789abcdef0123456789abcdef", "")
	assertError(t, rec, 404, webhook.ENotFound, "")

	before := e.store.Calls()
	for _, id := range []string{"nope", "wh_", "wh_XYZ", "evt_0123456789abcdef0123456789abcdef", got.ID + "0", strings.ToUpper(got.ID), "wh_%0a%0d"} {
		rec := e.do("GET", "/webhooks/"+id, "")
		assertError(t, rec, 404, webhook.ENotFound, "")
	}
	assert.Equal(t, before, e.store.Calls(), "malformed ids never reach the store")
}

func TestPatch(t *testing.T) {
	e := newEnv(t)
	got := e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"headers":{"X-A":"1","X-B":"2"},"retry":{"strategy":"fixed","max_attempts":4}}`)
	path := "/webhooks/" + got.ID

	rec := e.do("PATCH", path, `{"name":"New Name","status":"inactive"}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p := decode[webhookOut](t, rec)
	assert.Equal(t, "New Name", p.Name)
	assert.Equal(t, "inactive", p.Status)
	assert.Equal(t, int64(2), p.Version)
	assert.Equal(t, `"2"`, rec.Header().Get("ETag"))
	assert.Equal(t, got.URL, p.URL, "absent members are unchanged")
	assert.Equal(t, got.Headers, p.Headers)
	assert.Equal(t, got.CreatedAt, p.CreatedAt)

	// headers are replaced whole.
	rec = e.do("PATCH", path, `{"headers":{"X-C":"3"}}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, map[string]string{"X-C": "3"}, decode[webhookOut](t, rec).Headers)

	// retry merges member by member; null resets a member to its default.
	rec = e.do("PATCH", path, `{"retry":{"max_attempts":9,"strategy":null}}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p = decode[webhookOut](t, rec)
	assert.Equal(t, 9, p.Retry.MaxAttempts)
	assert.Equal(t, "exponential", p.Retry.Strategy)

	// null on optional members restores the default.
	rec = e.do("PATCH", path, `{"method":"PUT","timeout_ms":5000}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	rec = e.do("PATCH", path, `{"method":null,"timeout_ms":null,"headers":null,"retry":null}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p = decode[webhookOut](t, rec)
	assert.Equal(t, "POST", p.Method)
	assert.Equal(t, int64(30000), p.TimeoutMS)
	assert.Equal(t, map[string]string{}, p.Headers)
	assert.Equal(t, 3, p.Retry.MaxAttempts)

	// An empty patch changes nothing, not even the version.
	rec = e.do("PATCH", path, `{}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, p.Version, decode[webhookOut](t, rec).Version)

	// The version in the body or If-Match guards against lost updates.
	rec = e.do("PATCH", path, fmt.Sprintf(`{"name":"v","version":%d}`, p.Version))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p = decode[webhookOut](t, rec)
	rec = e.do("PATCH", path, `{"name":"w"}`, "If-Match", etag(p.Version))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, "w", decode[webhookOut](t, rec).Name)
}

func TestPatchAuth(t *testing.T) {
	e := newEnv(t)
	got := e.create(`{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"api-key","auth_credentials":{"api_key":"key-1","header_name":"X-Key"}}`)
	path := "/webhooks/" + got.ID

	// Headers are checked against the stored credentials' header_name.
	snap := e.store.Snapshot()
	rec := e.do("PATCH", path, `{"headers":{"x-key":"other"}}`)
	assertError(t, rec, 400, webhook.EInvalid, "headers")
	assert.Equal(t, snap, e.store.Snapshot())

	// Changing other fields keeps the sealed credentials as they were.
	rec = e.do("PATCH", path, `{"name":"renamed"}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, map[string]string{"api_key": "ke****", "header_name": "X-Key"}, decode[webhookOut](t, rec).AuthCredentials)
	w, err := e.store.GetWebhook(context.Background(), got.ID)
	require.NoError(t, err)
	c, err := e.secrets.Open(context.Background(), got.ID, w.SealedCredentials)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"api_key": "key-1", "header_name": "X-Key"}, c)

	// A new auth type needs its credentials.
	snap = e.store.Snapshot()
	rec = e.do("PATCH", path, `{"auth_type":"bearer"}`)
	assertError(t, rec, 400, webhook.EInvalid, "auth_credentials")
	rec = e.do("PATCH", path, `{"auth_type":"basic","auth_credentials":{"username":"u"}}`)
	assertError(t, rec, 400, webhook.EInvalid, "auth_credentials.password")
	rec = e.do("PATCH", path, `{"auth_credentials":{"token":"t"}}`)
	assertError(t, rec, 400, webhook.EInvalid, "auth_credentials.token")
	assert.Equal(t, snap, e.store.Snapshot())

	rec = e.do("PATCH", path, `{"auth_type":"bearer","auth_credentials":{"token":"tok-2"}}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p := decode[webhookOut](t, rec)
	assert.Equal(t, "bearer", p.AuthType)
	assert.Equal(t, map[string]string{"token": "to****"}, p.AuthCredentials)

	// Credentials are replaced whole.
	rec = e.do("PATCH", path, `{"auth_credentials":{"token":"tok-3"}}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	w, _ = e.store.GetWebhook(context.Background(), got.ID)
	c, _ = e.secrets.Open(context.Background(), got.ID, w.SealedCredentials)
	assert.Equal(t, map[string]string{"token": "tok-3"}, c)

	// Switching to hmac without a secret generates one, shown in this answer.
	rec = e.do("PATCH", path, `{"auth_type":"hmac"}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p = decode[webhookOut](t, rec)
	secret := p.AuthCredentials["secret"]
	assert.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	w, _ = e.store.GetWebhook(context.Background(), got.ID)
	c, _ = e.secrets.Open(context.Background(), got.ID, w.SealedCredentials)
	assert.Equal(t, map[string]string{"secret": secret}, c)

	// Switching to none drops the credentials.
	rec = e.do("PATCH", path, `{"auth_type":"none"}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, map[string]string{}, decode[webhookOut](t, rec).AuthCredentials)
	w, _ = e.store.GetWebhook(context.Background(), got.ID)
	assert.Empty(t, w.SealedCredentials)
	rec = e.do("PATCH", path, `{"auth_credentials":{"token":"x"}}`)
	assertError(t, rec, 400, webhook.EInvalid, "auth_credentials")
}

// patchBadInputs are refused PATCH requests on a webhook at version 1.
func patchBadInputs() []badInput {
	return []badInput{
		{"invalid JSON", `{"name":`, nil, 400, webhook.EInvalid, ""},
		{"empty body", ``, nil, 400, webhook.EInvalid, ""},
		{"array", `[]`, nil, 400, webhook.EInvalid, ""},
		{"trailing data", `{"name":"x"} {}`, nil, 400, webhook.EInvalid, ""},
		{"unknown field", `{"nam":"x"}`, nil, 400, webhook.EInvalid, "nam"},
		{"immutable id", `{"id":"wh_0123456789abcdef0123456789abcdef"}`, nil, 400, webhook.EInvalid, "id"},
		{"immutable created_at", `{"created_at":"2020-01-01T00:00:00Z"}`, nil, 400, webhook.EInvalid, "created_at"},
		{"read-only health", `{"health":{"circuit":"closed"}}`, nil, 400, webhook.EInvalid, "health"},
		{"read-only status_reason", `{"status":"inactive","status_reason":"gone"}`, nil, 400, webhook.EInvalid, "status_reason"},
		{"wrong type", `{"events":"custom"}`, nil, 400, webhook.EInvalid, "events"},
		{"wrong type version", `{"version":"1"}`, nil, 400, webhook.EInvalid, "version"},
		{"zero version", `{"version":0}`, nil, 400, webhook.EInvalid, "version"},
		{"null name", `{"name":null}`, nil, 400, webhook.EInvalid, "name"},
		{"null url", `{"url":null}`, nil, 400, webhook.EInvalid, "url"},
		{"null events", `{"events":null}`, nil, 400, webhook.EInvalid, "events"},
		{"null status", `{"status":null}`, nil, 400, webhook.EInvalid, "status"},
		{"null auth_type", `{"auth_type":null}`, nil, 400, webhook.EInvalid, "auth_type"},
		{"empty name", `{"name":""}`, nil, 400, webhook.EInvalid, "name"},
		{"long name", `{"name":"` + strings.Repeat("n", 257) + `"}`, nil, 400, webhook.EInvalid, "name"},
		{"bad url", `{"url":"not a url"}`, nil, 400, webhook.EInvalid, "url"},
		{"url credentials", `{"url":"https://a:b@example.com/"}`, nil, 400, webhook.EInvalid, "url"},
		{"private url", `{"url":"http://192.168.0.1/"}`, nil, 400, webhook.EInvalid, "url"},
		{"bad method", `{"method":"GET"}`, nil, 400, webhook.EInvalid, "method"},
		{"unknown event", `{"events":["nope"]}`, nil, 400, webhook.EInvalid, "events"},
		{"empty events", `{"events":[]}`, nil, 400, webhook.EInvalid, "events"},
		{"bad status", `{"status":"deleted"}`, nil, 400, webhook.EInvalid, "status"},
		{"reserved header", `{"headers":{"Host":"x"}}`, nil, 400, webhook.EInvalid, "headers"},
		{"CRLF header", `{"headers":{"X-A":"a\r\nb"}}`, nil, 400, webhook.EInvalid, "headers"},
		{"timeout", `{"timeout_ms":120001}`, nil, 400, webhook.EInvalid, "timeout_ms"},
		{"retry", `{"retry":{"max_attempts":0}}`, nil, 400, webhook.EInvalid, "retry.max_attempts"},
		{"retry unknown member", `{"retry":{"backoff":1}}`, nil, 400, webhook.EInvalid, "retry.backoff"},
		{"bad If-Match", `{"name":"x"}`, []string{"If-Match", "v1"}, 400, webhook.EInvalid, "If-Match"},
		{"unquoted If-Match", `{"name":"x"}`, []string{"If-Match", "1"}, 400, webhook.EInvalid, "If-Match"},
		{"version and If-Match disagree", `{"name":"x","version":1}`, []string{"If-Match", `"2"`}, 400, webhook.EInvalid, "version"},
		{"stale version", `{"name":"x","version":7}`, nil, 409, webhook.EConflict, ""},
		{"stale If-Match", `{"name":"x"}`, []string{"If-Match", `"7"`}, 409, webhook.EConflict, ""},
		{"body over 256 KiB", `{"name":"` + strings.Repeat("a", webhook.MaxBodyBytes) + `"}`, nil, 413, webhook.ETooLarge, ""},
	}
}

func TestPatchBadInput(t *testing.T) {
	tests := patchBadInputs()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			got := e.create(`{"name":"n","url":"https://example.com/","events":["custom"]}`)
			snap := e.store.Snapshot()
			rec := e.do("PATCH", "/webhooks/"+got.ID, tt.body, tt.headers...)
			assertError(t, rec, tt.status, tt.code, tt.field)
			assert.Equal(t, snap, e.store.Snapshot(), "nothing changed")
		})
	}
}

func TestPatchStaleAfterConcurrentChange(t *testing.T) {
	e := newEnv(t)
	got := e.create(validBody)
	path := "/webhooks/" + got.ID
	// Another client changes it first.
	require.Equal(t, 200, e.do("PATCH", path, `{"name":"theirs"}`).Code)
	snap := e.store.Snapshot()
	rec := e.do("PATCH", path, `{"name":"mine","version":1}`)
	assertError(t, rec, 409, webhook.EConflict, "")
	assert.Equal(t, snap, e.store.Snapshot())
	rec = e.do("GET", path, "")
	assert.Equal(t, "theirs", decode[webhookOut](t, rec).Name)
}

// racingStore lets one other writer win between the API's read and write.
type racingStore struct {
	*fake.Store
	races int
}

func (s *racingStore) UpdateWebhook(ctx context.Context, w *webhook.Webhook) error {
	if s.races > 0 {
		s.races--
		other, err := s.Store.GetWebhook(ctx, w.ID)
		if err != nil {
			return err
		}
		other.Name = "other writer"
		if err := s.Store.UpdateWebhook(ctx, other); err != nil {
			return err
		}
	}
	return s.Store.UpdateWebhook(ctx, w)
}

func TestPatchWithoutVersionReappliesAfterRace(t *testing.T) {
	rs := &racingStore{Store: fake.NewStore()}
	e := newEnv(t, func(o *envOptions) { o.Store = rs })
	e.store = rs.Store
	got := e.create(validBody)
	path := "/webhooks/" + got.ID

	rs.races = 1
	rec := e.do("PATCH", path, `{"timeout_ms":2000}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p := decode[webhookOut](t, rec)
	assert.Equal(t, int64(3), p.Version)
	assert.Equal(t, "other writer", p.Name, "merged onto the winner's state")
	assert.Equal(t, int64(2000), p.TimeoutMS)

	// With a version, a lost race is the client's to resolve.
	rs.races = 1
	rec = e.do("PATCH", path, `{"timeout_ms":3000,"version":3}`)
	assertError(t, rec, 409, webhook.EConflict, "")

	// Pause retries too.
	rs.races = 1
	rec = e.do("POST", path+"/pause", "")
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, "inactive", decode[webhookOut](t, rec).Status)

	// A writer that always wins ends in 409, not a loop.
	rs.races = 100
	rec = e.do("PATCH", path, `{"timeout_ms":4000}`)
	assertError(t, rec, 409, webhook.EConflict, "")
}

// Twenty clients PATCH one webhook at once, none with a version: all get
// 200. The store's reads take a while, so the writers race; the service
// re-applies with backoff on synctest's clock, which makes the waits free.
func TestConcurrentPatchesWithoutVersionAllSucceed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(o *envOptions) { o.Clock, o.Sleep, o.api.Clock = nil, nil, nil })
		e.store.ReadDelay = 5 * time.Millisecond
		got := e.create(validBody)
		const n = 20
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				rec := e.do("PATCH", "/webhooks/"+got.ID, fmt.Sprintf(`{"name":"writer %d"}`, i))
				codes[i] = rec.Code
			})
		}
		wg.Wait()
		for i, c := range codes {
			assert.Equal(t, http.StatusOK, c, "writer %d", i)
		}
		rec := e.do("GET", "/webhooks/"+got.ID, "")
		assert.Equal(t, int64(1+n), decode[webhookOut](t, rec).Version, "each patch written once")
	})
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	got := e.create(validBody)
	keep := e.create(validBody)
	path := "/webhooks/" + got.ID

	rec := e.do("DELETE", path, "", "If-Match", `"9"`)
	assertError(t, rec, 409, webhook.EConflict, "")
	assert.Equal(t, 2, e.store.Len())

	rec = e.do("DELETE", path, "")
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Empty(t, rec.Body.String())
	assert.Equal(t, 1, e.store.Len())

	assertError(t, e.do("GET", path, ""), 404, webhook.ENotFound, "")
	assertError(t, e.do("DELETE", path, ""), 404, webhook.ENotFound, "")
	assertError(t, e.do("PATCH", path, `{"name":"x"}`), 404, webhook.ENotFound, "")
	assertError(t, e.do("PATCH", path, `{"name":"x","version":1}`), 404, webhook.ENotFound, "")
	assertError(t, e.do("POST", path+"/pause", ""), 404, webhook.ENotFound, "")
	assertError(t, e.do("POST", path+"/resume", ""), 404, webhook.ENotFound, "")
	assertError(t, e.do("GET", path+"/stats", ""), 404, webhook.ENotFound, "")
	assertError(t, e.do("DELETE", "/webhooks/garbage", ""), 404, webhook.ENotFound, "")
	assert.Equal(t, 200, e.do("GET", "/webhooks/"+keep.ID, "").Code)

	rec = e.do("DELETE", "/webhooks/"+keep.ID, "", "If-Match", `"1"`)
	assert.Equal(t, http.StatusNoContent, rec.Code)
}

func TestPauseResume(t *testing.T) {
	e := newEnv(t)
	got := e.create(validBody)
	path := "/webhooks/" + got.ID

	rec := e.do("POST", path+"/pause", "")
	require.Equal(t, 200, rec.Code, rec.Body.String())
	p := decode[webhookOut](t, rec)
	assert.Equal(t, "inactive", p.Status)
	assert.Equal(t, int64(2), p.Version)

	rec = e.do("POST", path+"/pause", "")
	require.Equal(t, 200, rec.Code)
	p = decode[webhookOut](t, rec)
	assert.Equal(t, "inactive", p.Status)
	assert.Equal(t, int64(2), p.Version, "pausing a paused webhook changes nothing")

	rec = e.do("POST", path+"/resume", "")
	require.Equal(t, 200, rec.Code)
	p = decode[webhookOut](t, rec)
	assert.Equal(t, "active", p.Status)
	assert.Equal(t, int64(3), p.Version)

	rec = e.do("POST", path+"/resume", "")
	assert.Equal(t, int64(3), decode[webhookOut](t, rec).Version)
}

func TestList(t *testing.T) {
	e := newEnv(t)
	a := e.create(`{"name":"a","url":"https://example.com/","events":["agent.started"]}`)
	b := e.create(`{"name":"b","url":"https://example.com/","events":["agent.started","custom"],"status":"inactive"}`)
	c := e.create(`{"name":"c","url":"https://example.com/","events":["custom"],"auth_type":"bearer","auth_credentials":{"token":"abcdef"}}`)

	type listOut struct {
		Items      []webhookOut `json:"items"`
		NextCursor string       `json:"next_cursor"`
	}
	ids := func(l listOut) []string {
		var out []string
		for _, w := range l.Items {
			out = append(out, w.ID)
		}
		return out
	}
	list := func(q string) listOut {
		t.Helper()
		rec := e.do("GET", "/webhooks"+q, "")
		require.Equal(t, 200, rec.Code, rec.Body.String())
		return decode[listOut](t, rec)
	}
	all := list("")
	assert.ElementsMatch(t, []string{a.ID, b.ID, c.ID}, ids(all))
	assert.Empty(t, all.NextCursor)
	for _, w := range all.Items {
		if w.ID == c.ID {
			assert.Equal(t, map[string]string{"token": "ab****"}, w.AuthCredentials)
		}
	}
	assert.ElementsMatch(t, []string{b.ID}, ids(list("?status=inactive")))
	assert.ElementsMatch(t, []string{a.ID, c.ID}, ids(list("?status=active")))
	assert.ElementsMatch(t, []string{b.ID, c.ID}, ids(list("?event=custom")))
	assert.ElementsMatch(t, []string{c.ID}, ids(list("?event=custom&status=active")))

	// Pages: next_cursor is present while there is more, absent on the last.
	p1 := list("?limit=2")
	require.Len(t, p1.Items, 2)
	require.NotEmpty(t, p1.NextCursor)
	rec := e.do("GET", "/webhooks?limit=2&cursor="+p1.NextCursor, "")
	assert.NotContains(t, rec.Body.String(), "next_cursor")
	p2 := decode[listOut](t, rec)
	assert.Len(t, p2.Items, 1)
	assert.ElementsMatch(t, []string{a.ID, b.ID, c.ID}, append(ids(p1), ids(p2)...))

	// Empty list is an empty array.
	rec = e.do("GET", "/webhooks?event=task.failed", "")
	assert.JSONEq(t, `{"items":[]}`, rec.Body.String())
}

func TestListBadInput(t *testing.T) {
	tests := []struct{ query, field string }{
		{"?status=paused", "status"},
		{"?status=ACTIVE", "status"},
		{"?event=nope", "event"},
		{"?limit=0", "limit"},
		{"?limit=101", "limit"},
		{"?limit=-1", "limit"},
		{"?limit=ten", "limit"},
		{"?limit=1.5", "limit"},
		{"?cursor=zzz", "cursor"}, // the store's answer for a cursor it did not issue
		{"?stauts=active", "stauts"},
		{"?status=active&status=inactive", "status"},
	}
	e := newEnv(t)
	e.create(validBody)
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			assertError(t, e.do("GET", "/webhooks"+tt.query, ""), 400, webhook.EInvalid, tt.field)
		})
	}
}

func TestStats(t *testing.T) {
	e := newEnv(t)
	got := e.create(validBody)
	rec := e.do("GET", "/webhooks/"+got.ID+"/stats", "")
	require.Equal(t, 200, rec.Code)
	assert.JSONEq(t, `{"webhook_id":"`+got.ID+`","total_deliveries":0,"successful":0,"failed":0,"success_rate":0,
		"avg_response_ms":0,"held":0,"last_delivery_at":null,"last_success_at":null,"last_failure_at":null}`, rec.Body.String())

	last := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	e.store.SetStats(got.ID, webhook.Stats{TotalDeliveries: 4, Successful: 3, Failed: 1, Attempts: 5, TotalResponseMS: 500,
		Held: 2, LastDeliveryAt: &last, LastSuccessAt: &last})
	rec = e.do("GET", "/webhooks/"+got.ID+"/stats", "")
	assert.JSONEq(t, `{"webhook_id":"`+got.ID+`","total_deliveries":4,"successful":3,"failed":1,"success_rate":0.75,
		"avg_response_ms":100,"held":2,"last_delivery_at":"2024-02-03T04:05:06.000Z","last_success_at":"2024-02-03T04:05:06.000Z","last_failure_at":null}`, rec.Body.String())

	// The mean response time is rounded to 0.1 ms.
	for _, tc := range []struct {
		attempts, totalMS int64
		want              string
	}{
		{3, 500, `"avg_response_ms":166.7,`},
		{3, 100, `"avg_response_ms":33.3,`},
		{8, 1, `"avg_response_ms":0.1,`},
		{7, 2002, `"avg_response_ms":286,`},
	} {
		e.store.SetStats(got.ID, webhook.Stats{TotalDeliveries: 1, Successful: 1, Attempts: tc.attempts, TotalResponseMS: tc.totalMS})
		rec = e.do("GET", "/webhooks/"+got.ID+"/stats", "")
		assert.Contains(t, rec.Body.String(), tc.want)
	}

	assertError(t, e.do("GET", "/webhooks/bad/stats", ""), 404, webhook.ENotFound, "")
}

func TestStatsBuckets(t *testing.T) {
	e := newEnv(t)
	got := e.create(validBody)
	hour := fixedNow.Truncate(time.Hour)
	h := webhook.HourStats{Start: hour, Succeeded: 2, Failed: 1, Retrying: 3}
	h.Latency[webhook.LatencyBucket(100)] = 6
	e.store.SetStats(got.ID, webhook.Stats{Successful: 2, Failed: 1, Hours: []webhook.HourStats{h}})

	rec := e.do("GET", "/webhooks/"+got.ID+"/stats?window=24h", "")
	require.Equal(t, 200, rec.Code, rec.Body.String())
	var out struct {
		Window, Bucket string
		Buckets        []map[string]any
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	assert.Equal(t, "24h", out.Window)
	assert.Equal(t, "1h", out.Bucket)
	require.Len(t, out.Buckets, 24)
	assert.Equal(t, map[string]any{"start": hour.UTC().Format(TimeLayout), "succeeded": 2.0, "failed": 1.0, "retrying": 3.0,
		"attempts": 6.0, "p50_ms": 128.0, "p90_ms": 128.0, "p99_ms": 128.0}, out.Buckets[23])
	assert.Nil(t, out.Buckets[0]["p50_ms"])
	rec = e.do("GET", "/webhooks/"+got.ID+"/stats?window=7d&bucket=1h", "")
	require.Equal(t, 200, rec.Code)
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	assert.Len(t, out.Buckets, 168)

	for _, tt := range []struct{ query, field string }{
		{"?window=30d", "window"},
		{"?window=", "window"},
		{"?bucket=1h", "window"},
		{"?window=24h&bucket=1d", "bucket"},
		{"?window=24h&window=7d", "window"},
		{"?since=1h", "since"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			assertError(t, e.do("GET", "/webhooks/"+got.ID+"/stats"+tt.query, ""), 400, webhook.EInvalid, tt.field)
		})
	}
	assertError(t, e.do("GET", "/webhooks/wh_0123456789abcdef0123456789abcdef/stats?window=24h", ""), 404, webhook.ENotFound, "")
}

func TestEventTypesAndHealth(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/events/types", "")
	require.Equal(t, 200, rec.Code)
	var types struct {
		Items []webhook.EventType `json:"items"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &types))
	assert.Equal(t, webhook.EventTypes(), types.Items)
	assert.Len(t, types.Items, 19, "the seed's 15 and the 4 operational events")

	rec = e.do("GET", "/healthz", "")
	assert.Equal(t, 200, rec.Code)
	assert.JSONEq(t, `{"status":"ok"}`, rec.Body.String())

	var healthErr error = errors.New("tables not created yet")
	e = newEnv(t, func(o *envOptions) { o.api.Health = func(context.Context) error { return healthErr } })
	assert.Equal(t, 503, e.do("GET", "/healthz", "").Code)
	healthErr = nil
	assert.Equal(t, 200, e.do("GET", "/healthz", "").Code)
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	rec := e.do("PUT", "/webhooks", validBody)
	assertError(t, rec, 405, "method_not_allowed", "")
	assert.Contains(t, rec.Header().Get("Allow"), "POST")
	assert.Contains(t, rec.Header().Get("Allow"), "GET")

	rec = e.do("POST", "/webhooks/wh_0123456789abcdef0123456789abcdef", "{}")
	assertError(t, rec, 405, "method_not_allowed", "")

	assertError(t, e.do("GET", "/nope", ""), 404, "not_found", "")
	assertError(t, e.do("GET", "/", ""), 404, "not_found", "")
	assertError(t, e.do("GET", "/webhooks/x/y/z", ""), 404, "not_found", "")
	// The trigger side is not served until it is plugged in.
	assertError(t, e.do("POST", "/events", `{"event":"custom"}`), 404, "not_found", "")
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	e := newEnv(t)
	got := e.create(`{"name":"n","url":"https://example.com/","events":["custom"]}`)
	e.store.Fail(errors.New("dynamodb: connection reset by peer"))

	rec := e.do("PATCH", "/webhooks/"+got.ID, `{"auth_type":"bearer","auth_credentials":{"token":"very-secret-token"}}`, RequestIDHeader, "req-42")
	er := assertError(t, rec, 500, webhook.EInternal, "")
	assert.Equal(t, "internal error", er.Error.Message)
	assert.NotContains(t, rec.Body.String(), "dynamodb")
	assert.Equal(t, "req-42", rec.Header().Get(RequestIDHeader))

	logs := e.logs.String()
	assert.Contains(t, logs, "connection reset by peer")
	assert.Contains(t, logs, `"request_id":"req-42"`)
	assert.NotContains(t, logs, "very-secret-token", "credentials are never logged")
}

type panicStore struct{ *fake.Store }

func (panicStore) GetWebhook(context.Context, string) (*webhook.Webhook, error) { panic("boom") }

func TestPanicIs500(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.Store = panicStore{fake.NewStore()} })
	rec := e.do("GET", "/webhooks/wh_0123456789abcdef0123456789abcdef", "")
	assertError(t, rec, 500, webhook.EInternal, "")
	assert.Contains(t, e.logs.String(), "boom")
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/healthz", "")
	assert.NotEmpty(t, rec.Header().Get(RequestIDHeader))
	rec = e.do("GET", "/healthz", "", RequestIDHeader, "abc-123")
	assert.Equal(t, "abc-123", rec.Header().Get(RequestIDHeader))
	rec = e.do("GET", "/healthz", "", RequestIDHeader, "bad id\twith spaces")
	assert.NotEqual(t, "bad id\twith spaces", rec.Header().Get(RequestIDHeader))
	assert.Contains(t, e.logs.String(), `"route":"GET /healthz"`)
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 200},
		{webhook.Invalid("x", "bad"), 400},
		{webhook.Errorf(webhook.ENotFound, "x"), 404},
		{webhook.Errorf(webhook.EConflict, "x"), 409},
		{webhook.Errorf(webhook.ETooLarge, "x"), 413},
		{webhook.Errorf(webhook.EInternal, "x"), 500},
		{webhook.Errorf(webhook.EUnavailable, "x"), 503},
		{errors.New("plain"), 500},
		{fmt.Errorf("wrapped: %w", webhook.Errorf(webhook.ENotFound, "x")), 404},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, StatusOf(tt.err), "%v", tt.err)
	}
}
