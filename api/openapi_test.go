package api

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/oauth2"
	"github.com/systemprompt-io/webhooks/internal/trigger"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func load(t *testing.T, data []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	require.NoError(t, err)
	return doc
}

// TestDocumentIsValid: the document is valid OpenAPI 3.1, examples, defaults
// and patterns included.
func TestDocumentIsValid(t *testing.T) {
	doc := load(t, OpenAPIYAML())
	assert.True(t, doc.IsOpenAPI31OrLater(), "OpenAPI 3.1")
	require.NoError(t, doc.Validate(context.Background(),
		openapi3.EnableExamplesValidation(), openapi3.EnableSchemaDefaultsValidation(), openapi3.EnableSchemaPatternValidation()))
}

// TestJSONIsTheSameDocument: OpenAPIJSON is the YAML document, not a copy
// that could drift.
func TestJSONIsTheSameDocument(t *testing.T) {
	js, err := OpenAPIJSON()
	require.NoError(t, err)
	require.True(t, json.Valid(js))
	again, err := OpenAPIJSON()
	require.NoError(t, err)
	assert.Same(t, &js[0], &again[0], "converted once")

	fromYAML, fromJSON := load(t, OpenAPIYAML()), load(t, js)
	a, err := json.Marshal(fromYAML)
	require.NoError(t, err)
	b, err := json.Marshal(fromJSON)
	require.NoError(t, err)
	assert.JSONEq(t, string(a), string(b))
	require.NoError(t, fromJSON.Validate(context.Background()))
}

func TestYAMLToJSONRefusesNonStringKeys(t *testing.T) {
	_, err := yamlToJSON([]byte("paths:\n  200: x\n"))
	assert.ErrorContains(t, err, "key 200 is not a string")
	out, err := yamlToJSON([]byte("a: [1, {b: c}]\n"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":[1,{"b":"c"}]}`, string(out))
}

// TestRoutes: every route of README.md's route table ("HTTP API") is
// described, and nothing else.
func TestRoutes(t *testing.T) {
	doc := load(t, OpenAPIYAML())
	want := []string{
		"GET /events/types",
		"GET /healthz",
		"GET /openapi.json",
		"GET /webhooks",
		"GET /webhooks/{id}",
		"GET /webhooks/{id}/deliveries",
		"GET /webhooks/{id}/deliveries/{delivery_id}",
		"GET /webhooks/{id}/stats",
		"DELETE /webhooks/{id}",
		"PATCH /webhooks/{id}",
		"POST /events",
		"POST /events/batch",
		"POST /webhooks",
		"POST /webhooks/{id}/deliveries/{delivery_id}/retry",
		"POST /webhooks/{id}/pause",
		"POST /webhooks/{id}/recover",
		"GET /webhooks/{id}/recoveries/{recovery_id}",
		"POST /webhooks/{id}/resume",
		"POST /webhooks/{id}/rotate-secret",
		"POST /webhooks/{id}/test",
		"POST /webhooks/{id}/filter/test",
	}
	var got []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			got = append(got, method+" "+path)
			assert.NotEmpty(t, op.OperationID, "%s %s has an operationId", method, path)
			for code, r := range op.Responses.Map() {
				if (code[0] == '4' || code[0] == '5') && path != "/healthz" {
					assert.Equal(t, "#/components/schemas/Error", r.Value.Content.Get("application/json").Schema.Ref,
						"%s %s %s answers the error JSON", method, path, code)
				}
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	assert.Equal(t, want, got)
}

// TestRulesMatchTheDomain: enums and limits in the document are the ones
// internal/webhook enforces.
func TestRulesMatchTheDomain(t *testing.T) {
	doc := load(t, OpenAPIYAML())
	s := doc.Components.Schemas

	var events []any
	for _, e := range webhook.EventTypes() {
		events = append(events, e.Name)
	}
	assert.Equal(t, events, s["EventName"].Value.Enum)

	var auth []any
	for _, a := range webhook.AuthTypes() {
		auth = append(auth, string(a))
	}
	assert.Equal(t, auth, s["AuthType"].Value.Enum)
	assert.Equal(t, []any{string(webhook.StatusActive), string(webhook.StatusInactive)}, s["WebhookStatus"].Value.Enum)
	assert.Equal(t, []any{string(webhook.StrategyExponential), string(webhook.StrategyLinear), string(webhook.StrategyFixed)}, s["Strategy"].Value.Enum)
	var statuses []any
	for _, st := range webhook.DeliveryStatuses {
		statuses = append(statuses, string(st))
	}
	assert.Equal(t, statuses, s["DeliveryStatus"].Value.Enum)
	// Every code of the domain, and the one the API adds for a known path
	// with the wrong method.
	assert.ElementsMatch(t, []any{webhook.EInvalid, webhook.ENotFound, webhook.EConflict, webhook.ETooLarge,
		webhook.EUnavailable, webhook.EInternal, "method_not_allowed"},
		s["Error"].Value.Properties["error"].Value.Properties["code"].Value.Enum)

	assert.EqualValues(t, webhook.MaxNameLen, *s["Name"].Value.MaxLength)
	assert.EqualValues(t, webhook.MaxURLLen, *s["TargetURL"].Value.MaxLength)
	assert.EqualValues(t, webhook.MaxHeaders, *s["Headers"].Value.MaxProps)
	assert.EqualValues(t, webhook.MaxHeaderValueLen, *s["Headers"].Value.AdditionalProperties.Schema.Value.MaxLength)
	assert.EqualValues(t, webhook.MinTimeoutMS, *s["TimeoutMS"].Value.Min)
	assert.EqualValues(t, webhook.MaxTimeoutMS, *s["TimeoutMS"].Value.Max)
	assert.EqualValues(t, webhook.DefaultTimeoutMS, s["WebhookCreate"].Value.Properties["timeout_ms"].Value.Default)
	for _, name := range []string{"RetryPolicy", "RetryPolicyInput"} {
		p := s[name].Value.Properties
		assert.EqualValues(t, 1, *p["max_attempts"].Value.Min, name)
		assert.EqualValues(t, webhook.MaxAttemptsLimit, *p["max_attempts"].Value.Max, name)
		assert.EqualValues(t, webhook.MinDelayMS, *p["initial_delay_ms"].Value.Min, name)
		assert.EqualValues(t, webhook.MaxDelayLimitMS, *p["max_delay_ms"].Value.Max, name)
	}
	def := webhook.DefaultRetryPolicy()
	p := s["RetryPolicyInput"].Value.Properties
	assert.EqualValues(t, def.Strategy, p["strategy"].Value.Default)
	assert.EqualValues(t, def.MaxAttempts, p["max_attempts"].Value.Default)
	assert.EqualValues(t, def.InitialDelayMS, p["initial_delay_ms"].Value.Default)
	assert.EqualValues(t, def.MaxDelayMS, p["max_delay_ms"].Value.Default)
	assert.EqualValues(t, webhook.MaxResponseExcerpt, *s["Attempt"].Value.Properties["response_body"].Value.MaxLength)
	assert.EqualValues(t, webhook.MaxResponseExcerpt, *s["TestResult"].Value.Properties["response_body"].Value.MaxLength)
	var keyLen *uint64
	for _, p := range doc.Paths.Value("/events").Post.Parameters {
		if p.Value.Name == "Idempotency-Key" {
			keyLen = p.Value.Schema.Value.MaxLength
		}
	}
	require.NotNil(t, keyLen, "POST /events takes an Idempotency-Key")
	assert.EqualValues(t, trigger.MaxKeyLen, *keyLen)

	o := s["OAuth2Credentials"].Value
	assert.Equal(t, oauth2.RequiredKeys, o.Required)
	var oauthKeys []any
	for _, k := range append(slices.Clone(oauth2.RequiredKeys), oauth2.OptionalKeys...) {
		oauthKeys = append(oauthKeys, k)
	}
	assert.Equal(t, oauthKeys, o.PropertyNames.Value.Enum)
	assert.Equal(t, []any{string(oauth2.StyleBasic), string(oauth2.StyleBody)}, o.Properties[oauth2.KeyAuthStyle].Value.Enum)
	assert.EqualValues(t, oauth2.StyleBasic, o.Properties[oauth2.KeyAuthStyle].Value.Default)
	for _, k := range oauthKeys {
		assert.Contains(t, s["Credentials"].Value.PropertyNames.Value.Enum, k, "Credentials takes every oauth2 key")
	}
	assert.EqualValues(t, len(oauthKeys), *s["Credentials"].Value.MaxProps, "the most keys a type takes")

	batch := doc.Paths.Value("/events/batch").Post
	assert.EqualValues(t, webhook.MaxBatchBodyBytes, batch.Extensions["x-max-body-bytes"], "POST /events/batch's body bound")
	batchEvents := s["BatchTriggerRequest"].Value.Properties["events"].Value
	assert.EqualValues(t, 1, batchEvents.MinItems)
	assert.EqualValues(t, trigger.MaxBatch, *batchEvents.MaxItems)
	assert.EqualValues(t, trigger.MaxKeyLen, *s["BatchEvent"].Value.Properties["idempotency_key"].Value.MaxLength)

	for _, name := range []string{"WebhookCreate", "WebhookPatch", "RetryPolicyInput", "TriggerRequest", "BatchEvent", "BatchTriggerRequest"} {
		ap := s[name].Value.AdditionalProperties.Has
		require.NotNil(t, ap, name)
		assert.False(t, *ap, "%s refuses unknown fields", name)
	}
}

// TestSchemasRejectWhatTheDomainRejects spot-checks request schemas with
// values on both sides of each rule.
func TestSchemasRejectWhatTheDomainRejects(t *testing.T) {
	doc := load(t, OpenAPIYAML())
	create := doc.Components.Schemas["WebhookCreate"].Value
	patch := doc.Components.Schemas["WebhookPatch"].Value
	base := func() map[string]any {
		return map[string]any{"name": "n", "url": "https://example.com/h", "events": []any{"custom"}}
	}
	with := func(k string, v any) map[string]any { m := base(); m[k] = v; return m }
	cases := []struct {
		name string
		body map[string]any
		ok   bool
	}{
		{"minimal", base(), true},
		{"unknown field", with("colour", "red"), false},
		{"name too long", with("name", string(make([]byte, 257))), false},
		{"name with a newline", with("name", "a\nb"), false},
		{"name with a bidi override", with("name", "a\u202Eb"), false},
		{"name with a line separator", with("name", "a\u2028b"), false},
		{"name in Hebrew", with("name", "שלום"), true},
		{"relative url", with("url", "/hook"), false},
		{"ftp url", with("url", "ftp://example.com/"), false},
		{"no events", with("events", []any{}), false},
		{"unknown event", with("events", []any{"agent.exploded"}), false},
		{"duplicate event", with("events", []any{"custom", "custom"}), false},
		{"method GET", with("method", "GET"), false},
		{"method PUT", with("method", "PUT"), true},
		{"timeout too short", with("timeout_ms", 999), false},
		{"timeout longest", with("timeout_ms", webhook.MaxTimeoutMS), true},
		{"timeout too long", with("timeout_ms", webhook.MaxTimeoutMS+1), false},
		{"max_attempts 0", with("retry", map[string]any{"max_attempts": 0}), false},
		{"max_attempts 20", with("retry", map[string]any{"max_attempts": 20}), true},
		{"max_attempts 21", with("retry", map[string]any{"max_attempts": 21}), false},
		{"negative delay", with("retry", map[string]any{"initial_delay_ms": -1}), false},
		{"max delay over a week", with("retry", map[string]any{"max_delay_ms": 604800001}), false},
		{"unknown strategy", with("retry", map[string]any{"strategy": "random"}), false},
		{"header with CRLF in the name", with("headers", map[string]any{"X-A\r\nB": "v"}), false},
		{"header", with("headers", map[string]any{"X-Custom": "v"}), true},
		{"header value with a TAB", with("headers", map[string]any{"X-Custom": "a\tb"}), false},
		{"bearer with its token", func() map[string]any {
			m := with("auth_type", "bearer")
			m["auth_credentials"] = map[string]any{"token": "t"}
			return m
		}(), true},
		{"bearer without credentials", with("auth_type", "bearer"), false},
		{"bearer with a basic credential", func() map[string]any {
			m := with("auth_type", "bearer")
			m["auth_credentials"] = map[string]any{"username": "u"}
			return m
		}(), false},
		{"api-key with header_name", func() map[string]any {
			m := with("auth_type", "api-key")
			m["auth_credentials"] = map[string]any{"api_key": "k", "header_name": "X-Key"}
			return m
		}(), true},
		{"hmac without a secret: one is generated", with("auth_type", "hmac"), true},
		{"none with credentials", func() map[string]any {
			m := with("auth_type", "none")
			m["auth_credentials"] = map[string]any{"token": "t"}
			return m
		}(), false},
		{"oauth2", func() map[string]any {
			m := with("auth_type", "oauth2")
			m["auth_credentials"] = map[string]any{"token_url": "https://auth.example.com/token", "client_id": "c", "client_secret": "s",
				"scope": "a b:c", "audience": "https://api.example.com", "auth_style": "body"}
			return m
		}(), true},
		{"oauth2 without credentials", with("auth_type", "oauth2"), false},
		{"oauth2 without client_secret", func() map[string]any {
			m := with("auth_type", "oauth2")
			m["auth_credentials"] = map[string]any{"token_url": "https://auth.example.com/token", "client_id": "c"}
			return m
		}(), false},
		{"oauth2 with another type's key", func() map[string]any {
			m := with("auth_type", "oauth2")
			m["auth_credentials"] = map[string]any{"token_url": "https://auth.example.com/token", "client_id": "c", "client_secret": "s", "secret": "x"}
			return m
		}(), false},
		{"oauth2 auth_style header", func() map[string]any {
			m := with("auth_type", "oauth2")
			m["auth_credentials"] = map[string]any{"token_url": "https://auth.example.com/token", "client_id": "c", "client_secret": "s", "auth_style": "header"}
			return m
		}(), false},
		{"oauth2 scope with two spaces", func() map[string]any {
			m := with("auth_type", "oauth2")
			m["auth_credentials"] = map[string]any{"token_url": "https://auth.example.com/token", "client_id": "c", "client_secret": "s", "scope": "a  b"}
			return m
		}(), false},
		{"oauth2 ftp token_url", func() map[string]any {
			m := with("auth_type", "oauth2")
			m["auth_credentials"] = map[string]any{"token_url": "ftp://auth.example.com/token", "client_id": "c", "client_secret": "s"}
			return m
		}(), false},
		{"basic without password", func() map[string]any {
			m := with("auth_type", "basic")
			m["auth_credentials"] = map[string]any{"username": "u"}
			return m
		}(), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := create.VisitJSON(tc.body, openapi3.EnableJSONSchema2020())
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
	assert.NoError(t, patch.VisitJSON(map[string]any{}, openapi3.EnableJSONSchema2020()), "an empty merge patch is a no-op")
	assert.NoError(t, patch.VisitJSON(map[string]any{"status": "inactive"}, openapi3.EnableJSONSchema2020()))
	assert.NoError(t, patch.VisitJSON(map[string]any{"retry": map[string]any{"max_attempts": 5}}, openapi3.EnableJSONSchema2020()))
	assert.NoError(t, patch.VisitJSON(map[string]any{"headers": nil, "retry": map[string]any{"strategy": nil}}, openapi3.EnableJSONSchema2020()),
		"null resets to the default (JSON merge patch)")
	assert.Error(t, patch.VisitJSON(map[string]any{"name": nil}, openapi3.EnableJSONSchema2020()), "name cannot be removed")
	assert.Error(t, patch.VisitJSON(map[string]any{"version": 0}, openapi3.EnableJSONSchema2020()))
}
