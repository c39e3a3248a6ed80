package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// lambdaEnv is the API Lambda's handler as functions/api builds it, on
// fresh tables and a fresh key of the test binary's emulator.
func lambdaEnv(t *testing.T, env map[string]string) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	t.Helper()
	s := uuid.NewString()[:8]
	stack, err := localaws.Start(context.Background(), localaws.Options{
		Endpoint: testenv.KumoURL(),
		Tables:   store.Tables{Webhooks: "wh-" + s, Deliveries: "dl-" + s},
		KeyAlias: "alias/app-" + s, QueuePrefix: "app-" + s + "-",
	})
	require.NoError(t, err)
	vars := map[string]string{
		"TABLE_WEBHOOKS":     stack.Tables.Webhooks,
		"TABLE_DELIVERIES":   stack.Tables.Deliveries,
		"KMS_KEY_ID":         stack.KeyAlias,
		"DELIVERY_QUEUE_URL": stack.Queues.DeliveryQueue,
		"EVENTS_QUEUE_URL":   stack.Queues.EventsQueue,
		"DYNAMODB_ENDPOINT":  stack.Endpoint,
		"KMS_ENDPOINT":       stack.Endpoint,
		"SQS_ENDPOINT":       stack.Endpoint,
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Parse(func(k string) string { return vars[k] })
	require.NoError(t, err)
	clients := stack.Clients
	h, err := NewAPI(cfg, clients, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return LambdaHandler(h)
}

func loadEvent(t *testing.T, path string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var ev events.APIGatewayV2HTTPRequest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields() // a typo in a sample event is caught here
	require.NoError(t, dec.Decode(&ev), path)
	return ev
}

type errorJSON struct {
	Error struct{ Code, Message, Field string } `json:"error"`
}

// TestSampleEvents feeds every events/api-*.json through the adapter and
// the handler, as the Lambda runtime would.
func TestSampleEvents(t *testing.T) {
	type want struct {
		status int
		code   string // error code, for error answers
		field  string
		check  func(t *testing.T, body string)
	}
	webhookBody := func(name string, authType string) func(*testing.T, string) {
		return func(t *testing.T, body string) {
			var w struct {
				ID              string            `json:"id"`
				Name            string            `json:"name"`
				AuthType        string            `json:"auth_type"`
				AuthCredentials map[string]string `json:"auth_credentials"`
				Version         int64             `json:"version"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &w))
			assert.True(t, webhook.ValidID(webhook.WebhookIDPrefix, w.ID))
			assert.Equal(t, name, w.Name)
			assert.Equal(t, authType, w.AuthType)
			assert.Equal(t, int64(1), w.Version)
			for k, v := range w.AuthCredentials {
				if authType == "hmac" {
					assert.True(t, strings.HasPrefix(v, "whsec_"), "generated secret shown once: %s", v)
				} else {
					assert.NotContains(t, v, "secret-token-123", "credential %s is masked", k)
				}
			}
		}
	}
	wants := map[string]want{
		"api-create-webhook.json":        {status: 201, check: webhookBody("Deploy notifications", "bearer")},
		"api-create-webhook-base64.json": {status: 201, check: webhookBody("Signed", "hmac")},
		"api-create-invalid-json.json":   {status: 400, code: webhook.EInvalid},
		"api-create-invalid-url.json":    {status: 400, code: webhook.EInvalid, field: "url"},
		"api-create-private-target.json": {status: 400, code: webhook.EInvalid, field: "url"},
		"api-create-unknown-field.json":  {status: 400, code: webhook.EInvalid, field: "secret"},
		"api-list-webhooks.json": {status: 200, check: func(t *testing.T, body string) {
			var l struct {
				Items []json.RawMessage `json:"items"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &l))
			assert.NotNil(t, l.Items)
		}},
		"api-list-invalid-limit.json": {status: 400, code: webhook.EInvalid, field: "limit"},
		"api-trigger-event.json": {status: 202, check: func(t *testing.T, body string) {
			var r struct {
				EventID    string `json:"event_id"`
				Deliveries *int   `json:"deliveries"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &r))
			assert.True(t, webhook.ValidID(webhook.EventIDPrefix, r.EventID))
			require.NotNil(t, r.Deliveries)
		}},
		"api-trigger-unknown-event.json": {status: 400, code: webhook.EInvalid, field: "event"},
		"api-list-deliveries.json":       {status: 404, code: webhook.ENotFound},
		"api-get-missing.json":           {status: 404, code: webhook.ENotFound},
		"api-get-malformed-id.json":      {status: 404, code: webhook.ENotFound},
		"api-patch-missing.json":         {status: 404, code: webhook.ENotFound},
		"api-delete-missing.json":        {status: 404, code: webhook.ENotFound},
		"api-pause-missing.json":         {status: 404, code: webhook.ENotFound},
		"api-method-not-allowed.json":    {status: 405, code: "method_not_allowed"},
		"api-unknown-route.json":         {status: 404, code: "not_found"},
		"api-healthz.json":               {status: 200, check: func(t *testing.T, body string) { assert.JSONEq(t, `{"status":"ok"}`, body) }},
		"api-event-types.json": {status: 200, check: func(t *testing.T, body string) {
			var l struct {
				Items []webhook.EventType `json:"items"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &l))
			assert.Equal(t, webhook.EventTypes(), l.Items)
		}},
	}

	files, err := filepath.Glob("../../events/api-*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	seen := map[string]bool{}
	handle := lambdaEnv(t, nil)
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			w, ok := wants[name]
			require.True(t, ok, "no expectation for %s: add one", name)
			ev := loadEvent(t, f)
			resp, err := handle(context.Background(), ev)
			require.NoError(t, err)
			body := resp.Body
			if resp.IsBase64Encoded {
				b, err := base64.StdEncoding.DecodeString(body)
				require.NoError(t, err)
				body = string(b)
			}
			assert.Equal(t, w.status, resp.StatusCode, body)
			assert.Equal(t, "application/json; charset=utf-8", resp.Headers["Content-Type"])
			assert.Equal(t, ev.RequestContext.RequestID, resp.Headers["X-Request-Id"], "API Gateway's request id is the API's")
			if w.code != "" {
				var e errorJSON
				require.NoError(t, json.Unmarshal([]byte(body), &e), body)
				assert.Equal(t, w.code, e.Error.Code, body)
				assert.Equal(t, w.field, e.Error.Field, body)
				assert.NotEmpty(t, e.Error.Message)
			}
			if w.check != nil {
				w.check(t, body)
			}
		})
	}
	for name := range wants {
		assert.True(t, seen[name], "expected sample event %s is missing", name)
	}
}

func TestNewAPIRequiresConfig(t *testing.T) {
	cfg, err := config.Parse(func(k string) string { return "" })
	require.NoError(t, err)
	_, err = NewAPI(cfg, testenv.Kumo(t).Clients, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "KMS_KEY_ID")
}

// The private-target setting reaches the handler.
func TestAllowPrivateFromConfig(t *testing.T) {
	ev := loadEvent(t, "../../events/api-create-private-target.json")
	resp, err := lambdaEnv(t, map[string]string{"ALLOW_PRIVATE_TARGETS": "true"})(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, 201, resp.StatusCode, resp.Body)
}
