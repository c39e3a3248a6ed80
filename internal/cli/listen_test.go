package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/delivery"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// The Standard Webhooks libraries' test secret, and another one.
const (
	listenSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	otherSecret  = "whsec_c2VjcmV0LW9mLWFub3RoZXItd2ViaG9vaw=="
)

// syncBuffer is an output the listener writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// listenRun is a `webhooks listen` running in the test's process.
type listenRun struct {
	t              *testing.T
	base           string // http://127.0.0.1:port
	port           int
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
	once           sync.Once
	code           int
}

// startListen runs `webhooks listen --port 0 args...` against endpoint and
// returns once it listens. Its listener must be on 127.0.0.1.
func startListen(t *testing.T, endpoint string, args ...string) *listenRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &listenRun{t: t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	addrs := make(chan *net.TCPAddr, 1)
	env := Env{
		Stdin: strings.NewReader(""), Stdout: r.stdout, Stderr: r.stderr,
		IsTerminal: func() bool { return false },
		Now:        func() time.Time { return now },
		Getenv: func(k string) string {
			if k == "WEBHOOKS_ENDPOINT" {
				return endpoint
			}
			return ""
		},
		LoadAWSConfig: nil, // a loopback endpoint is never signed
		Listen: func(network, address string) (net.Listener, error) {
			// Called on listen's goroutine: assert, not require.
			host, _, err := net.SplitHostPort(address)
			assert.NoError(t, err)
			assert.Equal(t, "tcp", network)
			assert.Equal(t, "127.0.0.1", host, "listen binds loopback only")
			ln, err := net.Listen(network, address)
			if err == nil {
				addrs <- ln.Addr().(*net.TCPAddr)
			}
			return ln, err
		},
	}
	go func() { r.done <- Main(ctx, append([]string{"listen", "--port", "0"}, args...), env) }()
	select {
	case addr := <-addrs:
		r.port = addr.Port
		r.base = fmt.Sprintf("http://127.0.0.1:%d", addr.Port)
	case code := <-r.done:
		cancel()
		t.Fatalf("listen exited with %d before listening: %s", code, r.stderr.String())
	}
	t.Cleanup(func() { r.stop() })
	// The banner is the last thing written before it serves (a created
	// webhook comes first).
	r.waitFor(r.stderr, "Listening on "+r.base)
	return r
}

// stop ends listen as Ctrl-C would and returns its exit status.
func (r *listenRun) stop() int {
	r.once.Do(func() {
		r.cancel()
		select {
		case r.code = <-r.done:
		case <-time.After(30 * time.Second):
			r.t.Fatal("listen did not stop")
		}
	})
	return r.code
}

// waitFor waits until out contains s. The bound only keeps a broken listener
// from hanging the test.
func (r *listenRun) waitFor(out *syncBuffer, s string) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			r.t.Fatalf("no %q in:\n%s\nstderr:\n%s", s, out.String(), r.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lines waits for n lines on stdout and returns them.
func (r *listenRun) lines(n int) []string {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := r.stdout.String()
		if strings.Count(out, "\n") >= n {
			return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("want %d lines, have:\n%s\nstderr:\n%s", n, out, r.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signed is a delivery request built by the delivery function's own code,
// for webhook URL url with the given auth.
type signed struct {
	auth    webhook.AuthType
	secret  string
	id      string
	event   string
	attempt int
	at      time.Time // the attempt's time: webhook-timestamp
	// previous is a rotation's previous secret, still valid: the delivery
	// is signed with both.
	previous string
}

func (s signed) request(t *testing.T, url string) *http.Request {
	t.Helper()
	w := &webhook.Webhook{ID: whID, URL: url, Method: "POST", AuthType: s.auth}
	if s.secret != "" {
		w.Credentials = map[string]string{"secret": s.secret}
	}
	if s.at.IsZero() {
		s.at = time.Now()
	}
	if s.previous != "" {
		w.Previous = &webhook.PreviousSecret{Sealed: []byte("sealed"), ExpiresAt: s.at.Add(time.Hour), Secret: s.previous}
	}
	body, err := delivery.Payload{WebhookID: whID, Event: s.event, Timestamp: s.at, Data: json.RawMessage(`{"message":"hello"}`)}.Body()
	require.NoError(t, err)
	req, err := delivery.NewRequest(context.Background(), w, delivery.Meta{DeliveryID: s.id, Event: s.event, Attempt: s.attempt, Time: s.at}, body)
	require.NoError(t, err)
	return req
}

type answer struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

const stamp = "2026-11-28 16:06:05.000Z" // now, as listen prints it

func line(event, id, attempt, seed, std, answered string) string {
	return stamp + "  " + event + "  " + id + "  attempt " + attempt + "  X-Webhook-Signature: " + seed +
		"  webhook-signature: " + std + "  answered " + answered
}

// TestListenSignatureChecks: real deliveries, signed as the delivery function
// signs them, checked with the listener's secret.
func TestListenSignatureChecks(t *testing.T) {
	mustSet := func(req *http.Request, k, v string) *http.Request { req.Header.Set(k, v); return req }
	mustDel := func(req *http.Request, k string) *http.Request { req.Header.Del(k); return req }
	tamper := func(t *testing.T, req *http.Request) *http.Request {
		b, err := io.ReadAll(req.Body)
		require.NoError(t, err)
		b = bytes.Replace(b, []byte("hello"), []byte("HELLO"), 1)
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		return req
	}
	cases := []struct {
		name    string
		secret  string // listen --secret
		request func(t *testing.T, url string) *http.Request
		want    string
	}{
		{"signed with the secret", listenSecret,
			signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request,
			line("custom", dlvID, "1", "verified", "verified", "200")},
		{"a raw secret (not whsec_)", "shared-secret",
			signed{auth: webhook.AuthHMAC, secret: "shared-secret", id: dlvID, event: "agent.failed", attempt: 3}.request,
			line("agent.failed", dlvID, "3", "verified", "verified", "200")},
		{"signed with another secret", listenSecret,
			signed{auth: webhook.AuthHMAC, secret: otherSecret, id: dlvID, event: "custom", attempt: 1}.request,
			line("custom", dlvID, "1", "failed", "failed", "200")},
		{"rotation overlap, listening with the new secret", listenSecret,
			signed{auth: webhook.AuthHMAC, secret: listenSecret, previous: otherSecret, id: dlvID, event: "custom", attempt: 1}.request,
			line("custom", dlvID, "1", "verified (X-Webhook-Signature-Next)", "verified", "200")},
		{"rotation overlap, listening with the old secret", otherSecret,
			signed{auth: webhook.AuthHMAC, secret: listenSecret, previous: otherSecret, id: dlvID, event: "custom", attempt: 1}.request,
			line("custom", dlvID, "1", "verified", "verified", "200")},
		{"rotation overlap, listening with neither", "third-secret",
			signed{auth: webhook.AuthHMAC, secret: listenSecret, previous: otherSecret, id: dlvID, event: "custom", attempt: 1}.request,
			line("custom", dlvID, "1", "failed", "failed", "200")},
		{"not signed", listenSecret,
			signed{auth: webhook.AuthNone, id: dlvID, event: "custom", attempt: 2}.request,
			line("custom", dlvID, "2", "not signed", "not signed", "200")},
		{"body changed on the way", listenSecret,
			func(t *testing.T, url string) *http.Request {
				return tamper(t, signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request(t, url))
			},
			line("custom", dlvID, "1", "failed", "failed", "200")},
		{"only the seed's signature", listenSecret,
			func(t *testing.T, url string) *http.Request {
				return mustDel(signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request(t, url), "webhook-signature")
			},
			line("custom", dlvID, "1", "verified", "not signed", "200")},
		{"another delivery id under the same signature", listenSecret,
			func(t *testing.T, url string) *http.Request {
				return mustSet(signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request(t, url), "webhook-id", testID)
			},
			line("custom", dlvID, "1", "verified", "failed", "200")},
		{"a stale timestamp: only the standard signature covers it", listenSecret,
			signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1, at: time.Now().Add(-10 * time.Minute)}.request,
			line("custom", dlvID, "1", "verified", "failed (timestamp too old)", "200")},
		{"no webhook-timestamp", listenSecret,
			func(t *testing.T, url string) *http.Request {
				return mustDel(signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request(t, url), "webhook-timestamp")
			},
			line("custom", dlvID, "1", "verified", "failed (no webhook-id or webhook-timestamp)", "200")},
		{"a request that is no delivery", listenSecret,
			func(t *testing.T, url string) *http.Request {
				req, err := http.NewRequest(http.MethodGet, url+"favicon.ico", nil)
				require.NoError(t, err)
				return req
			},
			line("-", "-", "-", "not signed", "not signed", "200")},
		{"no secret: signatures shown, not checked", "",
			signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request,
			line("custom", dlvID, "1", "not checked", "not checked", "200")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.secret != "" {
				args = []string{"--secret", tc.secret}
			}
			l := startListen(t, "http://127.0.0.1:1", args...)
			got := send(t, tc.request(t, l.base+"/"))
			assert.Equal(t, http.StatusOK, got.status)
			assert.JSONEq(t, `{"received":true}`, got.body)
			assert.Equal(t, []string{tc.want}, l.lines(1))
			if tc.secret == "" {
				assert.Contains(t, l.stderr.String(), "No secret: signatures are not checked")
			}
			assert.Equal(t, ExitOK, l.stop())
			assert.Equal(t, "Listening on "+l.base+", answering 200 (Ctrl-C to stop)\n",
				strings.TrimPrefix(l.stderr.String(), "No secret: signatures are not checked (give --secret, or use --create)\n"))
		})
	}
}

// TestListenStatus: --status is what every request is answered, so a
// delivery's retries can be watched.
func TestListenStatus(t *testing.T) {
	l := startListen(t, "http://127.0.0.1:1", "--secret", listenSecret, "--status", "503")
	assert.Contains(t, l.stderr.String(), "answering 503")
	for attempt := 1; attempt <= 2; attempt++ {
		got := send(t, signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: attempt}.request(t, l.base+"/hook"))
		assert.Equal(t, http.StatusServiceUnavailable, got.status)
		assert.JSONEq(t, `{"error":"webhooks listen answers 503 (--status)"}`, got.body)
	}
	assert.Equal(t, []string{
		line("custom", dlvID, "1", "verified", "verified", "503"),
		line("custom", dlvID, "2", "verified", "verified", "503"),
	}, l.lines(2))
}

// TestListenForward: each request goes on to the app, headers and body as
// received, and the app's answer is the answer.
func TestListenForward(t *testing.T) {
	type seen struct {
		method, uri string
		header      http.Header
		body        []byte
	}
	var mu sync.Mutex
	var got []seen
	status := http.StatusCreated
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.RequestURI, r.Header.Clone(), b})
		code := status
		mu.Unlock()
		w.Header().Set("X-App", "yes")
		w.WriteHeader(code)
		io.WriteString(w, "made by the app")
	}))
	defer app.Close()

	l := startListen(t, "http://127.0.0.1:1", "--secret", listenSecret, "--forward", app.URL+"/hooks/in?src=listen")
	assert.Contains(t, l.stderr.String(), "forwarding to "+app.URL+"/hooks/in?src=listen")

	req := signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request(t, l.base+"/")
	sent := req.Header.Clone()
	body, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	req.Body = io.NopCloser(bytes.NewReader(body))
	a := send(t, req)
	assert.Equal(t, http.StatusCreated, a.status, "the app's status")
	assert.Equal(t, "yes", a.header.Get("X-App"), "the app's headers")
	assert.Equal(t, "made by the app", a.body, "the app's body")

	mu.Lock()
	require.Len(t, got, 1)
	first := got[0]
	status = http.StatusInternalServerError
	mu.Unlock()
	assert.Equal(t, "POST", first.method)
	assert.Equal(t, "/hooks/in?src=listen", first.uri)
	assert.Equal(t, body, first.body, "the body as received")
	for _, h := range []string{"Content-Type", "User-Agent", delivery.HeaderEvent, delivery.HeaderWebhookID, delivery.HeaderTimestamp,
		delivery.HeaderDelivery, delivery.HeaderAttempt, delivery.HeaderSignature, "webhook-id", "webhook-timestamp", "webhook-signature"} {
		require.NotEmpty(t, sent.Get(h), h)
		assert.Equal(t, sent.Get(h), first.header.Get(h), "header %s passed on", h)
	}

	a = send(t, signed{auth: webhook.AuthHMAC, secret: listenSecret, id: testID, event: "custom", attempt: 2}.request(t, l.base+"/"))
	assert.Equal(t, http.StatusInternalServerError, a.status)

	// The app is gone: the service sees a 502, and the line says why.
	app.Close()
	a = send(t, signed{auth: webhook.AuthHMAC, secret: listenSecret, id: testID, event: "custom", attempt: 3}.request(t, l.base+"/"))
	assert.Equal(t, http.StatusBadGateway, a.status)

	lines := l.lines(3)
	assert.Equal(t, line("custom", dlvID, "1", "verified", "verified", "201 (forwarded)"), lines[0])
	assert.Equal(t, line("custom", testID, "2", "verified", "verified", "500 (forwarded)"), lines[1])
	assert.Regexp(t, "^"+regexp.QuoteMeta(line("custom", testID, "3", "verified", "verified", "502 (forward failed: "))+
		`dial tcp 127\.0\.0\.1:\d+: connect: connection refused\)$`, lines[2])
}

// createdWebhookJSON is the API's answer to the create of `listen --create`:
// the generated secret in full, this once.
const createdWebhookJSON = `{"id":"` + whID + `","name":"webhooks listen","url":"http://127.0.0.1:9000/","method":"POST",` +
	`"headers":{},"events":["custom","agent.failed"],"status":"active","auth_type":"hmac",` +
	`"auth_credentials":{"secret":"` + listenSecret + `"},` +
	`"retry":{"strategy":"exponential","max_attempts":3,"initial_delay_ms":1000,"max_delay_ms":60000},` +
	`"timeout_ms":30000,"version":1,"created_at":"2026-11-28T16:06:05Z","updated_at":"2026-11-28T16:06:05Z"}`

func TestListenCreate(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"POST /webhooks":           {201, createdWebhookJSON},
		"DELETE /webhooks/" + whID: {204, ""},
	})
	l := startListen(t, api.srv.URL, "--create", "--events", "custom, agent.failed")

	reqs := api.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "POST /webhooks", reqs[0].Method+" "+reqs[0].Path)
	assert.JSONEq(t, fmt.Sprintf(`{"name":"webhooks listen on 127.0.0.1:%d","url":"%s/","events":["custom","agent.failed"],"auth_type":"hmac"}`,
		l.port, l.base), reqs[0].Body, "a webhook on this listener, with a generated secret")
	assert.Equal(t, ""+
		"Created webhook "+whID+" (custom,agent.failed) delivering to "+l.base+"/; it is deleted when listen stops\n"+
		"Signing secret: "+listenSecret+"\n"+
		"Listening on "+l.base+", answering 200 (Ctrl-C to stop)\n", l.stderr.String())

	// The generated secret is the one checked.
	send(t, signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request(t, l.base+"/"))
	assert.Equal(t, []string{line("custom", dlvID, "1", "verified", "verified", "200")}, l.lines(1))

	assert.Equal(t, ExitOK, l.stop())
	reqs = api.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "DELETE /webhooks/"+whID, reqs[1].Method+" "+reqs[1].Path, "deleted on exit")
	assert.True(t, strings.HasSuffix(l.stderr.String(), "Deleted webhook "+whID+"\n"), l.stderr.String())
}

func TestListenCreateWithSecret(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"POST /webhooks":           {201, strings.Replace(createdWebhookJSON, listenSecret, "****LaSw", 1)},
		"DELETE /webhooks/" + whID: {204, ""},
	})
	l := startListen(t, api.srv.URL, "--create", "--events", "custom", "--secret", listenSecret)
	reqs := api.requests()
	require.Len(t, reqs, 1)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(reqs[0].Body), &body))
	assert.Equal(t, map[string]any{"secret": listenSecret}, body["auth_credentials"])
	assert.NotContains(t, l.stderr.String(), "Signing secret", "the caller's own secret is not echoed")
	send(t, signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request(t, l.base+"/"))
	assert.Equal(t, []string{line("custom", dlvID, "1", "verified", "verified", "200")}, l.lines(1))
	assert.Equal(t, ExitOK, l.stop())
	assert.Len(t, api.requests(), 2)
}

func TestListenCreateDeleteFails(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"POST /webhooks":           {201, createdWebhookJSON},
		"DELETE /webhooks/" + whID: {503, `{"error":{"code":"service_unavailable","message":"try again"}}`},
	})
	l := startListen(t, api.srv.URL, "--create", "--events", "custom")
	assert.Equal(t, ExitAPIError, l.stop())
	assert.True(t, strings.HasSuffix(l.stderr.String(), "error: delete webhook "+whID+" (delete it with 'webhooks delete "+whID+
		" --force'): service_unavailable: try again\n"), l.stderr.String())
}

func TestListenCreateRefused(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"POST /webhooks": {400, `{"error":{"code":"validation_failed","message":"unknown event \"nope\"","field":"events"}}`},
	})
	got := runCLI(t, api.srv.URL, runOpts{listen: true}, "listen", "--port", "0", "--create", "--events", "nope")
	assert.Equal(t, ExitAPIError, got.code)
	assert.Equal(t, `error: validation_failed: unknown event "nope" (field events)`+"\n", got.stderr)
	assert.Empty(t, got.stdout)
	assert.Len(t, api.requests(), 1, "nothing to delete")
}

// The API shows an hmac secret masked, so --webhook alone cannot check
// signatures: listen says so and asks for --secret.
func TestListenWebhook(t *testing.T) {
	hmacHook := strings.Replace(strings.Replace(createdWebhookJSON, listenSecret, "****LaSw", 1), "127.0.0.1:9000", "127.0.0.1:9", 1)
	api := newFakeAPI(t, map[string]reply{
		"GET /webhooks/" + whID:  {200, hmacHook},
		"GET /webhooks/wh_plain": {200, strings.Replace(pausedJSON, whID, "wh_plain", 1)},
	})

	got := runCLI(t, api.srv.URL, runOpts{}, "listen", "--webhook", whID)
	assert.Equal(t, ExitUsage, got.code)
	assert.Equal(t, "error: webhook "+whID+" signs with a secret the API shows only masked (****LaSw): give it with --secret "+
		"(it was shown in full once, in the answer that generated it) (see 'webhooks listen --help')\n", got.stderr)

	got = runCLI(t, api.srv.URL, runOpts{}, "listen", "--webhook", whID, "--secret", otherSecret)
	assert.Equal(t, ExitUsage, got.code)
	assert.Equal(t, "error: --secret is not the secret of webhook "+whID+": the API shows it as ****LaSw (see 'webhooks listen --help')\n", got.stderr)

	got = runCLI(t, api.srv.URL, runOpts{}, "listen", "--webhook", "wh_nope")
	assert.Equal(t, ExitAPIError, got.code)
	assert.Equal(t, "error: not_found: no such route in the fake\n", got.stderr)

	// With the right secret it listens and checks; the webhook's URL is not
	// this listener, which it points out.
	l := startListen(t, api.srv.URL, "--webhook", whID, "--secret", listenSecret)
	assert.Equal(t, "Note: webhook "+whID+" delivers to http://127.0.0.1:9/, not to this listener ("+l.base+"/)\n"+
		"Listening on "+l.base+", answering 200 (Ctrl-C to stop)\n", l.stderr.String())
	send(t, signed{auth: webhook.AuthHMAC, secret: listenSecret, id: dlvID, event: "custom", attempt: 1}.request(t, l.base+"/"))
	assert.Equal(t, []string{line("custom", dlvID, "1", "verified", "verified", "200")}, l.lines(1))
	assert.Equal(t, ExitOK, l.stop())

	// A webhook without auth has nothing to check.
	l = startListen(t, api.srv.URL, "--webhook", "wh_plain")
	assert.Contains(t, l.stderr.String(), "Webhook wh_plain has auth_type none: its deliveries carry no signature\n")
	send(t, signed{auth: webhook.AuthNone, id: dlvID, event: "custom", attempt: 1}.request(t, l.base+"/"))
	assert.Equal(t, []string{line("custom", dlvID, "1", "not signed", "not signed", "200")}, l.lines(1))
	assert.Equal(t, ExitOK, l.stop())
}

func TestListenPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	got := runCLI(t, "http://127.0.0.1:1", runOpts{listen: true}, "listen", "--port", fmt.Sprint(port))
	assert.Equal(t, ExitAPIError, got.code)
	assert.Equal(t, fmt.Sprintf("error: listen tcp 127.0.0.1:%d: bind: address already in use\n", port), got.stderr)
}

func TestListenUsageErrors(t *testing.T) {
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"--status", "99"}, "--status: want an HTTP status from 200 to 599, not 99"},
		{[]string{"--status", "600"}, "--status: want an HTTP status from 200 to 599, not 600"},
		{[]string{"--port", "70000"}, "--port: want 0 to 65535 (0 picks a free port), not 70000"},
		{[]string{"--status", "500", "--forward", "http://127.0.0.1:4242/"}, "--status and --forward: give one; with --forward the app's answer is the answer"},
		{[]string{"--forward", "ftp://127.0.0.1/"}, `--forward: want an http(s) URL like http://127.0.0.1:4242/hook, not "ftp://127.0.0.1/"`},
		{[]string{"--forward", "localhost:4242"}, `--forward: want an http(s) URL like http://127.0.0.1:4242/hook, not "localhost:4242"`},
		{[]string{"--create"}, "--create needs --events, e.g. --events custom"},
		{[]string{"--create", "--events", " , "}, "--create needs --events, e.g. --events custom"},
		{[]string{"--events", "custom"}, "--events goes with --create: the events of the webhook it creates"},
		{[]string{"--create", "--events", "custom", "--webhook", whID}, "--create and --webhook: give one; --create makes a new webhook, --webhook names one"},
		{[]string{"--webhook", " "}, "--webhook: want a webhook id"},
		{[]string{"--secret", ""}, "--secret: signing: hmac secret is empty"},
		{[]string{"--secret", "whsec_!!"}, "--secret: signing: hmac secret: whsec_... is not valid base64: illegal base64 data at input byte 0"},
		{[]string{"extra"}, `unknown command "extra" for "webhooks listen"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			api := newFakeAPI(t, nil)
			got := runCLI(t, api.srv.URL, runOpts{}, append([]string{"listen"}, tc.args...)...)
			assert.Equal(t, ExitUsage, got.code)
			assert.Equal(t, "error: "+tc.stderr+" (see 'webhooks listen --help')\n", got.stderr)
			assert.Empty(t, got.stdout)
			assert.Empty(t, api.requests(), "nothing is sent")
		})
	}
}

// The verifier agrees with the delivery function for both kinds of secret
// and refuses everything else (checked without a listener).
func TestVerifier(t *testing.T) {
	for _, secret := range []string{listenSecret, "shared-secret"} {
		v, err := newVerifier(secret)
		require.NoError(t, err)
		req := signed{auth: webhook.AuthHMAC, secret: secret, id: dlvID, event: "custom", attempt: 1}.request(t, "http://127.0.0.1:9/")
		body, err := io.ReadAll(req.Body)
		require.NoError(t, err)
		assert.Equal(t, checkVerified, v.seed(req.Header, body), secret)
		assert.Equal(t, checkVerified, v.standard(req.Header, body), secret)
		assert.Equal(t, checkFailed, v.seed(req.Header, append(body, ' ')), secret)
		assert.Equal(t, checkFailed, v.standard(req.Header, append(body, ' ')), secret)
		h := req.Header.Clone()
		h.Set(delivery.HeaderSignature, strings.ToUpper(h.Get(delivery.HeaderSignature)))
		assert.Equal(t, checkFailed, v.seed(h, body), "the hex is lower case")
	}
	_, err := newVerifier("whsec_")
	assert.Error(t, err)
	none, err := newVerifier("")
	require.NoError(t, err)
	assert.Equal(t, checkNotSigned, none.seed(http.Header{}, nil))
	assert.Equal(t, checkNotChecked, none.seed(http.Header{"X-Webhook-Signature": {"sha256=00"}}, nil))
}

func TestShown(t *testing.T) {
	assert.Equal(t, "-", shown(""))
	assert.Equal(t, "custom", shown("custom"))
	assert.Equal(t, `"a b"`, shown("a b"))
	assert.Equal(t, `"\x1b[31mred"`, shown("\x1b[31mred"))
}

// TestListenWebhookDuringOverlap: during a rotation's overlap the previous
// secret, which the mask does not show, is taken with --webhook, and the
// deliveries verify with it.
func TestListenWebhookDuringOverlap(t *testing.T) {
	hook := strings.Replace(strings.Replace(createdWebhookJSON, listenSecret, "****LaSw", 1),
		`"retry"`, `"previous_secret_expires_at":"2026-11-29T16:06:05Z","retry"`, 1)
	api := newFakeAPI(t, map[string]reply{"GET /webhooks/" + whID: {200, hook}})
	l := startListen(t, api.srv.URL, "--webhook", whID, "--secret", otherSecret)
	send(t, signed{auth: webhook.AuthHMAC, secret: listenSecret, previous: otherSecret, id: dlvID, event: "custom", attempt: 1}.request(t, l.base+"/"))
	assert.Equal(t, []string{line("custom", dlvID, "1", "verified", "verified", "200")}, l.lines(1))
	assert.Equal(t, ExitOK, l.stop())
}
