package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/systemprompt-io/webhooks/internal/app"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	httpapi "github.com/systemprompt-io/webhooks/internal/httpapi"
	"github.com/systemprompt-io/webhooks/internal/store"
)

// server is the real handler on the embedded emulator, with a unique table
// set, queues and key so tests can run in parallel on the shared emulator,
// and the delivery function behind both queues (as the local server runs
// it), so triggered events become recorded deliveries. Stopping the
// returned background leaves newly queued jobs unprocessed.
func server(t *testing.T) (http.Handler, *localaws.Background, *store.Store) {
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
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	p, err := app.NewPipeline(cfg, stack.Clients, log, nil)
	require.NoError(t, err)
	bg, err := stack.StartBackground(localaws.Functions{Delivery: p.SQSHandler(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(bg.Stop)
	opts, err := app.APIOptions(cfg, p, log)
	require.NoError(t, err)
	opts.Health = stack.Ready
	h, err := httpapi.New(opts)
	require.NoError(t, err)
	return h, bg, p.Store
}

// testWriter sends the stack's logs to the test log (shown on failure or
// with -v). The background stops in a cleanup, before the test ends.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
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
	bg      *localaws.Background
	store   *store.Store // to set the scene the delivery path would (an open circuit)
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
	h, bg, st := server(t)
	return &conformance{t: t, h: h, bg: bg, store: st, doc: doc, router: router, covered: map[string]bool{}}
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
	assertTimes(t, name, rec.Body.Bytes())
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
	c.do(call{method: "GET", path: "/events/types"}, 200)

	// Create: every auth type, and refusals the document agrees with.
	creates := map[string]string{
		"none":           `{"name":"plain","url":"http://127.0.0.1:9/hook","events":["agent.started","custom"]}`,
		"basic":          `{"name":"basic","url":"https://example.com/b","events":["agent.failed"],"method":"PUT","auth_type":"basic","auth_credentials":{"username":"u","password":"p4ssword"}}`,
		"bearer":         `{"name":"bearer","url":"https://example.com/t","events":["agent.started"],"headers":{"X-Custom":"v"},"auth_type":"bearer","auth_credentials":{"token":"secret123"},"timeout_ms":10000}`,
		"api-key":        `{"name":"key","url":"https://example.com/k","events":["task.failed"],"auth_type":"api-key","auth_credentials":{"api_key":"k-123456","header_name":"X-Key"},"status":"inactive"}`,
		"hmac":           `{"name":"hmac","url":"https://example.com/h","events":["custom"],"auth_type":"hmac","auth_credentials":{"secret":"shared-secret"},"retry":{"strategy":"linear","max_attempts":5,"initial_delay_ms":2000,"max_delay_ms":600000}}`,
		"hmac-generated": `{"name":"hmac2","url":"https://example.com/h2","events":["custom"],"auth_type":"hmac"}`,
		"oauth2":         `{"name":"oauth","url":"https://example.com/o","events":["agent.failed"],"auth_type":"oauth2","auth_credentials":{"token_url":"https://auth.example.com/token","client_id":"webhooks","client_secret":"client-secret-1","scope":"hooks:write","auth_style":"body"}}`,
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
		`{"name":"x","url":"https://example.com","events":["custom"],"auth_type":"oauth2","auth_credentials":{"token_url":"https://auth.example.com/token","client_id":"c"}}`,
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
	require.NotEmpty(t, cursor, "7 webhooks, pages of 2")
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

	// Secret rotation: generated with the default overlap (an empty body),
	// given with If-Match and none, and refusals.
	hmacHook := "/webhooks/" + ids["hmac"]
	c.do(call{method: "POST", path: hmacHook + "/rotate-secret"}, 200)
	_, got = c.do(call{method: "GET", path: hmacHook}, 200)
	c.do(call{method: "POST", path: hmacHook + "/rotate-secret", body: `{"secret":"rotated-secret","previous_valid_for_ms":0}`,
		header: map[string]string{"If-Match": `"` + field(t, got, "version") + `"`}}, 200)
	c.do(call{method: "POST", path: hmacHook + "/rotate-secret", body: `{"previous_valid_for_ms":3600000}`}, 200)
	c.do(call{method: "POST", path: hmacHook + "/rotate-secret", body: `{}`, header: map[string]string{"If-Match": `"1"`}}, 409)
	c.do(call{method: "POST", path: hmacHook + "/rotate-secret", body: `{"previous_valid_for_ms":604800001}`, badRequest: true}, 400)
	c.do(call{method: "POST", path: hmacHook + "/rotate-secret", body: `{"secret":""}`, badRequest: true}, 400)
	c.do(call{method: "POST", path: "/webhooks/" + ids["basic"] + "/rotate-secret", body: `{}`}, 400)
	c.do(call{method: "POST", path: missingWebhook + "/rotate-secret"}, 404)

	// Pause, resume (idempotent), stats.
	c.do(call{method: "POST", path: id + "/pause"}, 200)
	c.do(call{method: "POST", path: id + "/pause"}, 200)
	c.do(call{method: "POST", path: id + "/resume"}, 200)
	c.do(call{method: "POST", path: missingWebhook + "/resume"}, 404)
	// A pause that holds, shown in the answer; bodies the document refuses.
	_, got = c.do(call{method: "POST", path: id + "/pause", body: `{"hold":true}`}, 200)
	assert.Contains(t, string(got), `"hold":true`, "a held pause shows hold")
	c.do(call{method: "POST", path: id + "/pause", body: `{}`}, 200)
	c.do(call{method: "POST", path: id + "/pause", body: `{"hold":"yes"}`, badRequest: true}, 400)
	c.do(call{method: "POST", path: id + "/pause", body: `{"hold":true,"until":1}`, badRequest: true}, 400)
	c.do(call{method: "POST", path: missingWebhook + "/pause", body: `{"hold":true}`}, 404)
	c.do(call{method: "GET", path: id + "/deliveries?status=held"}, 200)
	_, got = c.do(call{method: "POST", path: id + "/resume"}, 200)
	assert.Contains(t, string(got), `"hold":false`)
	c.do(call{method: "GET", path: id + "/stats"}, 200)
	c.do(call{method: "GET", path: id + "/stats?window=24h"}, 200)
	c.do(call{method: "GET", path: id + "/stats?window=7d&bucket=1h"}, 200)
	c.do(call{method: "GET", path: id + "/stats?window=30d", badRequest: true}, 400)
	c.do(call{method: "GET", path: id + "/stats?window=24h&bucket=5m", badRequest: true}, 400)
	c.do(call{method: "GET", path: missingWebhook + "/stats"}, 404)
	c.filterWalk(missingWebhook)
	c.rateLimitWalk()

	// Health is read-only: the document refuses a PATCH naming it, as the
	// handler does. An open circuit, as the delivery path leaves it, shows
	// every health member set; resume clears it.
	c.do(call{method: "PATCH", path: id, body: `{"health":{"circuit":"closed"}}`, badRequest: true}, 400)
	c.do(call{method: "PATCH", path: id, body: `{"status_reason":"gone"}`, badRequest: true}, 400)
	at := time.Now().UTC()
	for range 2 {
		_, err := c.store.RecordFailure(context.Background(), ids["bearer"], at)
		require.NoError(t, err)
	}
	_, opened, err := c.store.OpenCircuit(context.Background(), ids["bearer"], at, 2, time.Minute)
	require.NoError(t, err)
	require.True(t, opened)
	_, got = c.do(call{method: "GET", path: id}, 200)
	assert.Contains(t, string(got), `"circuit":"open","consecutive_failures":2`)
	_, got = c.do(call{method: "GET", path: "/webhooks?limit=100"}, 200)
	assert.Contains(t, string(got), `"circuit":"open"`)
	c.do(call{method: "POST", path: id + "/pause"}, 200)
	_, got = c.do(call{method: "POST", path: id + "/resume"}, 200)
	assert.Contains(t, string(got), `"status_reason":null,`)
	assert.Contains(t, string(got), `"health":{"circuit":"closed","consecutive_failures":0,"failing_since":null`)

	// The event side. Only loopback webhooks subscribe to the events
	// triggered here (workflow.*), so nothing leaves the machine.
	rcv := receiver(t)
	_, body := c.do(call{method: "POST", path: "/webhooks", body: `{"name":"accepts","url":"` + rcv + `/ok","events":["workflow.completed"]}`}, 201)
	okHook := "/webhooks/" + field(t, body, "id")
	_, body = c.do(call{method: "POST", path: "/webhooks", body: `{"name":"refuses","url":"` + rcv + `/fail","events":["workflow.completed","workflow.failed"],"retry":{"max_attempts":1}}`}, 201)
	failHook := "/webhooks/" + field(t, body, "id")

	// Trigger: with a key, the same again, the key with another body,
	// without a key, an event nobody subscribes to, and refusals.
	key := map[string]string{"Idempotency-Key": "conf-" + randHex(t)}
	first := `{"event":"workflow.completed","data":{"n":1},"metadata":{"source":"conformance"}}`
	_, body = c.do(call{method: "POST", path: "/events", body: first, header: key}, 202)
	var trig, again struct {
		EventID    string `json:"event_id"`
		Deliveries int    `json:"deliveries"`
	}
	require.NoError(t, json.Unmarshal(body, &trig))
	assert.Equal(t, 2, trig.Deliveries, "both receiver webhooks subscribe to workflow.completed")
	_, body = c.do(call{method: "POST", path: "/events", body: first, header: key}, 202)
	require.NoError(t, json.Unmarshal(body, &again))
	assert.Equal(t, trig, again, "a repeat with the same key answers the first answer")
	_, body = c.do(call{method: "POST", path: "/events", body: `{"event":"workflow.completed","data":{"n":2}}`, header: key}, 409)
	assert.Equal(t, "Idempotency-Key", errorField(t, body))
	_, body = c.do(call{method: "POST", path: "/events", body: `{"event":"workflow.failed"}`}, 202)
	assert.Equal(t, "1", field(t, body, "deliveries"))
	_, body = c.do(call{method: "POST", path: "/events", body: `{"event":"agent.stopped","data":null,"metadata":null}`}, 202)
	assert.Equal(t, "0", field(t, body, "deliveries"))
	for _, bad := range []string{
		`{"event":"nope"}`,
		`{"data":{}}`,
		`{"event":"workflow.failed","data":[1]}`,
		`{"event":"workflow.failed","metadata":"source"}`,
		`{"event":"workflow.failed","colour":"red"}`,
		`[]`,
	} {
		c.do(call{method: "POST", path: "/events", body: bad, badRequest: true}, 400)
	}
	c.do(call{method: "POST", path: "/events", body: `{"event":"workflow.failed"}`,
		header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, badRequest: true}, 400)
	// Sizes the document does not express: data over 200 KiB in a body
	// under 256 KiB, and a body over 256 KiB.
	c.do(call{method: "POST", path: "/events", body: `{"event":"workflow.failed","data":{"a":"` + strings.Repeat("a", 210<<10) + `"}}`}, 413)
	c.do(call{method: "POST", path: "/events", body: `{"event":"workflow.failed","data":{"a":"` + strings.Repeat("a", 300<<10) + `"}}`}, 413)
	batchWalk(c)

	// The pipeline delivers: the accepting webhook's delivery succeeds, the
	// refusing one's two fail after their one attempt.
	c.waitDeliveries(okHook, "succeeded", 1)
	failed := c.waitDeliveries(failHook, "failed", 2)

	// Test: synchronous, recorded as a final test delivery.
	_, body = c.do(call{method: "POST", path: okHook + "/test"}, 200)
	var res testResult
	require.NoError(t, json.Unmarshal(body, &res))
	assert.True(t, res.Success)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, `{"ok":true}`, res.ResponseBody)
	assert.Equal(t, "conformance", res.ResponseHeaders["X-Receiver"])
	assert.Equal(t, "succeeded", res.Delivery.Status)
	assert.True(t, res.Delivery.Test)
	_, body = c.do(call{method: "POST", path: failHook + "/test"}, 200)
	res = testResult{}
	require.NoError(t, json.Unmarshal(body, &res))
	assert.False(t, res.Success)
	assert.Equal(t, 500, res.StatusCode)
	assert.Equal(t, "endpoint answered 500 Internal Server Error", res.Error)
	assert.Equal(t, "failed", res.Delivery.Status)
	failedTest := res.Delivery.ID
	_, body = c.do(call{method: "POST", path: "/webhooks/" + ids["none"] + "/test"}, 200) // nothing listens there
	res = testResult{}
	require.NoError(t, json.Unmarshal(body, &res))
	assert.False(t, res.Success)
	assert.Zero(t, res.StatusCode, "no response, no status_code")
	assert.NotEmpty(t, res.Error)
	c.do(call{method: "POST", path: missingWebhook + "/test"}, 404)
	c.do(call{method: "POST", path: "/webhooks/nope/test", badRequest: true}, 404)

	// Stats count the event deliveries, not the tests (counters are added
	// after a batch's attempts are recorded, so they may lag a moment).
	for _, w := range []struct {
		hook  string
		total int
		want  string
	}{
		{okHook, 1, `"total_deliveries":1,"successful":1,"failed":0,"success_rate":1,`},
		{failHook, 2, `"total_deliveries":2,"successful":0,"failed":2,"success_rate":0,`},
	} {
		c.waitStats(w.hook, w.total)
		_, body = c.do(call{method: "GET", path: w.hook + "/stats"}, 200)
		assert.Contains(t, string(body), w.want)
		// The same counts in the current hour's bucket, with every attempt.
		_, body = c.do(call{method: "GET", path: w.hook + "/stats?window=24h"}, 200)
		var series struct {
			Buckets []struct {
				Succeeded, Failed, Attempts int
				P50MS                       *int `json:"p50_ms"`
			}
		}
		require.NoError(t, json.Unmarshal(body, &series))
		require.Len(t, series.Buckets, 24)
		var ended, attempts int
		for _, b := range series.Buckets {
			ended, attempts = ended+b.Succeeded+b.Failed, attempts+b.Attempts
		}
		assert.Equal(t, w.total, ended)
		assert.GreaterOrEqual(t, attempts, w.total)
	}

	// List: newest first, filters, pages, refusals.
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries"}, 200)
	all := deliveries(t, body)
	require.Len(t, all, 3, "two events and a test")
	assert.Equal(t, failedTest, all[0].ID, "newest first")
	c.do(call{method: "GET", path: failHook + "/deliveries?status=failed"}, 200)
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries?status=succeeded"}, 200)
	assert.Empty(t, deliveries(t, body))
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries?limit=2"}, 200)
	assert.Len(t, deliveries(t, body), 2)
	cursor = field(t, body, "next_cursor")
	require.NotEmpty(t, cursor, "3 deliveries, pages of 2")
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries?limit=2&cursor=" + cursor}, 200)
	assert.Equal(t, []delivery{all[2]}, deliveries(t, body))
	assert.Empty(t, field(t, body, "next_cursor"), "the last page has no cursor")
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries?status=failed&limit=1"}, 200)
	failedCursor := field(t, body, "next_cursor")
	require.NotEmpty(t, failedCursor)
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries?status=succeeded&cursor=" + failedCursor}, 400)
	assert.Equal(t, "cursor", errorField(t, body), "a cursor is valid only with its filter")
	_, body = c.do(call{method: "GET", path: okHook + "/deliveries?limit=1&cursor=" + cursor}, 400)
	assert.Equal(t, "cursor", errorField(t, body), "nor for another webhook")
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries?cursor=nope"}, 400)
	assert.Equal(t, "cursor", errorField(t, body))
	for _, bad := range []string{"?status=lost", "?limit=0", "?limit=101", "?limit=ten"} {
		c.do(call{method: "GET", path: failHook + "/deliveries" + bad, badRequest: true}, 400)
	}
	// Unknown and repeated parameters: the document cannot refuse them, the
	// handler does.
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries?colour=red"}, 400)
	assert.Equal(t, "colour", errorField(t, body))
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries?status=failed&status=failed"}, 400)
	assert.Equal(t, "status", errorField(t, body))
	_, body = c.do(call{method: "GET", path: okHook + "/deliveries"}, 200)
	assert.Len(t, deliveries(t, body), 2, "an event and a test")
	c.do(call{method: "GET", path: missingWebhook + "/deliveries"}, 404)

	// One delivery, with its attempts.
	var one delivery
	_, body = c.do(call{method: "GET", path: failHook + "/deliveries/" + failed[0].ID}, 200)
	require.NoError(t, json.Unmarshal(body, &one))
	require.Len(t, one.Attempts, 1)
	assert.Equal(t, 500, one.Attempts[0].StatusCode)
	assert.Equal(t, "endpoint answered 500 Internal Server Error; attempts exhausted (1 of 1)", one.Attempts[0].Error)
	assert.NotNil(t, one.CompletedAt)
	c.do(call{method: "GET", path: okHook + "/deliveries/" + failed[0].ID}, 404) // another webhook's
	c.do(call{method: "GET", path: failHook + missingDelivery}, 404)
	c.do(call{method: "GET", path: missingWebhook + missingDelivery}, 404)
	c.do(call{method: "GET", path: failHook + "/deliveries/dlv_nope", badRequest: true}, 404)

	// Retry: only a failed delivery. The pollers stop first, so the retried
	// delivery stays pending for the second try.
	succeeded := c.waitDeliveries(okHook, "succeeded", 2)
	_, body = c.do(call{method: "POST", path: okHook + "/deliveries/" + succeeded[0].ID + "/retry"}, 409)
	assert.Contains(t, string(body), "only a failed delivery can be retried")
	c.bg.Stop()
	_, body = c.do(call{method: "POST", path: failHook + "/deliveries/" + failed[0].ID + "/retry"}, 202)
	one = delivery{}
	require.NoError(t, json.Unmarshal(body, &one))
	assert.Equal(t, "pending", one.Status)
	assert.NotNil(t, one.NextAttemptAt)
	assert.Nil(t, one.CompletedAt)
	assert.Len(t, one.Attempts, 1, "the earlier attempts are kept")
	_, body = c.do(call{method: "POST", path: failHook + "/deliveries/" + failed[0].ID + "/retry"}, 409)
	assert.Contains(t, string(body), "is pending; only a failed delivery can be retried")
	c.do(call{method: "POST", path: failHook + "/deliveries/" + failedTest + "/retry"}, 202) // a test delivery too
	c.do(call{method: "POST", path: failHook + missingDelivery + "/retry"}, 404)
	c.do(call{method: "POST", path: missingWebhook + missingDelivery + "/retry"}, 404)

	// Bulk recovery: started (the pollers are stopped, so it stays running),
	// read back; bad input and unknown ids refused.
	hourAgo := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	_, body = c.do(call{method: "POST", path: failHook + "/recover", body: `{"since":"` + hourAgo + `"}`}, 202)
	var rec struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Queued  int    `json:"queued"`
		Scanned int    `json:"scanned"`
	}
	require.NoError(t, json.Unmarshal(body, &rec))
	assert.Equal(t, "running", rec.Status)
	assert.Zero(t, rec.Queued+rec.Scanned)
	c.do(call{method: "GET", path: failHook + "/recoveries/" + rec.ID}, 200)
	c.do(call{method: "GET", path: okHook + "/recoveries/" + rec.ID}, 404) // another webhook's
	c.do(call{method: "GET", path: failHook + "/recoveries/rcv_00000000000000000000000000000000"}, 404)
	c.do(call{method: "GET", path: failHook + "/recoveries/nope", badRequest: true}, 404)
	for field, bad := range map[string]string{
		"since":  `{"since":"yesterday"}`,
		"until":  `{"since":"` + hourAgo + `","until":"2999-01-01T00:00:00Z"}`,
		"status": `{"since":"` + hourAgo + `","status":"succeeded"}`,
	} {
		_, body = c.do(call{method: "POST", path: failHook + "/recover", body: bad, badRequest: field != "until"}, 400)
		assert.Equal(t, field, errorField(t, body))
	}
	_, body = c.do(call{method: "POST", path: failHook + "/recover", body: `{"since":"` + time.Now().UTC().Format(time.RFC3339) + `","until":"` + hourAgo + `"}`}, 400)
	assert.Equal(t, "since", errorField(t, body))
	c.do(call{method: "POST", path: missingWebhook + "/recover", body: `{"since":"` + hourAgo + `"}`}, 404)

	// The document itself.
	_, body = c.do(call{method: "GET", path: "/openapi.json"}, 200)
	js, err := api.OpenAPIJSON()
	require.NoError(t, err)
	assert.JSONEq(t, string(js), string(body))

	// Delete: stale If-Match, then for real, then gone.
	c.do(call{method: "DELETE", path: id, header: map[string]string{"If-Match": `"1"`}}, 409)
	c.do(call{method: "DELETE", path: id}, 204)
	c.do(call{method: "GET", path: id}, 404)
	c.do(call{method: "DELETE", path: id}, 404)
	c.do(call{method: "DELETE", path: id, header: map[string]string{"If-Match": "3"}, badRequest: true}, 400)

	// No operation: the answer is still the error JSON.
	c.errorJSON(call{method: "PUT", path: id}, 405)
	c.errorJSON(call{method: "GET", path: "/nowhere"}, 404)

	// Every documented operation was checked.
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + path
			if !c.covered[key] {
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

// receiver is a subscriber endpoint on loopback: /ok answers 200, every
// other path 500.
func receiver(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Receiver", "conformance")
		if r.URL.Path != "/ok" {
			http.Error(w, "refused", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// delivery is what the walk reads of a delivery.
type delivery struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Test     bool   `json:"test"`
	Attempts []struct {
		StatusCode int    `json:"status_code"`
		Error      string `json:"error"`
	} `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	CompletedAt   *time.Time `json:"completed_at"`
}

type testResult struct {
	Success         bool              `json:"success"`
	StatusCode      int               `json:"status_code"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	Error           string            `json:"error"`
	Delivery        delivery          `json:"delivery"`
}

func deliveries(t *testing.T, body []byte) []delivery {
	t.Helper()
	var p struct {
		Items []delivery `json:"items"`
	}
	require.NoError(t, json.Unmarshal(body, &p), string(body))
	return p.Items
}

func errorField(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Field string `json:"field"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	return e.Error.Field
}

// waitDeliveries waits, outside the walk, until the webhook at hook has n
// deliveries with status, and returns them (newest first). The pollers
// deliver within moments; the bound only stops a broken pipeline from
// hanging the test.
func (c *conformance) waitDeliveries(hook, status string, n int) []delivery {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, httptest.NewRequest("GET", hook+"/deliveries?status="+status, nil))
		require.Equal(c.t, http.StatusOK, rec.Code, rec.Body.String())
		if got := deliveries(c.t, rec.Body.Bytes()); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: fewer than %d %s deliveries within 60s: %s", hook, n, status, rec.Body.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStats waits, outside the walk, until the webhook at hook has n
// deliveries counted (see waitDeliveries for the bound).
func (c *conformance) waitStats(hook string, n int) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, httptest.NewRequest("GET", hook+"/stats", nil))
		require.Equal(c.t, http.StatusOK, rec.Code, rec.Body.String())
		var st struct {
			Total int `json:"total_deliveries"`
		}
		require.NoError(c.t, json.Unmarshal(rec.Body.Bytes(), &st))
		if st.Total >= n {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: fewer than %d deliveries counted within 60s: %s", hook, n, rec.Body.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
