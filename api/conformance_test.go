package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/api"
	httpapi "github.com/systemprompt-io/webhooks/internal/api"
	"github.com/systemprompt-io/webhooks/internal/app"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/localaws"
	"github.com/systemprompt-io/webhooks/internal/store"
	"github.com/systemprompt-io/webhooks/internal/testenv"
)

// notYetServed are the documented routes the handler does not serve yet
// (the delivery side and the document itself come with the integration).
// While one answers "no route", the walk logs and skips it; once it is
// served it is checked like every other route. Remove entries as they land.
var notYetServed = map[string]bool{
	"POST /events":                                       true,
	"POST /webhooks/{id}/test":                           true,
	"GET /webhooks/{id}/deliveries":                      true,
	"GET /webhooks/{id}/deliveries/{delivery_id}":        true,
	"POST /webhooks/{id}/deliveries/{delivery_id}/retry": true,
	"GET /openapi.json":                                  true,
}

// server is the real handler on the embedded emulator, with a unique table
// set and key so tests can run in parallel on the shared emulator.
func server(t *testing.T) http.Handler {
	t.Helper()
	ctx := context.Background()
	suffix := randHex(t)
	stack, err := localaws.Start(ctx, localaws.Options{
		Endpoint: testenv.KumoURL(),
		Tables:   store.Tables{Webhooks: "conf-webhooks-" + suffix, Deliveries: "conf-deliveries-" + suffix},
		KeyAlias: "alias/conf-" + suffix, QueuePrefix: "conf-" + suffix + "-",
	})
	require.NoError(t, err)
	t.Cleanup(stack.Close)
	cfg := stack.Config(config.Config{AllowPrivate: true, DefaultTimeout: 30 * time.Second})
	p, err := app.NewPipeline(cfg, stack.Clients, nil, nil)
	require.NoError(t, err)
	opts := app.APIOptions(cfg, p, nil)
	opts.Health = stack.Ready
	h, err := httpapi.New(opts)
	require.NoError(t, err)
	return h
}

func randHex(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// conformance walks requests through the handler and validates each request
// and response against the document.
type conformance struct {
	t       *testing.T
	h       http.Handler
	doc     *openapi3.T
	router  routers.Router
	covered map[string]bool // "METHOD /path/template" that were checked
}

func newConformance(t *testing.T) *conformance {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPIYAML())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	router, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)
	return &conformance{t: t, h: server(t), doc: doc, router: router, covered: map[string]bool{}}
}

// call is one request of the walk.
type call struct {
	method, path string
	body         string
	header       map[string]string
	// badRequest marks a request the document itself must refuse (and the
	// handler must answer with a 4xx): the two agree on what is invalid.
	badRequest bool
}

func (c *conformance) request(k call) *http.Request {
	var body io.Reader = http.NoBody
	if k.body != "" {
		body = strings.NewReader(k.body)
	}
	r := httptest.NewRequest(k.method, "http://127.0.0.1:3000"+k.path, body)
	if k.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for name, v := range k.header {
		r.Header.Set(name, v)
	}
	return r
}

// do sends k, checks it against the document and returns the status and
// body. want is the status the walk expects.
func (c *conformance) do(k call, want int) (int, []byte) {
	t := c.t
	t.Helper()
	ctx := context.Background()
	name := k.method + " " + k.path

	route, params, err := c.router.FindRoute(c.request(k))
	require.NoError(t, err, "%s: not in the document", name)
	key := route.Method + " " + route.Path

	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, c.request(k))
	if notYetServed[key] && rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), `"no route for`) {
		t.Logf("%s: not served yet; skipped", key)
		return 0, nil
	}

	in := &openapi3filter.RequestValidationInput{
		Request: c.request(k), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if k.badRequest {
		assert.Error(t, reqErr, "%s %s: the document accepts a request the handler refuses", name, k.body)
	} else {
		assert.NoError(t, reqErr, "%s %s: request does not match the document", name, k.body)
	}

	assert.Equal(t, want, rec.Code, "%s %s: status; body %s", name, k.body, rec.Body.String())
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(rec.Body.Bytes())
	assert.NoError(t, openapi3filter.ValidateResponse(ctx, out), "%s: %d response does not match the document: %s", name, rec.Code, rec.Body.String())
	c.covered[key] = true
	return rec.Code, rec.Body.Bytes()
}

// errorJSON checks a response of a request no operation takes (wrong method)
// against the error schema directly.
func (c *conformance) errorJSON(k call, want int) {
	t := c.t
	t.Helper()
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, c.request(k))
	assert.Equal(t, want, rec.Code)
	var v any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
	assert.NoError(t, c.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()), rec.Body.String())
}

func field(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	s, _ := m[name].(string)
	if n, ok := m[name].(float64); ok {
		s = fmt.Sprint(n)
	}
	return s
}

// TestConformance walks every documented route through the real handler on
// the embedded emulator; a route or field that drifts from the document
// fails.
func TestConformance(t *testing.T) {
	c := newConformance(t)
	const missingWebhook = "/webhooks/wh_00000000000000000000000000000000"
	const missingDelivery = "/deliveries/dlv_00000000000000000000000000000000"

	c.do(call{method: "GET", path: "/healthz"}, 200)
	c.do(call{method: "GET", path: "/openapi.json"}, 200)
	c.do(call{method: "GET", path: "/events/types"}, 200)

	// Create: every auth type, and refusals the document agrees with.
	creates := map[string]string{
		"none":           `{"name":"plain","url":"http://127.0.0.1:9/hook","events":["agent.started","custom"]}`,
		"basic":          `{"name":"basic","url":"https://example.com/b","events":["agent.failed"],"method":"PUT","auth_type":"basic","auth_credentials":{"username":"u","password":"p4ssword"}}`,
		"bearer":         `{"name":"bearer","url":"https://example.com/t","events":["agent.started"],"headers":{"X-Custom":"v"},"auth_type":"bearer","auth_credentials":{"token":"secret123"},"timeout_ms":10000}`,
		"api-key":        `{"name":"key","url":"https://example.com/k","events":["task.failed"],"auth_type":"api-key","auth_credentials":{"api_key":"k-123456","header_name":"X-Key"},"status":"inactive"}`,
		"hmac":           `{"name":"hmac","url":"https://example.com/h","events":["custom"],"auth_type":"hmac","auth_credentials":{"secret":"shared-secret"},"retry":{"strategy":"linear","max_attempts":5,"initial_delay_ms":2000,"max_delay_ms":600000}}`,
		"hmac-generated": `{"name":"hmac2","url":"https://example.com/h2","events":["custom"],"auth_type":"hmac"}`,
	}
	ids := map[string]string{}
	for _, kind := range slices.Sorted(func(yield func(string) bool) {
		for k := range creates {
			if !yield(k) {
				return
			}
		}
	}) {
		_, body := c.do(call{method: "POST", path: "/webhooks", body: creates[kind]}, 201)
		ids[kind] = field(t, body, "id")
		require.NotEmpty(t, ids[kind], kind)
	}
	for _, bad := range []string{
		`{"name":"x","url":"not a url","events":["custom"]}`,
		`{"name":"x","url":"https://example.com","events":["nope"]}`,
		`{"name":"x","url":"https://example.com","events":["custom"],"timeout_ms":5}`,
		`{"name":"x","url":"https://example.com","events":["custom"],"retry":{"max_attempts":21}}`,
		`{"name":"x","url":"https://example.com","events":["custom"],"colour":"red"}`,
		`{"name":"x","url":"https://example.com","events":["custom"],"auth_type":"bearer"}`,
		`{"name":"x","url":"https://example.com","events":["custom"],"method":"GET"}`,
		`{"url":"https://example.com","events":["custom"]}`,
	} {
		c.do(call{method: "POST", path: "/webhooks", body: bad, badRequest: true}, 400)
	}
	big := `{"name":"x","url":"https://example.com","events":["custom"],"headers":{"X-A":"` + strings.Repeat("a", 300<<10) + `"}}`
	c.do(call{method: "POST", path: "/webhooks", body: big, badRequest: true}, 413)

	// List: filters and pages.
	c.do(call{method: "GET", path: "/webhooks"}, 200)
	c.do(call{method: "GET", path: "/webhooks?status=inactive"}, 200)
	c.do(call{method: "GET", path: "/webhooks?event=custom&status=active"}, 200)
	_, page := c.do(call{method: "GET", path: "/webhooks?limit=2"}, 200)
	cursor := field(t, page, "next_cursor")
	require.NotEmpty(t, cursor, "6 webhooks, pages of 2")
	c.do(call{method: "GET", path: "/webhooks?limit=2&cursor=" + cursor}, 200)
	c.do(call{method: "GET", path: "/webhooks?limit=0", badRequest: true}, 400)
	c.do(call{method: "GET", path: "/webhooks?status=paused", badRequest: true}, 400)
	c.do(call{method: "GET", path: "/webhooks?event=agent.exploded", badRequest: true}, 400)

	// One webhook.
	id := "/webhooks/" + ids["bearer"]
	_, got := c.do(call{method: "GET", path: id}, 200)
	version := field(t, got, "version")
	c.do(call{method: "GET", path: missingWebhook}, 404)
	c.do(call{method: "GET", path: "/webhooks/nope", badRequest: true}, 404)

	// Update.
	_, got = c.do(call{method: "PATCH", path: id, body: `{"name":"renamed","retry":{"max_attempts":7}}`,
		header: map[string]string{"If-Match": `"` + version + `"`}}, 200)
	c.do(call{method: "PATCH", path: id, body: `{"name":"stale"}`, header: map[string]string{"If-Match": `"` + version + `"`}}, 409)
	c.do(call{method: "PATCH", path: id, body: `{"headers":null,"timeout_ms":null,"retry":{"strategy":null}}`}, 200)
	c.do(call{method: "PATCH", path: id, body: `{"auth_type":"none"}`}, 200)
	c.do(call{method: "PATCH", path: id, body: `{}`}, 200)
	c.do(call{method: "PATCH", path: id, body: `[]`, badRequest: true}, 400)
	c.do(call{method: "PATCH", path: id, body: `{"retry":{"max_attempts":"7"}}`, badRequest: true}, 400)
	c.do(call{method: "PATCH", path: id, body: `{"version":1}`}, 409) // stale: valid in shape
	c.do(call{method: "PATCH", path: id, body: `{"name":null}`, badRequest: true}, 400)
	c.do(call{method: "PATCH", path: id, body: `{"url":"ftp://example.com"}`, badRequest: true}, 400)
	c.do(call{method: "PATCH", path: missingWebhook, body: `{"name":"x"}`}, 404)
	_ = got

	// Pause, resume (idempotent), stats.
	c.do(call{method: "POST", path: id + "/pause"}, 200)
	c.do(call{method: "POST", path: id + "/pause"}, 200)
	c.do(call{method: "POST", path: id + "/resume"}, 200)
	c.do(call{method: "POST", path: missingWebhook + "/resume"}, 404)
	c.do(call{method: "GET", path: id + "/stats"}, 200)
	c.do(call{method: "GET", path: missingWebhook + "/stats"}, 404)

	// The delivery side.
	hook := "/webhooks/" + ids["none"]
	dlv := missingDelivery
	if code, body := c.do(call{method: "POST", path: hook + "/test"}, 202); code == 202 {
		dlv = "/deliveries/" + field(t, body, "id")
	}
	c.do(call{method: "POST", path: missingWebhook + "/test"}, 404)
	c.do(call{method: "GET", path: hook + "/deliveries"}, 200)
	c.do(call{method: "GET", path: hook + "/deliveries?limit=1&status=pending"}, 200)
	c.do(call{method: "GET", path: hook + "/deliveries?status=lost", badRequest: true}, 400)
	if dlv != missingDelivery {
		c.do(call{method: "GET", path: hook + dlv}, 200)
	}
	c.do(call{method: "GET", path: hook + missingDelivery}, 404)
	c.do(call{method: "POST", path: hook + missingDelivery + "/retry"}, 404)
	c.do(call{method: "POST", path: "/events", body: `{"event":"custom","data":{"n":1},"metadata":{"source":"conformance"}}`,
		header: map[string]string{"Idempotency-Key": "conf-" + randHex(t)}}, 202)
	c.do(call{method: "POST", path: "/events", body: `{"event":"agent.started"}`}, 202)
	c.do(call{method: "POST", path: "/events", body: `{"event":"nope"}`, badRequest: true}, 400)
	c.do(call{method: "POST", path: "/events", body: `{"event":"custom","data":[1]}`, badRequest: true}, 400)

	// Delete: stale If-Match, then for real, then gone.
	c.do(call{method: "DELETE", path: id, header: map[string]string{"If-Match": `"1"`}}, 409)
	c.do(call{method: "DELETE", path: id}, 204)
	c.do(call{method: "GET", path: id}, 404)
	c.do(call{method: "DELETE", path: id}, 404)
	c.do(call{method: "DELETE", path: id, header: map[string]string{"If-Match": "3"}, badRequest: true}, 400)

	// No operation: the answer is still the error JSON.
	c.errorJSON(call{method: "PUT", path: id}, 405)
	c.errorJSON(call{method: "GET", path: "/nowhere"}, 404)

	// Every documented operation was checked, or is known not to be served.
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + path
			if !c.covered[key] && !notYetServed[key] {
				t.Errorf("%s is documented but the walk did not check it", key)
			}
		}
	}
}

func TestOpenAPIJSONServesTheDocument(t *testing.T) {
	js, err := api.OpenAPIJSON()
	require.NoError(t, err)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	require.NoError(t, json.NewDecoder(bytes.NewReader(js)).Decode(&doc))
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	assert.Contains(t, doc.Paths, "/webhooks/{id}/deliveries/{delivery_id}/retry")
}
