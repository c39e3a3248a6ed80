package main

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

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/config"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
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

type server struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	stop   func() error
}

// startServer runs the local server on a free port with unique tables (the
// emulators of one test binary share their state), in memory: the test
// binary's emulator keeps nothing (persist_test.go restarts a process).
func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()
	s := uuid.NewString()[:8]
	vars := map[string]string{"PORT": "0", "TABLE_WEBHOOKS": "wh-" + s, "TABLE_DELIVERIES": "dl-" + s, "WEBHOOKS_DATA_DIR": "memory"}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return vars[k] }, srv.stdout, srv.stderr, func(u string) { urls <- u })
	}()
	select {
	case srv.url = <-urls:
	case err := <-done:
		cancel()
		t.Fatalf("server stopped before serving: %v\n%s", err, srv.stderr.String())
	}
	var once sync.Once
	var stopErr error
	srv.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { _ = srv.stop() })
	return srv
}

func (s *server) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	}
	return resp.StatusCode, out
}

func TestLocalServerLifecycle(t *testing.T) {
	srv := startServer(t, nil)

	code, body := srv.call(t, "GET", "/healthz", "")
	require.Equal(t, 200, code)
	assert.Equal(t, "ok", body["status"])

	// Private targets are allowed by default: a receiver on localhost works.
	code, body = srv.call(t, "POST", "/webhooks",
		`{"name":"local","url":"http://127.0.0.1:9000/hook","events":["custom","agent.started"],"auth_type":"hmac"}`)
	require.Equal(t, 201, code, body)
	id := body["id"].(string)
	secret := body["auth_credentials"].(map[string]any)["secret"].(string)
	assert.True(t, strings.HasPrefix(secret, "whsec_"), secret)

	code, body = srv.call(t, "GET", "/webhooks?event=custom", "")
	require.Equal(t, 200, code)
	items := body["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, id, items[0].(map[string]any)["id"])

	code, body = srv.call(t, "GET", "/webhooks/"+id, "")
	require.Equal(t, 200, code)
	assert.Equal(t, "local", body["name"])
	assert.NotEqual(t, secret, body["auth_credentials"].(map[string]any)["secret"], "masked after creation")

	code, body = srv.call(t, "POST", "/webhooks/"+id+"/pause", "")
	require.Equal(t, 200, code)
	assert.Equal(t, "inactive", body["status"])
	code, body = srv.call(t, "POST", "/webhooks/"+id+"/resume", "")
	require.Equal(t, 200, code)
	assert.Equal(t, "active", body["status"])
	assert.EqualValues(t, 3, body["version"])

	code, _ = srv.call(t, "DELETE", "/webhooks/"+id, "")
	require.Equal(t, 204, code)
	code, body = srv.call(t, "GET", "/webhooks/"+id, "")
	assert.Equal(t, 404, code)
	assert.Equal(t, "not_found", body["error"].(map[string]any)["code"])

	// It told what it started, and logs JSON.
	out := srv.stdout.String()
	assert.Contains(t, out, srv.url)
	assert.Contains(t, out, "data             in memory (WEBHOOKS_DATA_DIR=memory)")
	assert.Contains(t, out, "curl -s -X POST "+srv.url+"/webhooks")
	for _, line := range strings.Split(strings.TrimSpace(srv.stderr.String()), "\n") {
		assert.True(t, json.Valid([]byte(line)), "log line is JSON: %s", line)
	}

	// Graceful stop: run returns nil and the port is closed.
	require.NoError(t, srv.stop())
	_, err := net.Dial("tcp", strings.TrimPrefix(srv.url, "http://"))
	assert.Error(t, err, "nothing listens after shutdown")
}

func TestLocalServerPrivateTargetsCanBeRefused(t *testing.T) {
	srv := startServer(t, map[string]string{"ALLOW_PRIVATE_TARGETS": "false"})
	code, body := srv.call(t, "POST", "/webhooks", `{"name":"local","url":"http://127.0.0.1:9000/hook","events":["custom"]}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, "url", body["error"].(map[string]any)["field"])
	assert.Contains(t, srv.stdout.String(), "refused")
}

func TestLocalServerBadConfig(t *testing.T) {
	for _, env := range []map[string]string{
		{"PORT": "http"},
		{"PORT": "70000"},
		{"PORT": "-1"},
		{"DEFAULT_TIMEOUT_MS": "5"},
		{"ALLOW_PRIVATE_TARGETS": "maybe"},
		{"EMULATOR_PORT": "sqs"},
		{"WEBHOOKS_POLLERS": "0"},
		{"WEBHOOKS_POLLERS": "many"},
		{"PORT": "0", "WEBHOOKS_DATA_DIR": "memory", "EMULATOR_HOST": "192.0.2.1"}, // not an address of this machine
		{"PORT": "0", "WEBHOOKS_DATA_DIR": t.TempDir()},                            // the test binary's emulator keeps nothing
	} {
		err := run(context.Background(), func(k string) string { return env[k] }, io.Discard, io.Discard, nil)
		assert.Error(t, err, "%v", env)
	}
}

func TestLocalServerPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = run(context.Background(), func(k string) string {
		if k == "PORT" {
			return strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
		}
		return ""
	}, io.Discard, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "listen")
}

func TestStartingHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	startingHandler(rec, httptest.NewRequest("GET", "/healthz", nil))
	assert.Equal(t, 503, rec.Code)
	assert.JSONEq(t, `{"status":"starting"}`, rec.Body.String())

	rec = httptest.NewRecorder()
	startingHandler(rec, httptest.NewRequest("POST", "/webhooks", strings.NewReader(`{}`)))
	assert.Equal(t, 503, rec.Code)
	assert.Contains(t, rec.Body.String(), `"code":"service_unavailable"`)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
}

func TestLocalEnvDefaults(t *testing.T) {
	env := localEnv(func(k string) string { return map[string]string{"X": "y"}[k] })
	assert.Equal(t, "true", env("ALLOW_PRIVATE_TARGETS"))
	assert.Equal(t, "y", env("X"))
	env = localEnv(func(k string) string { return "false" })
	assert.Equal(t, "false", env("ALLOW_PRIVATE_TARGETS"))
}

func TestStopWhileStarting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if Ctrl-C came before the stack was up
	err := run(ctx, func(k string) string { return map[string]string{"PORT": "0", "WEBHOOKS_DATA_DIR": "memory"}[k] }, io.Discard, io.Discard, nil)
	assert.NoError(t, err, "stopping on purpose is not an error")
}

// fakeStop records the order in which shutdown stops things.
type fakeStop struct {
	name  string
	order *[]string
	err   error
}

func (f fakeStop) Stop() { *f.order = append(*f.order, f.name) }

func (f fakeStop) Shutdown(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New(f.name + ": no deadline")
	}
	*f.order = append(*f.order, f.name)
	return f.err
}

// The pollers stop first (no new batch while the API drains, the batches in
// flight finish), then the API server drains, then the stack saves and
// stops; a failure is reported and does not skip what follows.
func TestShutdownOrder(t *testing.T) {
	var order []string
	err := shutdown(context.Background(), fakeStop{"pollers", &order, nil},
		fakeStop{"api", &order, errors.New("drain")}, fakeStop{"stack", &order, errors.New("save")})
	assert.Equal(t, []string{"pollers", "api", "stack"}, order)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "drain")
	assert.Contains(t, err.Error(), "save")

	order = nil
	require.NoError(t, shutdown(context.Background(), nil, nil, fakeStop{"stack", &order, nil}), "parts not started are skipped")
	assert.Equal(t, []string{"stack"}, order)
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		args []string
		want mode
		err  string
	}{
		{args: nil, want: mode{}},
		{args: []string{"-emulator"}, want: mode{emulator: true}},
		{args: []string{"-emulator", "-env-vars", "e.json", "-invoke", "http://127.0.0.1:3002"},
			want: mode{emulator: true, envVars: "e.json", invoke: "http://127.0.0.1:3002"}},
		{args: []string{"-env-vars", "e.json"}, err: "go with -emulator"},
		{args: []string{"-emulator", "extra"}, err: `unexpected argument "extra"`},
		{args: []string{"-bogus"}, err: "not defined"},
	}
	for _, tt := range tests {
		got, err := parseMode(tt.args, io.Discard)
		if tt.err != "" {
			require.Error(t, err, "%v", tt.args)
			assert.Contains(t, err.Error(), tt.err)
			continue
		}
		require.NoError(t, err, "%v", tt.args)
		assert.Equal(t, tt.want, got)
	}
}

func TestStackOptions(t *testing.T) {
	cfg, err := config.Parse(func(string) string { return "" })
	require.NoError(t, err)
	tests := []struct {
		env         map[string]string
		defaultPort int
		listen      string
	}{
		{env: nil, defaultPort: 0, listen: ""}, // make run: a free port
		{env: nil, defaultPort: DefaultEmulatorPort, listen: "127.0.0.1:4566"},
		{env: map[string]string{"EMULATOR_PORT": "4577"}, listen: "127.0.0.1:4577"},
		{env: map[string]string{"EMULATOR_HOST": "172.17.0.1"}, defaultPort: DefaultEmulatorPort, listen: "172.17.0.1:4566"},
	}
	for _, tt := range tests {
		o, err := stackOptions(func(k string) string { return tt.env[k] }, cfg, nil, tt.defaultPort)
		require.NoError(t, err)
		assert.Equal(t, tt.listen, o.Listen, "%v", tt.env)
		assert.Equal(t, cfg.WebhooksTable, o.Tables.Webhooks)
	}
}
