package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/safehttp"
)

const (
	testID     = "client-1"
	testSecret = "s3cr3t/with:special&chars"
)

// clock is a settable clock for the provider.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenServer is a client-credentials token endpoint. It issues tok-1,
// tok-2, ... and records what each request carried.
type tokenServer struct {
	*httptest.Server
	requests  atomic.Int64
	expiresIn any           // the expires_in member; nil leaves it out
	gate      chan struct{} // if set, requests wait for it to close
	arrived   chan struct{} // a request reached the handler
	refuse    func(w http.ResponseWriter) bool

	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	basicUser, basicPass string
	hasBasic             bool
	form                 url.Values
}

func newTokenServer(t *testing.T) *tokenServer {
	s := &tokenServer{expiresIn: 3600, arrived: make(chan struct{}, 1000)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.arrived <- struct{}{}
		if s.gate != nil {
			<-s.gate
		}
		n := s.requests.Add(1)
		assert.NoError(t, r.ParseForm())
		user, pass, ok := r.BasicAuth()
		s.mu.Lock()
		s.seen = append(s.seen, seenRequest{basicUser: user, basicPass: pass, hasBasic: ok, form: r.PostForm})
		s.mu.Unlock()
		if r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		if s.refuse != nil && s.refuse(w) {
			return
		}
		answer := map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer"}
		if s.expiresIn != nil {
			answer["expires_in"] = s.expiresIn
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *tokenServer) last() seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[len(s.seen)-1]
}

func (s *tokenServer) creds() Credentials {
	return Credentials{TokenURL: s.URL + "/token", ClientID: testID, ClientSecret: testSecret, AuthStyle: StyleBasic}
}

func newProvider(t *testing.T, clk *clock) *Provider {
	p, err := NewProvider(Options{Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}), Now: clk.Now})
	require.NoError(t, err)
	return p
}

func start() *clock { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestConcurrentCallersShareOneRequest(t *testing.T) {
	srv := newTokenServer(t)
	srv.gate = make(chan struct{})
	p := newProvider(t, start())

	var wg sync.WaitGroup
	tokens := make([]string, 100)
	errs := make([]error, 100)
	for i := range tokens {
		wg.Go(func() { tokens[i], errs[i] = p.Token(t.Context(), "wh_1", srv.creds()) })
	}
	<-srv.arrived   // one request is in flight; callers queue behind it
	close(srv.gate) // and it answers now
	wg.Wait()
	for i := range tokens {
		require.NoError(t, errs[i])
		assert.Equal(t, "tok-1", tokens[i])
	}
	assert.EqualValues(t, 1, srv.requests.Load())
}

func TestExpiryCausesExactlyOneMoreRequest(t *testing.T) {
	srv := newTokenServer(t)
	clk := start()
	p := newProvider(t, clk)

	tok, err := p.Token(t.Context(), "wh_1", srv.creds())
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok)

	// expires_in 3600: kept until 30 s (MaxMargin) before it runs out.
	clk.Advance(3600*time.Second - MaxMargin - time.Nanosecond)
	tok, err = p.Token(t.Context(), "wh_1", srv.creds())
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok)
	assert.EqualValues(t, 1, srv.requests.Load())

	clk.Advance(time.Nanosecond)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			tok, err := p.Token(t.Context(), "wh_1", srv.creds())
			assert.NoError(t, err)
			assert.Equal(t, "tok-2", tok)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 2, srv.requests.Load())
}

func TestLifetimes(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn any
		keep      time.Duration // the token is reused until just before this
	}{
		{"long token: 30 s margin", 3600, 3570 * time.Second},
		{"short token: a tenth", 60, 54 * time.Second},
		{"expires_in as a string", "120", 108 * time.Second},
		{"no expires_in", nil, NoExpiryLifetime - MaxMargin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTokenServer(t)
			srv.expiresIn = tt.expiresIn
			clk := start()
			p := newProvider(t, clk)
			_, err := p.Token(t.Context(), "wh_1", srv.creds())
			require.NoError(t, err)
			clk.Advance(tt.keep - time.Nanosecond)
			_, err = p.Token(t.Context(), "wh_1", srv.creds())
			require.NoError(t, err)
			assert.EqualValues(t, 1, srv.requests.Load())
			clk.Advance(time.Nanosecond)
			_, err = p.Token(t.Context(), "wh_1", srv.creds())
			require.NoError(t, err)
			assert.EqualValues(t, 2, srv.requests.Load())
		})
	}
}

func TestExpiredOnArrivalIsNotCached(t *testing.T) {
	srv := newTokenServer(t)
	srv.expiresIn = -5
	p := newProvider(t, start())
	for i := range 3 {
		tok, err := p.Token(t.Context(), "wh_1", srv.creds())
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("tok-%d", i+1), tok)
	}
}

func TestInvalidateCausesOneRefresh(t *testing.T) {
	srv := newTokenServer(t)
	p := newProvider(t, start())
	c := srv.creds()

	stale, err := p.Token(t.Context(), "wh_1", c)
	require.NoError(t, err)

	// Twenty deliveries got a 401 with the same token at once.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			p.Invalidate("wh_1", c, stale)
			tok, err := p.Token(t.Context(), "wh_1", c)
			assert.NoError(t, err)
			assert.Equal(t, "tok-2", tok)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 2, srv.requests.Load())

	// A late 401 with the old token does not drop the new one.
	p.Invalidate("wh_1", c, stale)
	tok, err := p.Token(t.Context(), "wh_1", c)
	require.NoError(t, err)
	assert.Equal(t, "tok-2", tok)
	assert.EqualValues(t, 2, srv.requests.Load())
}

func TestCacheIsPerWebhookAndCredentials(t *testing.T) {
	srv := newTokenServer(t)
	p := newProvider(t, start())
	c := srv.creds()

	a, err := p.Token(t.Context(), "wh_1", c)
	require.NoError(t, err)
	b, err := p.Token(t.Context(), "wh_2", c)
	require.NoError(t, err)
	assert.NotEqual(t, a, b)

	changed := c
	changed.ClientSecret = "rotated"
	d, err := p.Token(t.Context(), "wh_1", changed)
	require.NoError(t, err)
	assert.NotEqual(t, a, d)
	scoped := c
	scoped.Scopes = []string{"write"}
	e, err := p.Token(t.Context(), "wh_1", scoped)
	require.NoError(t, err)
	assert.NotEqual(t, a, e)
	assert.EqualValues(t, 4, srv.requests.Load())

	again, err := p.Token(t.Context(), "wh_1", c)
	require.NoError(t, err)
	assert.Equal(t, a, again)
	assert.EqualValues(t, 4, srv.requests.Load())

	// The key names the webhook but not the secret.
	k := p.key("wh_1", c)
	assert.True(t, strings.HasPrefix(k, "wh_1\x00"))
	assert.NotContains(t, k, testSecret)
	assert.NotEqual(t, k, p.key("wh_1", changed))
}

func TestWrongSecret(t *testing.T) {
	srv := newTokenServer(t)
	srv.refuse = func(w http.ResponseWriter) bool {
		if srv.last().basicPass == url.QueryEscape(testSecret) {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return true
	}
	p := newProvider(t, start())
	c := srv.creds()
	c.ClientSecret = "wrong-secret"

	tok, err := p.Token(t.Context(), "wh_1", c)
	require.Error(t, err)
	assert.Empty(t, tok)
	assert.EqualError(t, err, "oauth2: token endpoint answered 401 invalid_client")
	var te *TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, http.StatusUnauthorized, te.StatusCode)
	assert.Equal(t, "invalid_client", te.Code)

	// A failure is not cached: the next attempt asks again.
	_, err = p.Token(t.Context(), "wh_1", c)
	require.Error(t, err)
	assert.EqualValues(t, 2, srv.requests.Load())

	tok, err = p.Token(t.Context(), "wh_1", srv.creds())
	require.NoError(t, err)
	assert.Equal(t, "tok-3", tok)
}

func TestErrorsNeverCarryTheSecret(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   string
	}{
		{"description echoing the secret", 400, "application/json",
			`{"error":"invalid_request","error_description":"bad secret ` + testSecret + `"}`,
			"oauth2: token endpoint answered 400 invalid_request: bad secret [redacted]"},
		{"secret split by a control character", 400, "application/json",
			`{"error":"invalid_request","error_description":"` + testSecret[:3] + `\u0001` + testSecret[3:] + `"}`,
			"oauth2: token endpoint answered 400 invalid_request: [redacted]"},
		{"form-encoded refusal", 401, "application/x-www-form-urlencoded",
			"error=invalid_client&error_description=who+are+you",
			"oauth2: token endpoint answered 401 invalid_client: who are you"},
		{"plain failure", 503, "text/html", "<html>" + testSecret + "</html>", "oauth2: token endpoint answered 503"},
		{"redirect (not followed)", 302, "text/html", "", "oauth2: token endpoint answered 302"},
		{"error in a 200", 200, "application/json", `{"error":"invalid_scope"}`, "oauth2: token endpoint answered 200 invalid_scope"},
		{"no access_token", 200, "application/json", `{"token_type":"Bearer"}`, "oauth2: token endpoint answer: server response missing access_token"},
		{"not JSON", 200, "application/json", `<html>` + testSecret, "oauth2: token endpoint answer: cannot parse json: invalid character '<' looking for beginning of value"},
		{"token that is no header value", 200, "application/json", `{"access_token":"a\r\nX-Evil: 1","token_type":"Bearer"}`,
			"oauth2: token endpoint answered an access_token that cannot be sent in a header"},
		{"long description is cut", 400, "application/json",
			`{"error":"invalid_request","error_description":"` + strings.Repeat("é", 150) + `"}`,
			"oauth2: token endpoint answered 400 invalid_request: " + strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTokenServer(t)
			srv.refuse = func(w http.ResponseWriter) bool {
				w.Header().Set("Content-Type", tt.ctype)
				if tt.status == 302 {
					w.Header().Set("Location", "http://169.254.169.254/")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
				return true
			}
			p := newProvider(t, start())
			_, err := p.Token(t.Context(), "wh_1", srv.creds())
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.NotContains(t, err.Error(), testSecret)
			assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), testSecret)
		})
	}
}

func TestAuthStyles(t *testing.T) {
	srv := newTokenServer(t)
	p := newProvider(t, start())

	_, err := p.Token(t.Context(), "wh_basic", srv.creds())
	require.NoError(t, err)
	got := srv.last()
	require.True(t, got.hasBasic, "basic sends an Authorization header")
	// RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
	assert.Equal(t, url.QueryEscape(testID), got.basicUser)
	assert.Equal(t, url.QueryEscape(testSecret), got.basicPass)
	assert.NotContains(t, got.form, "client_secret")
	assert.NotContains(t, got.form, "client_id")

	body := srv.creds()
	body.AuthStyle = StyleBody
	_, err = p.Token(t.Context(), "wh_body", body)
	require.NoError(t, err)
	got = srv.last()
	assert.False(t, got.hasBasic, "body sends no Authorization header")
	assert.Equal(t, testID, got.form.Get("client_id"))
	assert.Equal(t, testSecret, got.form.Get("client_secret"))
}

func TestScopeAndAudienceAreSent(t *testing.T) {
	srv := newTokenServer(t)
	p := newProvider(t, start())

	_, err := p.Token(t.Context(), "wh_1", srv.creds())
	require.NoError(t, err)
	assert.NotContains(t, srv.last().form, "scope")
	assert.NotContains(t, srv.last().form, "audience")

	c := srv.creds()
	c.Scopes = []string{"orders:write", "events"}
	c.Audience = "https://api.example.com"
	_, err = p.Token(t.Context(), "wh_1", c)
	require.NoError(t, err)
	assert.Equal(t, "orders:write events", srv.last().form.Get("scope"))
	assert.Equal(t, "https://api.example.com", srv.last().form.Get("audience"))
}

func TestCallerGivingUpDoesNotFailOthers(t *testing.T) {
	srv := newTokenServer(t)
	srv.gate = make(chan struct{})
	p := newProvider(t, start())

	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		_, err := p.Token(ctx, "wh_1", srv.creds())
		first <- err
	}()
	<-srv.arrived // the request the first caller started is in flight
	cancel()
	err := <-first
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "oauth2: waiting for a token")

	close(srv.gate)
	tok, err := p.Token(t.Context(), "wh_1", srv.creds())
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok)
	assert.EqualValues(t, 1, srv.requests.Load())
}

func TestTokenEndpointBehindTheDialGuard(t *testing.T) {
	srv := newTokenServer(t)
	p, err := NewProvider(Options{Client: safehttp.NewClient(safehttp.Options{})})
	require.NoError(t, err)

	_, err = p.Token(t.Context(), "wh_1", srv.creds())
	require.Error(t, err)
	var blocked *safehttp.BlockedError
	require.True(t, errors.As(err, &blocked), "%v is not a refused dial", err)
	assert.True(t, strings.HasPrefix(err.Error(), "oauth2: token request failed: "), err.Error())
	assert.Contains(t, err.Error(), "is loopback")
	assert.NotContains(t, err.Error(), "/token", "the URL (and any query) stays out of the record")
	assert.EqualValues(t, 0, srv.requests.Load())
}

func TestTimeout(t *testing.T) {
	srv := newTokenServer(t)
	srv.gate = make(chan struct{})
	defer close(srv.gate)
	p, err := NewProvider(Options{Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}), Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	_, err = p.Token(t.Context(), "wh_1", srv.creds())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "oauth2: token request failed: context deadline exceeded", err.Error())
}

func TestNewProviderNeedsAClient(t *testing.T) {
	_, err := NewProvider(Options{})
	require.EqualError(t, err, "oauth2: Options.Client is required")
}
