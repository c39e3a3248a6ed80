package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// now is the fixed clock of the tests; the fixtures are a few minutes older.
var now = time.Date(2026, 11, 28, 16, 6, 5, 0, time.UTC)

const (
	whID    = "wh_0192f0c4a1b27c3d8e9f001122334455"
	dlvID   = "dlv_0192f0c4a1b27c3d8e9f00112233aaaa"
	evtID   = "evt_0192f0c4a1b27c3d8e9f00112233bbbb"
	testID  = "dlv_0192f0c4a1b27c3d8e9f00112233cccc"
	testEvt = "evt_0192f0c4a1b27c3d8e9f00112233dddd"
)

const webhookJSON = `{"id":"` + whID + `","name":"My Webhook","url":"https://example.com/webhook",` +
	`"method":"POST","headers":{"X-Custom":"value"},"events":["agent.started","agent.failed"],` +
	`"status":"active","auth_type":"bearer","auth_credentials":{"token":"se****"},` +
	`"retry":{"strategy":"exponential","max_attempts":3,"initial_delay_ms":1000,"max_delay_ms":60000},` +
	`"timeout_ms":30000,"version":3,"created_at":"2026-11-28T16:04:05Z","updated_at":"2026-11-28T16:05:35Z",` +
	`"status_reason":null,"health":{"circuit":"closed","consecutive_failures":0,"failing_since":null,` +
	`"last_success_at":"2026-11-28T16:05:35Z","opened_at":null,"next_probe_at":null}}`

const pausedJSON = `{"id":"` + whID + `","name":"My Webhook","url":"https://example.com/webhook",` +
	`"method":"POST","headers":{},"events":["custom"],"status":"inactive","auth_type":"none",` +
	`"retry":{"strategy":"fixed","max_attempts":1,"initial_delay_ms":0,"max_delay_ms":0},` +
	`"timeout_ms":5000,"version":1,"created_at":"2026-11-25T16:04:05Z","updated_at":"2026-11-28T16:06:05Z",` +
	`"status_reason":"paused","health":{"circuit":"open","consecutive_failures":12,"failing_since":"2026-11-28T15:06:05Z",` +
	`"last_success_at":null,"opened_at":"2026-11-28T16:05:05Z","next_probe_at":"2026-11-28T16:07:05Z"}}`

const deliveryJSON = `{"id":"` + dlvID + `","webhook_id":"` + whID + `","event_id":"` + evtID + `",` +
	`"event":"agent.started","status":"retrying","attempts":[` +
	`{"attempt":1,"started_at":"2026-11-28T16:05:00Z","status_code":503,"duration_ms":120,"response_body":"Service\nUnavailable",` +
	`"timings":{"dns_ms":2.1,"connect_ms":11.4,"tls_ms":24.8,"first_byte_ms":80.3}},` +
	`{"attempt":2,"started_at":"2026-11-28T16:05:02Z","duration_ms":30000,"error":"timeout",` +
	`"timings":{"dns_ms":null,"connect_ms":null,"tls_ms":null,"first_byte_ms":null}}],` +
	`"next_attempt_at":"2026-11-28T16:07:05Z","created_at":"2026-11-28T16:05:00Z","completed_at":null}`

// testDeliveryJSON is a test delivery as POST /webhooks/{id}/test records
// it: final, one attempt.
const testDeliveryJSON = `{"id":"` + testID + `","webhook_id":"` + whID + `","event_id":"` + testEvt + `",` +
	`"event":"custom","status":"succeeded","test":true,"attempts":[` +
	`{"attempt":1,"started_at":"2026-11-28T16:06:05Z","status_code":200,"duration_ms":42,"response_body":"{\"ok\":true}"}],` +
	`"next_attempt_at":null,"created_at":"2026-11-28T16:06:05Z","completed_at":"2026-11-28T16:06:05Z"}`

const testOKJSON = `{"success":true,"status_code":200,"duration_ms":42,` +
	`"response_headers":{"Content-Type":"application/json"},"response_body":"{\"ok\":true}","delivery":` + testDeliveryJSON + `}`

const testFailedJSON = `{"success":false,"status_code":500,"duration_ms":3,"response_headers":{"Content-Type":"text/plain"},` +
	`"response_body":"upstream exploded\nat line 3","error":"endpoint answered 500 Internal Server Error",` +
	`"delivery":{"id":"` + testID + `","webhook_id":"` + whID + `","event":"custom","status":"failed","test":true,"attempts":[],` +
	`"next_attempt_at":null,"created_at":"2026-11-28T16:06:05Z","completed_at":"2026-11-28T16:06:05Z"}}`

const testRefusedJSON = `{"success":false,"duration_ms":0,"response_headers":{},"response_body":"",` +
	`"error":"connection refused (127.0.0.1:9)","delivery":{"id":"` + testID + `","webhook_id":"` + whID + `",` +
	`"event":"custom","status":"failed","test":true,"attempts":[],"next_attempt_at":null,` +
	`"created_at":"2026-11-28T16:06:05Z","completed_at":"2026-11-28T16:06:05Z"}}`

// retriedJSON is the answer of a retry: pending, the next attempt due now.
const retriedJSON = `{"id":"` + dlvID + `","webhook_id":"` + whID + `","event_id":"` + evtID + `",` +
	`"event":"agent.started","status":"pending","attempts":[` +
	`{"attempt":1,"started_at":"2026-11-28T16:05:00Z","status_code":503,"duration_ms":120,"error":"attempts exhausted (1 of 1)"}],` +
	`"next_attempt_at":"2026-11-28T16:06:05Z","created_at":"2026-11-28T16:05:00Z","completed_at":null}`

const statsJSON = `{"total_deliveries":10,"successful":3,"failed":7,"success_rate":0.3,"avg_response_ms":241.6,"held":4,` +
	`"last_delivery_at":"2026-11-28T15:06:05Z","last_success_at":"2026-11-25T16:06:05Z"}`

// reply is the fake API's canned answer to one route.
type reply struct {
	status int
	body   string
}

// recorded is a request the fake API received.
type recorded struct {
	Method string
	Path   string // escaped path
	Query  string
	Body   string
	Header http.Header
}

// fakeAPI answers routes ("METHOD /path") with canned replies and records
// every request.
type fakeAPI struct {
	srv    *httptest.Server
	routes map[string]reply
	mu     sync.Mutex
	reqs   []recorded
}

func newFakeAPI(t *testing.T, routes map[string]reply) *fakeAPI {
	f := &fakeAPI{routes: routes}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(body), r.Header.Clone()})
		f.mu.Unlock()
		rp, ok := f.routes[r.Method+" "+r.URL.EscapedPath()]
		if !ok {
			rp = reply{404, `{"error":{"code":"not_found","message":"no such route in the fake"}}`}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rp.status)
		io.WriteString(w, rp.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// run is one CLI invocation's result.
type run struct {
	code           int
	stdout, stderr string
}

type runOpts struct {
	stdin    string
	terminal bool
	env      map[string]string
	http     *http.Client
	aws      func(ctx context.Context, region string) (aws.Config, error)
	listen   bool // `listen` may listen (on a real loopback port)
}

func runCLI(t *testing.T, endpoint string, o runOpts, args ...string) run {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := Env{
		Stdin:      strings.NewReader(o.stdin),
		Stdout:     &stdout,
		Stderr:     &stderr,
		IsTerminal: func() bool { return o.terminal },
		Now:        func() time.Time { return now },
		Getenv: func(k string) string {
			if k == "WEBHOOKS_ENDPOINT" {
				return endpoint
			}
			return o.env[k]
		},
		HTTPClient: o.http,
		LoadAWSConfig: func(ctx context.Context, region string) (aws.Config, error) {
			if o.aws == nil {
				t.Errorf("AWS config loaded for endpoint %s; a loopback endpoint must not be signed", endpoint)
				return aws.Config{}, nil
			}
			return o.aws(ctx, region)
		},
		Listen: func(network, address string) (net.Listener, error) {
			if !o.listen {
				t.Errorf("listened on %s; this test must not get that far", address)
				return nil, errors.New("no listening in this test")
			}
			return net.Listen(network, address)
		},
	}
	code := Main(context.Background(), args, env)
	return run{code, stdout.String(), stderr.String()}
}

// TestCommands runs every command against the fake API and checks the request
// sent and the output.
func TestCommands(t *testing.T) {
	type want struct {
		method, path, query, body string // body compared as JSON; "" means no body
		header                    map[string]string
	}
	cases := []struct {
		name   string
		args   []string
		routes map[string]reply
		opts   runOpts
		reqs   []want
		code   int
		stdout string
		stderr string
	}{
		{
			name:   "list table",
			args:   []string{"list"},
			routes: map[string]reply{"GET /webhooks": {200, `{"items":[` + webhookJSON + `,` + pausedJSON + `],"next_cursor":""}`}},
			reqs:   []want{{method: "GET", path: "/webhooks"}},
			stdout: "" +
				"ID                                   NAME        STATUS             HEALTH              EVENTS                      URL                          CREATED\n" +
				"wh_0192f0c4a1b27c3d8e9f001122334455  My Webhook  active             closed              agent.started,agent.failed  https://example.com/webhook  2m ago (2026-11-28 16:04:05Z)\n" +
				"wh_0192f0c4a1b27c3d8e9f001122334455  My Webhook  inactive (paused)  open (12 failures)  custom                      https://example.com/webhook  3d ago (2026-11-25 16:04:05Z)\n",
		},
		{
			name:   "list filters and next page",
			args:   []string{"list", "--status", "inactive", "--event", "agent.started", "--limit", "1", "--cursor", "abc"},
			routes: map[string]reply{"GET /webhooks": {200, `{"items":[` + pausedJSON + `],"next_cursor":"xyz"}`}},
			reqs:   []want{{method: "GET", path: "/webhooks", query: "cursor=abc&event=agent.started&limit=1&status=inactive"}},
			stdout: "" +
				"ID                                   NAME        STATUS             HEALTH              EVENTS  URL                          CREATED\n" +
				"wh_0192f0c4a1b27c3d8e9f001122334455  My Webhook  inactive (paused)  open (12 failures)  custom  https://example.com/webhook  3d ago (2026-11-25 16:04:05Z)\n" +
				"\nMore results: webhooks list --event agent.started --limit 1 --status inactive --cursor xyz\n",
		},
		{
			name:   "list json is the body as is",
			args:   []string{"list", "--format", "json"},
			routes: map[string]reply{"GET /webhooks": {200, `{"items":[],"next_cursor":""}`}},
			reqs:   []want{{method: "GET", path: "/webhooks"}},
			stdout: `{"items":[],"next_cursor":""}` + "\n",
		},
		{
			name: "create with every flag",
			args: []string{"create", "--name", "My Webhook", "--url", "https://example.com/webhook",
				"--events", "agent.started, agent.failed", "--method", "PUT", "--headers", `{"X-Custom":"value"}`,
				"--auth-type", "bearer", "--auth-credentials", `{"token":"secret123"}`,
				"--retry-strategy", "linear", "--max-attempts", "5", "--initial-delay", "1.5s", "--max-delay", "120000",
				"--timeout", "10s"},
			routes: map[string]reply{"POST /webhooks": {201, webhookJSON}},
			reqs: []want{{method: "POST", path: "/webhooks", body: `{"name":"My Webhook","url":"https://example.com/webhook",` +
				`"events":["agent.started","agent.failed"],"method":"PUT","headers":{"X-Custom":"value"},` +
				`"auth_type":"bearer","auth_credentials":{"token":"secret123"},"timeout_ms":10000,` +
				`"retry":{"strategy":"linear","max_attempts":5,"initial_delay_ms":1500,"max_delay_ms":120000}}`,
				header: map[string]string{"Content-Type": "application/json"}}},
			stdout: "" +
				"ID       wh_0192f0c4a1b27c3d8e9f001122334455\n" +
				"Name     My Webhook\n" +
				"URL      https://example.com/webhook\n" +
				"Method   POST\n" +
				"Status   active\n" +
				"Health   circuit closed; last success 30s ago (2026-11-28 16:05:35Z)\n" +
				"Events   agent.started, agent.failed\n" +
				"Auth     bearer (token=se****)\n" +
				"Headers  X-Custom: value\n" +
				"Retry    exponential, 3 attempts, initial delay 1s, max delay 1m0s\n" +
				"Timeout  30s\n" +
				"Version  3\n" +
				"Created  2m ago (2026-11-28 16:04:05Z)\n" +
				"Updated  30s ago (2026-11-28 16:05:35Z)\n",
		},
		{
			name:   "create sends only what was given",
			args:   []string{"create", "--name", "n", "--url", "http://127.0.0.1:9/x", "--events", "custom", "--format", "json"},
			routes: map[string]reply{"POST /webhooks": {201, pausedJSON}},
			reqs:   []want{{method: "POST", path: "/webhooks", body: `{"name":"n","url":"http://127.0.0.1:9/x","events":["custom"]}`}},
			stdout: pausedJSON + "\n",
		},
		{
			name:   "create refused by the API: one line, exit 1",
			args:   []string{"create", "--name", "n", "--url", "example.com", "--events", "custom"},
			routes: map[string]reply{"POST /webhooks": {400, `{"error":{"code":"validation_failed","message":"url must be absolute","field":"url"}}`}},
			reqs:   []want{{method: "POST", path: "/webhooks", body: `{"name":"n","url":"example.com","events":["custom"]}`}},
			code:   ExitAPIError,
			stderr: "error: validation_failed: url must be absolute (field url)\n",
		},
		{
			name: "info table", args: []string{"info", whID},
			routes: map[string]reply{"GET /webhooks/" + whID: {200, pausedJSON}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID}},
			stdout: "" +
				"ID       wh_0192f0c4a1b27c3d8e9f001122334455\n" +
				"Name     My Webhook\n" +
				"URL      https://example.com/webhook\n" +
				"Method   POST\n" +
				"Status   inactive (paused)\n" +
				"Health   circuit open since 1m ago (2026-11-28 16:05:05Z); next probe in 1m (2026-11-28 16:07:05Z); 12 consecutive failures since 1h ago (2026-11-28 15:06:05Z)\n" +
				"Events   custom\n" +
				"Auth     none\n" +
				"Headers  -\n" +
				"Retry    fixed, 1 attempt, initial delay 0s, max delay 0s\n" +
				"Timeout  5s\n" +
				"Version  1\n" +
				"Created  3d ago (2026-11-25 16:04:05Z)\n" +
				"Updated  just now (2026-11-28 16:06:05Z)\n",
		},
		{
			name: "info json", args: []string{"info", whID, "--format", "json"},
			routes: map[string]reply{"GET /webhooks/" + whID: {200, webhookJSON + "\n"}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID}},
			stdout: webhookJSON + "\n",
		},
		{
			name: "info of an unknown id", args: []string{"info", "wh_nope"},
			routes: map[string]reply{"GET /webhooks/wh_nope": {404, `{"error":{"code":"not_found","message":"webhook wh_nope not found"}}`}},
			reqs:   []want{{method: "GET", path: "/webhooks/wh_nope"}},
			code:   ExitAPIError,
			stderr: "error: not_found: webhook wh_nope not found\n",
		},
		{
			name: "id is escaped in the path", args: []string{"info", "a/b?c"},
			reqs:   []want{{method: "GET", path: "/webhooks/a%2Fb%3Fc"}},
			code:   ExitAPIError,
			stderr: "error: not_found: no such route in the fake\n",
		},
		{
			name:   "update sends only the flags that were set",
			args:   []string{"update", whID, "--name", "New Name", "--status", "inactive", "--max-attempts", "7", "--if-match", "3"},
			routes: map[string]reply{"PATCH /webhooks/" + whID: {200, pausedJSON}},
			reqs: []want{{method: "PATCH", path: "/webhooks/" + whID,
				body:   `{"name":"New Name","status":"inactive","retry":{"max_attempts":7}}`,
				header: map[string]string{"If-Match": `"3"`}}},
			stdout: "" +
				"ID       wh_0192f0c4a1b27c3d8e9f001122334455\n" +
				"Name     My Webhook\n" +
				"URL      https://example.com/webhook\n" +
				"Method   POST\n" +
				"Status   inactive (paused)\n" +
				"Health   circuit open since 1m ago (2026-11-28 16:05:05Z); next probe in 1m (2026-11-28 16:07:05Z); 12 consecutive failures since 1h ago (2026-11-28 15:06:05Z)\n" +
				"Events   custom\n" +
				"Auth     none\n" +
				"Headers  -\n" +
				"Retry    fixed, 1 attempt, initial delay 0s, max delay 0s\n" +
				"Timeout  5s\n" +
				"Version  1\n" +
				"Created  3d ago (2026-11-25 16:04:05Z)\n" +
				"Updated  just now (2026-11-28 16:06:05Z)\n",
		},
		{
			name:   "update can clear headers and events list",
			args:   []string{"update", whID, "--headers", `{}`, "--events", "custom", "--auth-type", "none", "--format", "json"},
			routes: map[string]reply{"PATCH /webhooks/" + whID: {200, pausedJSON}},
			reqs: []want{{method: "PATCH", path: "/webhooks/" + whID,
				body: `{"headers":{},"events":["custom"],"auth_type":"none"}`}},
			stdout: pausedJSON + "\n",
		},
		{
			name: "update conflict", args: []string{"update", whID, "--url", "https://x.example", "--if-match", `"1"`},
			routes: map[string]reply{"PATCH /webhooks/" + whID: {409, `{"error":{"code":"conflict","message":"webhook changed since version 1"}}`}},
			reqs: []want{{method: "PATCH", path: "/webhooks/" + whID, body: `{"url":"https://x.example"}`,
				header: map[string]string{"If-Match": `"1"`}}},
			code:   ExitAPIError,
			stderr: "error: conflict: webhook changed since version 1\n",
		},
		{
			name: "delete --force", args: []string{"delete", whID, "--force"},
			routes: map[string]reply{"DELETE /webhooks/" + whID: {204, ""}},
			reqs:   []want{{method: "DELETE", path: "/webhooks/" + whID}},
			stdout: "Deleted webhook " + whID + "\n",
		},
		{
			name: "delete confirmed on a terminal", args: []string{"delete", whID},
			opts: runOpts{terminal: true, stdin: "y\n"},
			routes: map[string]reply{
				"GET /webhooks/" + whID:    {200, webhookJSON},
				"DELETE /webhooks/" + whID: {204, ""},
			},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID}, {method: "DELETE", path: "/webhooks/" + whID}},
			stdout: "Deleted webhook " + whID + "\n",
			stderr: `Delete webhook ` + whID + ` "My Webhook" (https://example.com/webhook)? [y/N] `,
		},
		{
			name: "delete confirmed with yes", args: []string{"delete", whID},
			opts: runOpts{terminal: true, stdin: " YES \n"},
			routes: map[string]reply{
				"GET /webhooks/" + whID:    {200, webhookJSON},
				"DELETE /webhooks/" + whID: {204, ""},
			},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID}, {method: "DELETE", path: "/webhooks/" + whID}},
			stdout: "Deleted webhook " + whID + "\n",
			stderr: `Delete webhook ` + whID + ` "My Webhook" (https://example.com/webhook)? [y/N] `,
		},
		{
			name: "delete declined on a terminal", args: []string{"delete", whID},
			opts:   runOpts{terminal: true, stdin: "n\n"},
			routes: map[string]reply{"GET /webhooks/" + whID: {200, webhookJSON}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID}},
			code:   ExitAPIError,
			stderr: `Delete webhook ` + whID + ` "My Webhook" (https://example.com/webhook)? [y/N] aborted: webhook ` + whID + " not deleted\n",
		},
		{
			name: "delete with an empty answer aborts", args: []string{"delete", whID},
			opts:   runOpts{terminal: true, stdin: ""},
			routes: map[string]reply{"GET /webhooks/" + whID: {200, webhookJSON}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID}},
			code:   ExitAPIError,
			stderr: `Delete webhook ` + whID + ` "My Webhook" (https://example.com/webhook)? [y/N] aborted: webhook ` + whID + " not deleted\n",
		},
		{
			name: "delete without --force and no terminal", args: []string{"delete", whID},
			opts:   runOpts{terminal: false, stdin: "y\n"},
			code:   ExitUsage,
			stderr: "error: refusing to delete " + whID + " without --force: stdin is not a terminal (see 'webhooks delete --help')\n",
		},
		{
			name: "delete of an unknown id asks nothing", args: []string{"delete", "wh_nope"},
			opts: runOpts{terminal: true, stdin: "y\n"},
			reqs: []want{{method: "GET", path: "/webhooks/wh_nope"}},
			code: ExitAPIError, stderr: "error: not_found: no such route in the fake\n",
		},
		{
			name: "test: the endpoint accepted it", args: []string{"test", whID},
			routes: map[string]reply{"POST /webhooks/" + whID + "/test": {200, testOKJSON}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/test"}},
			stdout: "" +
				"Success   yes\n" +
				"Status    200\n" +
				"Duration  42ms\n" +
				`Response  {"ok":true}` + "\n" +
				"Delivery  " + testID + "\n",
		},
		{
			name: "test: the endpoint failed, the command did not", args: []string{"test", whID},
			routes: map[string]reply{"POST /webhooks/" + whID + "/test": {200, testFailedJSON}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/test"}},
			stdout: "" +
				"Success   no: endpoint answered 500 Internal Server Error\n" +
				"Status    500\n" +
				"Duration  3ms\n" +
				"Response  upstream exploded at line 3\n" +
				"Delivery  " + testID + "\n",
		},
		{
			name: "test: no response", args: []string{"test", whID},
			routes: map[string]reply{"POST /webhooks/" + whID + "/test": {200, testRefusedJSON}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/test"}},
			stdout: "" +
				"Success   no: connection refused (127.0.0.1:9)\n" +
				"Status    -\n" +
				"Duration  0ms\n" +
				"Response  -\n" +
				"Delivery  " + testID + "\n",
		},
		{
			name: "test json is the body as is", args: []string{"test", whID, "--format", "json"},
			routes: map[string]reply{"POST /webhooks/" + whID + "/test": {200, testFailedJSON}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/test"}},
			stdout: testFailedJSON + "\n",
		},
		{
			name: "test of an unknown webhook", args: []string{"test", "wh_nope"},
			reqs:   []want{{method: "POST", path: "/webhooks/wh_nope/test"}},
			code:   ExitAPIError,
			stderr: "error: not_found: no such route in the fake\n",
		},
		{
			name: "deliveries table with the default limit", args: []string{"deliveries", whID},
			routes: map[string]reply{"GET /webhooks/" + whID + "/deliveries": {200, `{"items":[` + deliveryJSON + `,` + testDeliveryJSON + `]}`}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID + "/deliveries", query: "limit=50"}},
			stdout: "" +
				"ID                                    EVENT          STATUS     ATTEMPTS  LAST CODE  LAST DURATION  CREATED\n" +
				"dlv_0192f0c4a1b27c3d8e9f00112233aaaa  agent.started  retrying   2         -          30000ms        1m ago (2026-11-28 16:05:00Z)\n" +
				"dlv_0192f0c4a1b27c3d8e9f00112233cccc  custom (test)  succeeded  1         200        42ms           just now (2026-11-28 16:06:05Z)\n",
		},
		{
			name: "deliveries: the next page keeps the filters", args: []string{"deliveries", whID, "--status", "failed"},
			routes: map[string]reply{"GET /webhooks/" + whID + "/deliveries": {200, `{"items":[],"next_cursor":"n2"}`}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID + "/deliveries", query: "limit=50&status=failed"}},
			stdout: "" +
				"ID  EVENT  STATUS  ATTEMPTS  LAST CODE  LAST DURATION  CREATED\n" +
				"\nMore results: webhooks deliveries " + whID + " --status failed --cursor n2\n",
		},
		{
			name: "deliveries filters and json", args: []string{"deliveries", whID, "--limit", "5", "--status", "failed", "--cursor", "c1", "--format", "json"},
			routes: map[string]reply{"GET /webhooks/" + whID + "/deliveries": {200, `{"items":[],"next_cursor":""}`}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID + "/deliveries", query: "cursor=c1&limit=5&status=failed"}},
			stdout: `{"items":[],"next_cursor":""}` + "\n",
		},
		{
			name: "one delivery with its attempts", args: []string{"delivery", whID, dlvID},
			routes: map[string]reply{"GET /webhooks/" + whID + "/deliveries/" + dlvID: {200, deliveryJSON}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID + "/deliveries/" + dlvID}},
			stdout: "" +
				"ID            dlv_0192f0c4a1b27c3d8e9f00112233aaaa\n" +
				"Webhook       wh_0192f0c4a1b27c3d8e9f001122334455\n" +
				"Event ID      evt_0192f0c4a1b27c3d8e9f00112233bbbb\n" +
				"Event         agent.started\n" +
				"Status        retrying\n" +
				"Attempts      2\n" +
				"Created       1m ago (2026-11-28 16:05:00Z)\n" +
				"Next attempt  in 1m (2026-11-28 16:07:05Z)\n" +
				"\n" +
				"ATTEMPT  STARTED                        CODE  DURATION  TIMINGS                                                ERROR    RESPONSE\n" +
				"1        1m ago (2026-11-28 16:05:00Z)  503   120ms     dns 2.1ms connect 11.4ms tls 24.8ms first byte 80.3ms  -        Service Unavailable\n" +
				"2        1m ago (2026-11-28 16:05:02Z)  -     30000ms   -                                                      timeout  -\n",
		},
		{
			name: "stats table: success rate as a percentage", args: []string{"stats", whID},
			routes: map[string]reply{"GET /webhooks/" + whID + "/stats": {200, statsJSON}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID + "/stats"}},
			stdout: "" +
				"Total deliveries  10\n" +
				"Successful        3\n" +
				"Failed            7\n" +
				"Success rate      30.0%\n" +
				"Avg response      242ms\n" +
				"Held now          4\n" +
				"Last delivery     1h ago (2026-11-28 15:06:05Z)\n" +
				"Last success      3d ago (2026-11-25 16:06:05Z)\n" +
				"Last failure      never\n",
		},
		{
			name: "stats with no deliveries: no rate, no average", args: []string{"stats", whID},
			routes: map[string]reply{"GET /webhooks/" + whID + "/stats": {200, `{"total_deliveries":0,"successful":0,"failed":0,"success_rate":0,"avg_response_ms":0}`}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID + "/stats"}},
			stdout: "" +
				"Total deliveries  0\n" +
				"Successful        0\n" +
				"Failed            0\n" +
				"Success rate      -\n" +
				"Avg response      -\n" +
				"Held now          0\n" +
				"Last delivery     never\n" +
				"Last success      never\n" +
				"Last failure      never\n",
		},
		{
			name: "stats json", args: []string{"stats", whID, "--format", "json"},
			routes: map[string]reply{"GET /webhooks/" + whID + "/stats": {200, statsJSON}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID + "/stats"}},
			stdout: statsJSON + "\n",
		},
		{
			name: "trigger", args: []string{"trigger", "--event", "custom", "--data", `{"message": "test"}`,
				"--metadata", `{"source":"cli"}`, "--idempotency-key", "k-1"},
			routes: map[string]reply{"POST /events": {202, `{"event_id":"` + evtID + `","deliveries":2}`}},
			reqs: []want{{method: "POST", path: "/events",
				body:   `{"event":"custom","data":{"message":"test"},"metadata":{"source":"cli"}}`,
				header: map[string]string{"Idempotency-Key": "k-1"}}},
			stdout: "Triggered custom as " + evtID + ": 2 deliveries queued\n",
		},
		{
			name: "trigger with no subscribers, json", args: []string{"trigger", "--event", "agent.stopped", "--format", "json"},
			routes: map[string]reply{"POST /events": {202, `{"event_id":"` + evtID + `","deliveries":0}`}},
			reqs:   []want{{method: "POST", path: "/events", body: `{"event":"agent.stopped"}`}},
			stdout: `{"event_id":"` + evtID + `","deliveries":0}` + "\n",
		},
		{
			name: "retry", args: []string{"retry", "--webhook", whID, "--delivery", dlvID},
			routes: map[string]reply{"POST /webhooks/" + whID + "/deliveries/" + dlvID + "/retry": {202, retriedJSON}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/deliveries/" + dlvID + "/retry"}},
			stdout: "Queued delivery " + dlvID + " of webhook " + whID + " again: attempt 2 next, status pending\n",
		},
		{
			name: "retry json", args: []string{"retry", "--webhook", whID, "--delivery", dlvID, "--format", "json"},
			routes: map[string]reply{"POST /webhooks/" + whID + "/deliveries/" + dlvID + "/retry": {202, retriedJSON}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/deliveries/" + dlvID + "/retry"}},
			stdout: retriedJSON + "\n",
		},
		{
			name: "retry of a delivery that is not final", args: []string{"retry", "--webhook", whID, "--delivery", dlvID},
			routes: map[string]reply{"POST /webhooks/" + whID + "/deliveries/" + dlvID + "/retry": {409,
				`{"error":{"code":"conflict","message":"delivery is still retrying;\nwait for it to end"}}`}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/deliveries/" + dlvID + "/retry"}},
			code:   ExitAPIError,
			stderr: "error: conflict: delivery is still retrying; wait for it to end\n",
		},
		{
			name: "pause", args: []string{"pause", whID},
			routes: map[string]reply{"POST /webhooks/" + whID + "/pause": {200, pausedJSON}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/pause"}},
			stdout: "Paused webhook " + whID + " (My Webhook): status inactive\n",
		},
		{
			name: "pause with hold", args: []string{"pause", whID, "--hold"},
			routes: map[string]reply{"POST /webhooks/" + whID + "/pause": {200, strings.Replace(pausedJSON, `"status_reason":"paused"`, `"status_reason":"paused","hold":true`, 1)}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/pause", body: `{"hold":true}`}},
			stdout: "Paused webhook " + whID + " (My Webhook): status inactive; deliveries are held until resume\n",
		},
		{
			name: "deliveries held", args: []string{"deliveries", whID, "--status", "held", "--format", "json"},
			routes: map[string]reply{"GET /webhooks/" + whID + "/deliveries": {200, `{"items":[],"next_cursor":null}`}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID + "/deliveries", query: "limit=50&status=held"}},
			stdout: `{"items":[],"next_cursor":null}` + "\n",
		},
		{
			name: "resume", args: []string{"resume", whID},
			routes: map[string]reply{"POST /webhooks/" + whID + "/resume": {200, webhookJSON}},
			reqs:   []want{{method: "POST", path: "/webhooks/" + whID + "/resume"}},
			stdout: "Resumed webhook " + whID + " (My Webhook): status active\n",
		},
		{
			name: "events", args: []string{"events"},
			routes: map[string]reply{"GET /events/types": {200, `{"items":[{"name":"agent.started","description":"Agent has started execution"},{"name":"custom","description":"Custom events"}]}`}},
			reqs:   []want{{method: "GET", path: "/events/types"}},
			stdout: "" +
				"EVENT          DESCRIPTION\n" +
				"agent.started  Agent has started execution\n" +
				"custom         Custom events\n",
		},
		{
			name: "an error that is not the API's JSON", args: []string{"stats", whID},
			routes: map[string]reply{"GET /webhooks/" + whID + "/stats": {502, "Bad Gateway\n<html>\n"}},
			reqs:   []want{{method: "GET", path: "/webhooks/" + whID + "/stats"}},
			code:   ExitAPIError,
			stderr: "error: http 502: Bad Gateway <html>\n",
		},
		{
			name: "API Gateway's own error JSON", args: []string{"list"},
			routes: map[string]reply{"GET /webhooks": {403, `{"message":"Forbidden"}`}},
			reqs:   []want{{method: "GET", path: "/webhooks"}},
			code:   ExitAPIError,
			stderr: "error: http 403: Forbidden\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, tc.routes)
			got := runCLI(t, api.srv.URL, tc.opts, tc.args...)
			assert.Equal(t, tc.stdout, got.stdout, "stdout")
			assert.Equal(t, tc.stderr, got.stderr, "stderr")
			assert.Equal(t, tc.code, got.code, "exit status")
			reqs := api.requests()
			require.Len(t, reqs, len(tc.reqs), "requests sent")
			for i, w := range tc.reqs {
				r := reqs[i]
				assert.Equal(t, w.method, r.Method, "method")
				assert.Equal(t, w.path, r.Path, "path")
				assert.Equal(t, w.query, r.Query, "query")
				if w.body == "" {
					assert.Empty(t, r.Body, "body")
				} else {
					assert.JSONEq(t, w.body, r.Body, "body")
				}
				for k, v := range w.header {
					assert.Equal(t, v, r.Header.Get(k), "header %s", k)
				}
				assert.Empty(t, r.Header.Get("Authorization"), "a loopback endpoint is not signed")
				assert.Equal(t, "application/json", r.Header.Get("Accept"))
			}
		})
	}
}

// TestUsageErrors: bad command lines exit 2 with one line on stderr, which
// ends with where the command's flags are described, and send nothing.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		message string
		help    string // the command whose --help the hint names
	}{
		{"missing required flag", []string{"create", "--name", "n", "--url", "https://x.example"}, `required flag(s) "events" not set`, "webhooks create"},
		{"missing required flags", []string{"create", "--name", "n"}, `required flag(s) "events", "url" not set`, "webhooks create"},
		{"missing required flags of retry", []string{"retry", "--webhook", whID}, `required flag(s) "delivery" not set`, "webhooks retry"},
		{"missing event", []string{"trigger"}, `give --event EVENT, or --file EVENTS.jsonl`, "webhooks trigger"},
		{"unknown flag", []string{"list", "--colour"}, "unknown flag: --colour", "webhooks list"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate" for "webhooks"`, "webhooks"},
		{"malformed --data", []string{"trigger", "--event", "custom", "--data", `{"a":`}, "--data: malformed JSON: unexpected end of JSON input", "webhooks trigger"},
		{"malformed --metadata", []string{"trigger", "--event", "custom", "--metadata", `nope`}, "--metadata: malformed JSON: invalid character 'o' in literal null (expecting 'u')", "webhooks trigger"},
		{"malformed --headers", []string{"create", "--name", "n", "--url", "u", "--events", "custom", "--headers", `{"X":1`}, "--headers: malformed JSON: unexpected end of JSON input", "webhooks create"},
		{"--headers not an object of strings", []string{"create", "--name", "n", "--url", "u", "--events", "custom", "--headers", `{"X":1}`}, `--headers: want a JSON object of strings, like {"key":"value"}`, "webhooks create"},
		{"malformed --auth-credentials", []string{"update", whID, "--auth-credentials", `["token"]`}, `--auth-credentials: want a JSON object of strings, like {"key":"value"}`, "webhooks update"},
		{"bad duration", []string{"create", "--name", "n", "--url", "u", "--events", "custom", "--timeout", "soon"},
			`invalid argument "soon" for "--timeout" flag: want milliseconds or a duration like 1s or 2m30s`, "webhooks create"},
		{"negative delay", []string{"update", whID, "--initial-delay", "-5"},
			`invalid argument "-5" for "--initial-delay" flag: must not be negative`, "webhooks update"},
		{"bad format", []string{"info", whID, "--format", "yaml"}, `--format: want table or json, not "yaml"`, "webhooks info"},
		{"missing id", []string{"info"}, "info needs one webhook id argument", "webhooks info"},
		{"two ids", []string{"stats", "a", "b"}, "stats needs one webhook id argument", "webhooks stats"},
		{"one id of two", []string{"delivery", whID}, "delivery needs a webhook id and a delivery id", "webhooks delivery"},
		{"update with nothing to change", []string{"update", whID}, "update: nothing to change; give at least one flag", "webhooks update"},
		{"bad endpoint", []string{"list", "--endpoint", "ftp://x"}, `invalid endpoint "ftp://x": want http(s)://host[:port]`, "webhooks list"},
		{"delete without a terminal", []string{"delete", whID}, "refusing to delete " + whID + " without --force: stdin is not a terminal", "webhooks delete"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, nil)
			got := runCLI(t, api.srv.URL, runOpts{}, tc.args...)
			assert.Equal(t, ExitUsage, got.code, "exit status")
			assert.Equal(t, "error: "+tc.message+" (see '"+tc.help+" --help')\n", got.stderr)
			assert.Empty(t, got.stdout)
			assert.Empty(t, api.requests(), "nothing is sent")
		})
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	got := runCLI(t, url, runOpts{}, "list")
	assert.Equal(t, ExitAPIError, got.code)
	assert.Regexp(t, `^error: GET http://127\.0\.0\.1:\d+/webhooks: dial tcp 127\.0\.0\.1:\d+: connect: connection refused\n$`, got.stderr)
}

func TestEndpointChoice(t *testing.T) {
	flagAPI := newFakeAPI(t, map[string]reply{"GET /events/types": {200, `{"items":[]}`}})
	envAPI := newFakeAPI(t, map[string]reply{
		"GET /events/types":      {200, `{"items":[]}`},
		"GET /prod/events/types": {200, `{"items":[]}`},
	})

	got := runCLI(t, envAPI.srv.URL, runOpts{}, "events", "--endpoint", flagAPI.srv.URL)
	require.Equal(t, ExitOK, got.code, got.stderr)
	assert.Len(t, flagAPI.requests(), 1, "--endpoint wins")
	assert.Empty(t, envAPI.requests())

	got = runCLI(t, envAPI.srv.URL, runOpts{}, "events")
	require.Equal(t, ExitOK, got.code, got.stderr)
	assert.Len(t, envAPI.requests(), 1, "then WEBHOOKS_ENDPOINT")

	// An endpoint with a base path keeps it.
	got = runCLI(t, envAPI.srv.URL+"/prod/", runOpts{}, "events")
	require.Equal(t, ExitOK, got.code, got.stderr)
	reqs := envAPI.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/prod/events/types", reqs[1].Path)
	assert.Equal(t, "EVENT  DESCRIPTION\n", got.stdout)
}

func TestVersion(t *testing.T) {
	got := runCLI(t, "http://127.0.0.1:1", runOpts{}, "version")
	assert.Equal(t, ExitOK, got.code)
	assert.Regexp(t, `^webhooks \S+ \(go\S+ \w+/\w+\)\n$`, got.stdout)
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{nil, {"--help"}, {"create", "--help"}, {"listen", "--help"}} {
		got := runCLI(t, "http://127.0.0.1:1", runOpts{}, args...)
		assert.Equal(t, ExitOK, got.code, "%v", args)
		assert.Contains(t, got.stdout, "Usage:")
	}
}

// commands returns every command of the CLI, the root first.
func commands() []*cobra.Command {
	root := (&app{env: Env{}}).rootCommand()
	all := []*cobra.Command{root}
	for i := 0; i < len(all); i++ {
		all = append(all, all[i].Commands()...)
	}
	return all
}

func helpOf(t *testing.T, args ...string) string {
	t.Helper()
	got := runCLI(t, "http://127.0.0.1:1", runOpts{}, append(args, "--help")...)
	require.Equal(t, ExitOK, got.code, got.stderr)
	return got.stdout
}

// pflag takes a `quoted` word of a usage string as the flag's value type in
// help ("--events webhooks events"): no usage may have one, and every type
// shown is one word.
func TestFlagHelpValueTypes(t *testing.T) {
	for _, cmd := range commands() {
		for _, fs := range []*pflag.FlagSet{cmd.LocalFlags(), cmd.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				assert.NotContains(t, f.Usage, "`", "%s --%s", cmd.CommandPath(), f.Name)
				typ, _ := pflag.UnquoteUsage(f)
				assert.Regexp(t, `^[a-z]*$`, typ, "%s --%s", cmd.CommandPath(), f.Name)
			})
		}
	}
	assert.Regexp(t, `(?m)^      --events string +comma-separated events, e\.g\. agent\.started,agent\.failed \('webhooks events' lists them\)$`, helpOf(t, "create"))
	assert.Regexp(t, `(?m)^      --event string +event name \('webhooks events' lists them\)$`, helpOf(t, "trigger"))
}

// update changes only the flags given, so its help shows none of the
// defaults create's help shows (the API's defaults for a new webhook).
func TestUpdateHelpShowsNoCreateDefaults(t *testing.T) {
	create, update := helpOf(t, "create"), helpOf(t, "update")
	for _, want := range []string{
		`--max-attempts int +attempts per delivery, 1 to 20 \(default 3\)`,
		`--method string +HTTP method: POST, PUT or PATCH \(default POST\)`,
		`--retry-strategy string +exponential, linear or fixed \(default exponential\)`,
		`--initial-delay ms +delay before the first retry, in ms or as a duration like 1s \(default 1000\)`,
		`--timeout ms +request timeout, in ms or a duration, 1000 to 120000 \(default 30000, or the service's DEFAULT_TIMEOUT_MS\)`,
	} {
		assert.Regexp(t, `(?m)^      `+want+`$`, create)
	}
	flags := update[strings.Index(update, "Flags:"):strings.Index(update, "Global Flags:")]
	for _, l := range strings.Split(strings.TrimSpace(flags), "\n")[1:] {
		if strings.Contains(l, "--format") {
			continue // a default of the CLI, which update applies
		}
		assert.NotContains(t, l, "default", "update --help: %s", l)
	}
	assert.Regexp(t, `(?m)^      --max-attempts int +attempts per delivery, 1 to 20$`, update)
}

func TestMSValue(t *testing.T) {
	cases := []struct {
		in   string
		ms   int64
		fail bool
	}{
		{"1000", 1000, false}, {"0", 0, false}, {"1s", 1000, false}, {"1m30s", 90000, false},
		{"250ms", 250, false}, {"-1", 0, true}, {"-1s", 0, true}, {"1.5", 0, true}, {"1us", 0, true}, {"", 0, true},
	}
	for _, tc := range cases {
		var v msValue
		err := v.Set(tc.in)
		if tc.fail {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.ms, v.ms, tc.in)
	}
}

func TestRelativeTimes(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"}, {999 * time.Millisecond, "just now"}, {59 * time.Second, "59s ago"},
		{2*time.Minute + 59*time.Second, "2m ago"}, {5 * time.Hour, "5h ago"}, {49 * time.Hour, "2d ago"},
		{-90 * time.Second, "in 1m"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, relative(now, now.Add(-tc.d)), "%v", tc.d)
	}
	assert.Equal(t, "never", when(now, time.Time{}))
	assert.Equal(t, "2m ago (2026-11-28 16:04:05Z)", when(now, time.Date(2026, 11, 28, 17, 4, 5, 0, time.FixedZone("CET", 3600))))
}

func TestPercent(t *testing.T) {
	for rate, want := range map[float64]string{0: "0.0%", 0.3: "30.0%", 1: "100.0%", 2.0 / 3: "66.7%", 0.0005: "0.1%"} {
		assert.Equal(t, want, percent(rate))
	}
}

// The CLI's request bodies are what the API expects: JSON snake_case.
func TestWebhookBodyKeys(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"POST /webhooks": {201, webhookJSON}})
	got := runCLI(t, api.srv.URL, runOpts{}, "create", "--name", "n", "--url", "u", "--events", "custom",
		"--auth-type", "api-key", "--auth-credentials", `{"api_key":"k","header_name":"X-Key"}`)
	require.Equal(t, ExitOK, got.code, got.stderr)
	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(api.requests()[0].Body), &body))
	assert.JSONEq(t, `{"api_key":"k","header_name":"X-Key"}`, string(body["auth_credentials"]))
	assert.JSONEq(t, `"api-key"`, string(body["auth_type"]))
}

// oauth2 credentials travel like the others: as the JSON object given; a
// read shows what the API masked.
func TestCreateOAuth2(t *testing.T) {
	const answer = `{"id":"wh_0192f0c4a1b27c3d8e9f001122334455","name":"n","url":"https://example.com/hook","method":"POST",` +
		`"headers":{},"events":["custom"],"status":"active","auth_type":"oauth2",` +
		`"auth_credentials":{"token_url":"https://auth.example.com/token","client_id":"webhooks","client_secret":"****-123"},` +
		`"retry":{"strategy":"exponential","max_attempts":3,"initial_delay_ms":1000,"max_delay_ms":60000},"timeout_ms":30000,` +
		`"version":1,"created_at":"2026-11-28T16:04:05Z","updated_at":"2026-11-28T16:04:05Z"}`
	api := newFakeAPI(t, map[string]reply{"POST /webhooks": {201, answer}, "PATCH /webhooks/wh_0192f0c4a1b27c3d8e9f001122334455": {200, answer}})
	creds := `{"token_url":"https://auth.example.com/token","client_id":"webhooks","client_secret":"secret-123","scope":"hooks"}`
	got := runCLI(t, api.srv.URL, runOpts{}, "create", "--name", "n", "--url", "https://example.com/hook", "--events", "custom",
		"--auth-type", "oauth2", "--auth-credentials", creds)
	require.Equal(t, ExitOK, got.code, got.stderr)
	assert.Contains(t, got.stdout, "Auth     oauth2 (client_id=webhooks, client_secret=****-123, token_url=https://auth.example.com/token)")
	got = runCLI(t, api.srv.URL, runOpts{}, "update", "wh_0192f0c4a1b27c3d8e9f001122334455", "--auth-credentials", creds)
	require.Equal(t, ExitOK, got.code, got.stderr)
	for i, r := range api.requests() {
		var body map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(r.Body), &body))
		assert.JSONEq(t, creds, string(body["auth_credentials"]), "request %d", i)
	}
	var first map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(api.requests()[0].Body), &first))
	assert.JSONEq(t, `"oauth2"`, string(first["auth_type"]))
}
