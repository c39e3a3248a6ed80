package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sigV4Server is an API that verifies SigV4 with fixed credentials, as API
// Gateway's IAM auth would: it signs what it received again with testCreds
// and answers 403 unless the signatures agree. It runs in the process (a
// RoundTripper), so the CLI can aim at a deployed-looking endpoint.
type sigV4Server struct {
	region string
	mu     sync.Mutex
	seen   []string // "METHOD path?query body" of each verified request
}

func (s *sigV4Server) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	rec := httptest.NewRecorder()
	auth := r.Header.Get("Authorization")
	again, _ := http.NewRequest(r.Method, r.URL.String(), bytes.NewReader(body))
	for k, vs := range r.Header {
		if k != "Authorization" && k != "X-Amz-Date" && k != "X-Amz-Security-Token" {
			again.Header[k] = vs
		}
	}
	again.ContentLength = r.ContentLength
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	sum := sha256.Sum256(body)
	if err == nil {
		err = v4.NewSigner().SignHTTP(context.Background(), testCreds, again, hex.EncodeToString(sum[:]), "execute-api", s.region, signedAt)
	}
	switch {
	case auth == "" || err != nil:
		rec.WriteHeader(http.StatusForbidden)
		fmt.Fprint(rec, `{"message":"Missing Authentication Token"}`)
	case again.Header.Get("Authorization") != auth || r.Header.Get("X-Amz-Security-Token") != testCreds.SessionToken:
		rec.WriteHeader(http.StatusForbidden)
		fmt.Fprint(rec, `{"message":"The request signature we calculated does not match the signature you provided."}`)
	default:
		s.mu.Lock()
		s.seen = append(s.seen, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
		s.mu.Unlock()
		rec.Header().Set("Content-Type", "application/json")
		rec.Header().Set("ETag", `"3"`)
		rec.Header().Set("Set-Cookie", "upstream=1") // not passed on
		rec.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(rec, `{"path":%q,"if_match":%q,"idempotency_key":%q}`, r.URL.Path, r.Header.Get("If-Match"), r.Header.Get("Idempotency-Key"))
	}
	res := rec.Result()
	res.Request = r
	return res, nil
}

func (s *sigV4Server) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

type consoleRun struct {
	base    string
	addr    string // what the console asked to listen on
	stderr  *syncBuffer
	stopped func() int
}

// startConsole runs `webhooks console args...` and returns once it serves.
// listenOn is where it really listens (a test never binds beyond loopback).
func startConsole(t *testing.T, endpoint string, client *http.Client, awsCfg func(context.Context, string) (aws.Config, error), args ...string) *consoleRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &consoleRun{stderr: &syncBuffer{}}
	addrs := make(chan net.Addr, 1)
	done := make(chan int, 1)
	env := Env{
		Stdin: strings.NewReader(""), Stdout: &syncBuffer{}, Stderr: r.stderr,
		IsTerminal: func() bool { return false },
		Now:        func() time.Time { return now },
		Getenv: func(k string) string {
			if k == "WEBHOOKS_ENDPOINT" {
				return endpoint
			}
			return ""
		},
		HTTPClient:    client,
		LoadAWSConfig: awsCfg,
		Listen: func(network, address string) (net.Listener, error) {
			r.addr = address
			ln, err := net.Listen(network, "127.0.0.1:0")
			if err == nil {
				addrs <- ln.Addr()
			}
			return ln, err
		},
	}
	go func() { done <- Main(ctx, append([]string{"console"}, args...), env) }()
	select {
	case a := <-addrs:
		r.base = "http://" + a.String()
	case code := <-done:
		cancel()
		t.Fatalf("console exited with %d before serving: %s", code, r.stderr.String())
	}
	var once sync.Once
	code := 0
	r.stopped = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { r.stopped() })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.stderr.String(), "Console on ") {
		require.True(t, time.Now().Before(deadline), "no banner: %s", r.stderr.String())
		time.Sleep(5 * time.Millisecond)
	}
	return r
}

func (r *consoleRun) do(t *testing.T, method, path, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.base+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func TestConsoleProxySigns(t *testing.T) {
	api := &sigV4Server{region: "eu-west-1"}
	var asked string
	c := startConsole(t, "https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod", &http.Client{Transport: api},
		awsConfig("us-east-1", &asked), "--port", "0")
	assert.Equal(t, "127.0.0.1:0", c.addr, "loopback unless --listen says otherwise")
	assert.Contains(t, c.stderr.String(), "API calls passed on to https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod, signed with SigV4 for eu-west-1")

	// The console's own files, not passed on.
	res, body := c.do(t, "GET", "/console/", "", nil)
	require.Equal(t, 200, res.StatusCode)
	assert.Contains(t, body, `<script type="module" src="js/app.js">`)
	assert.NotEmpty(t, res.Header.Get("Content-Security-Policy"))
	res, _ = c.do(t, "GET", "/console/js/app.js", "", nil)
	assert.Equal(t, 200, res.StatusCode)
	res, _ = c.do(t, "GET", "/", "", nil) // redirected to the console
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "/console/", res.Request.URL.Path)

	// API calls: signed (the server verified them), query, body and the
	// API's headers passed both ways, nothing else.
	res, body = c.do(t, "GET", "/webhooks/wh_1/stats?window=24h", "", map[string]string{"Cookie": "session=x"})
	require.Equal(t, 202, res.StatusCode, body)
	assert.JSONEq(t, `{"path":"/prod/webhooks/wh_1/stats","if_match":"","idempotency_key":""}`, body)
	assert.Equal(t, `"3"`, res.Header.Get("ETag"))
	assert.Empty(t, res.Header.Get("Set-Cookie"))
	res, body = c.do(t, "POST", "/events", `{"event":"custom","data":{"n":1}}`,
		map[string]string{"Content-Type": "application/json", "Idempotency-Key": "k1", "Origin": c.base, "Sec-Fetch-Site": "same-origin"})
	require.Equal(t, 202, res.StatusCode, body)
	assert.JSONEq(t, `{"path":"/prod/events","if_match":"","idempotency_key":"k1"}`, body)
	res, body = c.do(t, "PATCH", "/webhooks/wh_1", `{"name":"x"}`, map[string]string{"Content-Type": "application/json", "If-Match": `"2"`})
	require.Equal(t, 202, res.StatusCode, body)
	assert.Contains(t, body, `"if_match":"\"2\""`)
	res, body = c.do(t, "DELETE", "/webhooks/wh_1", "", nil)
	require.Equal(t, 202, res.StatusCode, body)
	assert.Equal(t, []string{
		"GET /prod/webhooks/wh_1/stats?window=24h",
		`POST /prod/events {"event":"custom","data":{"n":1}}`,
		`PATCH /prod/webhooks/wh_1 {"name":"x"}`,
		"DELETE /prod/webhooks/wh_1",
	}, api.requests())

	// Refused, and nothing passed on: other sites' pages, other host names
	// (DNS rebinding), paths that are not the API's.
	for _, tc := range []struct {
		name   string
		method string
		path   string
		header map[string]string
		status int
	}{
		{"cross-site fetch", "POST", "/events", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"another origin", "DELETE", "/webhooks/wh_1", map[string]string{"Origin": "https://evil.example"}, 403},
		{"another host name", "GET", "/webhooks", map[string]string{"Host": "evil.example:" + portOfURL(c.base)}, 403},
		{"another port", "GET", "/webhooks", map[string]string{"Host": "127.0.0.1:1"}, 403},
		{"not the API", "GET", "/debug/pprof/", nil, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := c.do(t, tc.method, tc.path, "", tc.header)
			assert.Equal(t, tc.status, res.StatusCode, body)
			assert.Contains(t, body, `"error":{"code":`)
		})
	}
	assert.Len(t, api.requests(), 4)
	assert.Equal(t, ExitOK, c.stopped())
}

func portOfURL(u string) string {
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	return p
}

func TestConsoleProxyUnsignedToLoopback(t *testing.T) {
	var got http.Header
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"items":[]}`)
	}))
	defer local.Close()
	c := startConsole(t, local.URL, local.Client(), nil, "--port", "0")
	assert.Contains(t, c.stderr.String(), "unsigned (a loopback endpoint)")
	res, body := c.do(t, "GET", "/webhooks", "", nil)
	require.Equal(t, 200, res.StatusCode)
	assert.JSONEq(t, `{"items":[]}`, body)
	assert.Empty(t, got.Get("Authorization"))
}

func TestConsoleListenAddress(t *testing.T) {
	local := httptest.NewServer(http.NotFoundHandler())
	defer local.Close()
	c := startConsole(t, local.URL, local.Client(), nil, "--listen", "0.0.0.0:3002")
	assert.Equal(t, "0.0.0.0:3002", c.addr, "an explicit --listen is taken")
	assert.Contains(t, c.stderr.String(), "Warning: listening on")
	assert.Contains(t, c.stderr.String(), "not loopback")
	// Off loopback the names it is reached by are not known: any Host.
	res, _ := c.do(t, "GET", "/console/", "", map[string]string{"Host": "console.internal:3002"})
	assert.Equal(t, 200, res.StatusCode)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", "3002", "--listen", "127.0.0.1:3002"}, "give --port or --listen, not both"},
		{[]string{"--listen", "3002"}, `invalid --listen "3002"`},
		{[]string{"--port", "70000"}, "invalid --port 70000"},
	} {
		got := runCLI(t, local.URL, runOpts{}, append([]string{"console"}, tc.args...)...)
		assert.Equal(t, ExitUsage, got.code, tc.args)
		assert.Contains(t, got.stderr, tc.want)
	}
}

// The verifying server refuses what the fixed credentials did not sign.
func TestSigV4ServerRefusesOtherSignatures(t *testing.T) {
	api := &sigV4Server{region: "eu-west-1"}
	for name, sign := range map[string]func(*http.Request){
		"unsigned": func(*http.Request) {},
		"other credentials": func(r *http.Request) {
			other := testCreds
			other.SecretAccessKey = "not-the-secret"
			sum := sha256.Sum256(nil)
			require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), other, r, hex.EncodeToString(sum[:]), "execute-api", "eu-west-1", now))
		},
		"other region": func(r *http.Request) {
			sum := sha256.Sum256(nil)
			require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), testCreds, r, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", now))
		},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks", http.NoBody)
			sign(req)
			res, err := api.RoundTrip(req)
			require.NoError(t, err)
			assert.Equal(t, http.StatusForbidden, res.StatusCode)
		})
	}
	assert.Empty(t, api.requests())
}
