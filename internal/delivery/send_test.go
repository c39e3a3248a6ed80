package delivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/retry"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/signing"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// received is what a test receiver saw.
type received struct {
	method string
	header http.Header
	body   []byte
}

// receiver records requests and answers with handler (200 "ok" if nil).
func receiver(t *testing.T, handler http.HandlerFunc) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body)) // the handler reads it again
		mu.Lock()
		got = append(got, received{r.Method, r.Header.Clone(), body})
		mu.Unlock()
		if handler != nil {
			handler(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

var localClient = safehttp.NewClient(safehttp.Options{AllowPrivate: true})

func deliver(t *testing.T, w *webhook.Webhook, attempt int, now time.Time) Result {
	t.Helper()
	body, err := Payload{WebhookID: w.ID, Event: "agent.started", Timestamp: eventTime, Data: []byte(`{"agent_id":"a<1>"}`)}.Body()
	require.NoError(t, err)
	req, err := NewRequest(context.Background(), w, Meta{DeliveryID: "dlv_0190a0b0c0d0e0f00010203040506070", Event: "agent.started", Attempt: attempt, Time: now}, body)
	require.NoError(t, err)
	return Send(context.Background(), localClient, req, 5*time.Second, DefaultMaxBody)
}

// seedVerify is how the seed's receivers check X-Webhook-Signature.
func seedVerify(key, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

func TestReceiverVerifiesSignatures(t *testing.T) {
	tests := []struct {
		secret  string
		seedKey []byte // what a receiver keys the seed check with
		lib     func() (*standardwebhooks.Webhook, error)
	}{
		{"shared-secret", []byte("shared-secret"),
			func() (*standardwebhooks.Webhook, error) {
				return standardwebhooks.NewWebhookRaw([]byte("shared-secret"))
			}},
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", mustB64("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
			func() (*standardwebhooks.Webhook, error) {
				return standardwebhooks.NewWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.secret, func(t *testing.T) {
			lib, err := tt.lib()
			require.NoError(t, err)
			var verified atomic.Int32
			srv, got := receiver(t, func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				// A real receiver: both checks on the raw body, answer 401 on failure.
				if !seedVerify(tt.seedKey, body, r.Header.Get("X-Webhook-Signature")) {
					http.Error(w, "bad seed signature", http.StatusUnauthorized)
					return
				}
				if err := lib.Verify(body, r.Header); err != nil {
					http.Error(w, err.Error(), http.StatusUnauthorized)
					return
				}
				verified.Add(1)
				w.WriteHeader(http.StatusNoContent)
			})
			w := hook(webhook.AuthHMAC, map[string]string{"secret": tt.secret})
			w.URL = srv.URL + "/hook"
			now := time.Now() // the library enforces a 5-minute tolerance
			res := deliver(t, w, 1, now)
			require.NoError(t, res.Err)
			assert.Equal(t, http.StatusNoContent, res.StatusCode, "receiver said: %s", res.Body)
			assert.Equal(t, int32(1), verified.Load())

			r := got()[0]
			assert.Equal(t, "dlv_0190a0b0c0d0e0f00010203040506070", r.header.Get("webhook-id"))
			assert.Equal(t, fmt.Sprint(now.Unix()), r.header.Get("webhook-timestamp"))

			// A tampered body fails both checks.
			assert.False(t, seedVerify(tt.seedKey, append(r.body, ' '), r.header.Get("X-Webhook-Signature")))
			assert.Error(t, lib.Verify(append(r.body, ' '), r.header))
			// A stale attempt time fails the library's replay window.
			old := deliver(t, w, 2, now.Add(-time.Hour))
			assert.Equal(t, http.StatusUnauthorized, old.StatusCode)
		})
	}
}

func mustB64(s string) []byte {
	k, err := signing.Key("whsec_" + s)
	if err != nil {
		panic(err)
	}
	return k
}

func TestSendDeliversEveryAuthType(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 30, 0, time.UTC)
	tests := []struct {
		name  string
		auth  webhook.AuthType
		creds map[string]string
		want  map[string]string // header → exact value; "" = absent
	}{
		{"none", webhook.AuthNone, nil, map[string]string{
			"Authorization": "", "X-Webhook-Signature": "", "Webhook-Signature": "", "Webhook-Id": "", "Webhook-Timestamp": ""}},
		{"basic", webhook.AuthBasic, map[string]string{"username": "user", "password": "pass"}, map[string]string{
			"Authorization": "Basic dXNlcjpwYXNz", "X-Webhook-Signature": ""}},
		{"bearer", webhook.AuthBearer, map[string]string{"token": "secret123"}, map[string]string{
			"Authorization": "Bearer secret123", "Webhook-Signature": ""}},
		{"api-key", webhook.AuthAPIKey, map[string]string{"api_key": "key"}, map[string]string{
			"X-Api-Key": "key", "Authorization": ""}},
		{"api-key named", webhook.AuthAPIKey, map[string]string{"api_key": "key", "header_name": "X-Token"}, map[string]string{
			"X-Token": "key", "X-Api-Key": ""}},
		{"hmac", webhook.AuthHMAC, map[string]string{"secret": "s"}, map[string]string{
			"Authorization": "", "Webhook-Id": "dlv_0190a0b0c0d0e0f00010203040506070", "Webhook-Timestamp": "1704110430"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := receiver(t, nil)
			w := hook(tt.auth, tt.creds)
			w.URL = srv.URL + "/in?x=1"
			w.Method = "PUT"
			res := deliver(t, w, 3, now)
			require.NoError(t, res.Err)
			assert.Equal(t, 200, res.StatusCode)
			assert.Equal(t, "ok", string(res.Body))
			assert.False(t, res.Truncated)
			assert.Positive(t, res.Duration)

			reqs := got()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, "PUT", r.method)
			assert.Equal(t, `{"webhook_id":"wh_0190a0b0c0d0e0f00010203040506070","event":"agent.started","timestamp":"2024-01-01T12:00:00.000Z","data":{"agent_id":"a<1>"},"metadata":{}}`, string(r.body))
			for k, v := range map[string]string{
				"Content-Type":        "application/json",
				"User-Agent":          "SystemPrompt-Webhook/1.0",
				"X-Webhook-Event":     "agent.started",
				"X-Webhook-Id":        "wh_0190a0b0c0d0e0f00010203040506070",
				"X-Webhook-Timestamp": "2024-01-01T12:00:30.000Z",
				"X-Webhook-Delivery":  "dlv_0190a0b0c0d0e0f00010203040506070",
				"X-Webhook-Attempt":   "3",
				"X-Custom":            "value",
				"X-Tenant":            "t1",
			} {
				assert.Equal(t, []string{v}, r.header.Values(k), k)
			}
			for k, v := range tt.want {
				if v == "" {
					assert.Empty(t, r.header.Values(k), k)
				} else {
					assert.Equal(t, []string{v}, r.header.Values(k), k)
				}
			}
			if tt.auth == webhook.AuthHMAC {
				assert.True(t, seedVerify([]byte("s"), r.body, r.header.Get("X-Webhook-Signature")))
				assert.Equal(t, signing.StandardWebhooks([]byte("s"), "dlv_0190a0b0c0d0e0f00010203040506070", now, r.body), r.header.Get("Webhook-Signature"))
			}
		})
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{}`))
	require.NoError(t, err)
	res := Send(context.Background(), localClient, req, 50*time.Millisecond, 0)
	require.Error(t, res.Err)
	assert.Equal(t, "timeout after 50ms", res.Err.Error())
	assert.ErrorIs(t, res.Err, context.DeadlineExceeded)
	assert.Zero(t, res.StatusCode)
	assert.Equal(t, retry.Retryable, retry.Classify(res.StatusCode, res.Err))
}

func TestSendTimeoutWhileReadingBody(t *testing.T) {
	release := make(chan struct{})
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
	require.NoError(t, err)
	res := Send(context.Background(), localClient, req, 100*time.Millisecond, 0)
	assert.Equal(t, http.StatusAccepted, res.StatusCode)
	assert.Equal(t, "partial", string(res.Body))
	require.Error(t, res.Err)
	assert.Equal(t, "reading response: timeout after 100ms", res.Err.Error())
	assert.Equal(t, retry.Success, retry.Classify(res.StatusCode, res.Err), "the status decides")
}

func TestSendParentContextCancelled(t *testing.T) {
	srv, _ := receiver(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
	require.NoError(t, err)
	res := Send(ctx, localClient, req, time.Second, 0)
	require.Error(t, res.Err)
	assert.True(t, strings.HasPrefix(res.Err.Error(), "aborted after "), res.Err.Error())
	assert.ErrorIs(t, res.Err, context.Canceled)
}

func TestSendTruncatesHugeBody(t *testing.T) {
	const size = 4 << 20
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for i := 0; i < size/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				return // we hung up, as we should
			}
		}
	})
	req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
	require.NoError(t, err)
	res := Send(context.Background(), localClient, req, 5*time.Second, 16<<10)
	require.NoError(t, res.Err)
	assert.Equal(t, 500, res.StatusCode)
	assert.Len(t, res.Body, 16<<10)
	assert.True(t, res.Truncated)
}

func TestSendBodyLimits(t *testing.T) {
	for _, tt := range []struct {
		size      int
		max       int64
		truncated bool
	}{{0, 10, false}, {9, 10, false}, {10, 10, false}, {11, 10, true}, {100, 10, true}} {
		t.Run(fmt.Sprintf("%d/%d", tt.size, tt.max), func(t *testing.T) {
			srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(bytes.Repeat([]byte("y"), tt.size))
			})
			req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
			require.NoError(t, err)
			res := Send(context.Background(), localClient, req, 5*time.Second, tt.max)
			require.NoError(t, res.Err)
			assert.Equal(t, min(int64(tt.size), tt.max), int64(len(res.Body)))
			assert.Equal(t, tt.truncated, res.Truncated)
		})
	}
}

func TestSendReusesConnectionAfterTruncation(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("z"), 2000)) // more than kept, less than drained
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	client := safehttp.NewClient(safehttp.Options{AllowPrivate: true})
	for range 5 {
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{}`))
		require.NoError(t, err)
		res := Send(context.Background(), client, req, 5*time.Second, 100)
		require.NoError(t, res.Err)
		assert.True(t, res.Truncated)
	}
	assert.Equal(t, int32(1), conns.Load(), "the drained connection was kept alive")
}

func TestSendBlocked(t *testing.T) {
	srv, got := receiver(t, nil)
	client := safehttp.NewClient(safehttp.Options{})
	w := hook(webhook.AuthNone, nil)
	w.URL = srv.URL
	req, err := NewRequest(context.Background(), w, Meta{DeliveryID: "dlv_1", Event: "custom", Attempt: 1, Time: eventTime}, []byte(`{}`))
	require.NoError(t, err)
	res := Send(context.Background(), client, req, time.Second, 0)
	require.Error(t, res.Err)
	assert.Equal(t, "blocked: address 127.0.0.1 is loopback", res.Err.Error())
	var be *safehttp.BlockedError
	assert.ErrorAs(t, res.Err, &be)
	assert.Equal(t, retry.Permanent, retry.Classify(res.StatusCode, res.Err))
	assert.Empty(t, got())
}

func TestSendDoesNotFollowRedirect(t *testing.T) {
	srv, got := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
	require.NoError(t, err)
	res := Send(context.Background(), localClient, req, time.Second, 0)
	require.NoError(t, res.Err)
	assert.Equal(t, http.StatusFound, res.StatusCode)
	assert.Equal(t, "http://169.254.169.254/latest/meta-data/", res.Header.Get("Location"))
	assert.Len(t, got(), 1)
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", nil)
	require.NoError(t, err)
	res := Send(context.Background(), localClient, req, time.Second, 0)
	require.Error(t, res.Err)
	assert.Equal(t, "connection refused ("+addr+")", res.Err.Error())
	assert.Equal(t, retry.Retryable, retry.Classify(res.StatusCode, res.Err))
}

func TestSendTLSErrors(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain, _ := receiver(t, nil)

	req, err := http.NewRequest(http.MethodPost, tlsSrv.URL, nil)
	require.NoError(t, err)
	res := Send(context.Background(), localClient, req, 5*time.Second, 0)
	require.Error(t, res.Err)
	assert.True(t, strings.HasPrefix(res.Err.Error(), "tls: certificate not trusted: x509: "), res.Err.Error())

	req, err = http.NewRequest(http.MethodPost, strings.Replace(plain.URL, "http://", "https://", 1), nil)
	require.NoError(t, err)
	res = Send(context.Background(), localClient, req, 5*time.Second, 0)
	require.Error(t, res.Err)
	assert.Equal(t, "http: server gave HTTP response to HTTPS client", res.Err.Error())
}

func TestSendEndpointHangsUp(t *testing.T) {
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
	require.NoError(t, err)
	res := Send(context.Background(), localClient, req, 5*time.Second, 0)
	require.Error(t, res.Err)
	assert.Equal(t, "connection closed by the endpoint before a complete response", res.Err.Error())
}

func TestSendNeverPanics(t *testing.T) {
	res := Send(context.Background(), nil, nil, time.Second, 0)
	assert.Error(t, res.Err)
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", nil)
	require.NoError(t, err)
	res = Send(context.Background(), &http.Client{Transport: panicky{}}, req, time.Second, 0)
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "boom")
}

type panicky struct{}

func (panicky) RoundTrip(*http.Request) (*http.Response, error) { panic("boom") }

func TestMessage(t *testing.T) {
	bg := context.Background()
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(203, 0, 113, 5), Port: 443}, Err: err}
	}
	tests := []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}, "dns: no such host nope.invalid"},
		{&net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}, "dns: lookup of slow.example timed out"},
		{&net.DNSError{Err: "server misbehaving", Name: "x.example"}, "dns: lookup of x.example failed: server misbehaving"},
		{op(syscall.ECONNRESET), "connection reset by the endpoint"},
		{op(syscall.EHOSTUNREACH), "host unreachable (203.0.113.5:443)"},
		{op(syscall.ENETUNREACH), "host unreachable (203.0.113.5:443)"},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, "tls: certificate not trusted: x509: certificate signed by unknown authority"},
		{tls.AlertError(40), "tls: handshake refused by the endpoint: tls: handshake failure"},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "tls: the endpoint did not answer with TLS (plain HTTP on an https URL?)"},
		{io.ErrUnexpectedEOF, "connection closed by the endpoint before a complete response"},
		{op(timeoutErr{}), "connect timeout after 1.5s (203.0.113.5:443)"},
		{errors.New("net/http: something odd"), "net/http: something odd"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			wrapped := &url.Error{Op: "Post", URL: "https://x.example/?token=secret", Err: tt.err}
			assert.Equal(t, tt.want, message(wrapped, bg, bg, 0, 1500*time.Millisecond))
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestExcerpt(t *testing.T) {
	tests := []struct {
		body string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"hello", 0, ""},
		{"héllo", 2, "h"}, // never splits é
		{"héllo", 3, "hé"},
		{"a\xffb", 10, "a\uFFFDb"}, // invalid UTF-8 replaced
		{"", 5, ""},
	}
	for _, tt := range tests {
		got := Result{Body: []byte(tt.body)}.Excerpt(tt.n)
		assert.Equal(t, tt.want, got, "%q/%d", tt.body, tt.n)
		assert.LessOrEqual(t, len(got), max(tt.n, 0))
	}
	assert.Equal(t, "", Result{Body: []byte("abc")}.Excerpt(-1))
}

// BenchmarkSend compares a delivery (NewRequest + Send through the guarded
// client) with a bare http.Client POST of the same body to the same receiver.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	body, err := Payload{WebhookID: "wh_0190a0b0c0d0e0f00010203040506070", Event: "agent.started", Timestamp: eventTime,
		Data: []byte(`{"agent_id":"agent_123","agent_name":"Data Processor"}`)}.Body()
	require.NoError(b, err)
	ctx := context.Background()

	b.Run("bare", func(b *testing.B) {
		client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	for _, auth := range []struct {
		name  string
		typ   webhook.AuthType
		creds map[string]string
	}{
		{"none", webhook.AuthNone, nil},
		{"hmac", webhook.AuthHMAC, map[string]string{"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
	} {
		b.Run("send-"+auth.name, func(b *testing.B) {
			client := safehttp.NewClient(safehttp.Options{AllowPrivate: true})
			w := hook(auth.typ, auth.creds)
			w.URL = srv.URL
			m := Meta{DeliveryID: "dlv_0190a0b0c0d0e0f00010203040506070", Event: "agent.started", Attempt: 1, Time: eventTime}
			b.ReportAllocs()
			for b.Loop() {
				req, err := NewRequest(ctx, w, m, body)
				if err != nil {
					b.Fatal(err)
				}
				if res := Send(ctx, client, req, 30*time.Second, DefaultMaxBody); res.Err != nil || res.StatusCode != 200 {
					b.Fatal(res.StatusCode, res.Err)
				}
			}
		})
	}
}
