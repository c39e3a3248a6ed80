package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/oauth2"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

const (
	oauthClientID = "deliveries"
	oauthSecret   = "client-secret-value"
)

// tokenEndpoint is a client-credentials token endpoint issuing tok-1,
// tok-2, ... to the right client and refusing others as RFC 6749 §5.2 says.
type tokenEndpoint struct {
	*httptest.Server
	requests  atomic.Int64
	expiresIn atomic.Int64
}

func newTokenEndpoint(t *testing.T) *tokenEndpoint {
	e := &tokenEndpoint{}
	e.expiresIn.Store(3600)
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.requests.Add(1)
		id, secret, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		if r.FormValue("grant_type") != "client_credentials" || id != oauthClientID || secret != oauthSecret {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"bad secret %s"}`, secret)
			return
		}
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, e.expiresIn.Load())
	}))
	t.Cleanup(e.Close)
	return e
}

// bearerEndpoint is a subscriber that takes any token it was not told to
// refuse, and answers with the token it got when echo is set.
type bearerEndpoint struct {
	*httptest.Server
	mu      sync.Mutex
	got     []string // Authorization headers, in order
	refused map[string]bool
	echo    bool
}

func newBearerEndpoint(t *testing.T) *bearerEndpoint {
	e := &bearerEndpoint{refused: map[string]bool{}}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		e.mu.Lock()
		e.got = append(e.got, auth)
		refused, echo := e.refused[strings.TrimPrefix(auth, "Bearer ")], e.echo
		e.mu.Unlock()
		if echo {
			w.Header().Set("X-Seen", auth)
		}
		if refused {
			w.WriteHeader(http.StatusUnauthorized)
		}
		if echo {
			fmt.Fprintf(w, "you sent %s", auth)
		}
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *bearerEndpoint) refuse(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refused[token] = true
}

func (e *bearerEndpoint) received() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

type oauthFixture struct {
	store    *fake.Store
	queue    *fake.Queue
	a        *Attempter
	hook     *webhook.Webhook
	tokens   *tokenEndpoint
	endpoint *bearerEndpoint
	clock    *fake.Clock
	now      time.Time
}

// newOAuthFixture is an oauth2 webhook with the token endpoint's client
// credentials; creds changes them before they are sealed.
func newOAuthFixture(t *testing.T, client *http.Client, creds func(map[string]string)) *oauthFixture {
	t.Helper()
	f := &oauthFixture{tokens: newTokenEndpoint(t), endpoint: newBearerEndpoint(t), queue: &fake.Queue{},
		now: time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC)}
	f.clock = fake.NewClock(f.now)
	c := map[string]string{"token_url": f.tokens.URL + "/token", "client_id": oauthClientID, "client_secret": oauthSecret}
	if creds != nil {
		creds(c)
	}
	id := webhook.NewID(webhook.WebhookIDPrefix)
	f.hook = &webhook.Webhook{
		ID: id, Name: "t", URL: f.endpoint.URL, Method: "POST",
		Events: []string{"agent.started"}, Status: webhook.StatusActive, AuthType: webhook.AuthOAuth2,
		SealedCredentials: fake.Sealed(id, c), Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 5000,
	}
	f.store = fake.NewStore(f.hook)
	if client == nil {
		client = safehttp.NewClient(safehttp.Options{AllowPrivate: true})
	}
	tokens, err := oauth2.NewProvider(oauth2.Options{Client: client, Now: f.clock.Now})
	require.NoError(t, err)
	f.a, err = NewAttempter(f.store, &fake.Secrets{}, f.queue, Options{
		Client: client, Now: func() time.Time { return f.now }, Rand: func() float64 { return 0.5 }, Log: quiet,
		Tokens: tokens,
	})
	require.NoError(t, err)
	return f
}

func (f *oauthFixture) job(n int) queue.Job {
	ev := fmt.Sprintf("evt_%d", n)
	return queue.Job{
		DeliveryID: webhook.DeliveryIDFor(ev, f.hook.ID, f.now), WebhookID: f.hook.ID, EventID: ev,
		Event: "agent.started", Attempt: 1, CreatedAt: f.now, Timestamp: f.now, Data: json.RawMessage(`{"a":1}`),
	}
}

// run makes the first attempt of delivery n and returns its record.
func (f *oauthFixture) run(t *testing.T, n int) webhook.Delivery {
	t.Helper()
	_, err := f.a.Run(context.Background(), f.job(n), false)
	require.NoError(t, err)
	return f.store.Delivery(f.job(n).DeliveryID)
}

func TestOAuth2OneTokenForManyDeliveries(t *testing.T) {
	f := newOAuthFixture(t, nil, nil)
	for n := range 20 {
		d := f.run(t, n)
		require.Equal(t, webhook.DeliverySucceeded, d.Status, "%+v", d.Attempts)
	}
	var wg sync.WaitGroup
	for n := 20; n < 30; n++ {
		wg.Go(func() { f.run(t, n) })
	}
	wg.Wait()
	assert.EqualValues(t, 1, f.tokens.requests.Load(), "one token serves every delivery, concurrent ones too")
	got := f.endpoint.received()
	require.Len(t, got, 30)
	for _, auth := range got {
		assert.Equal(t, "Bearer tok-1", auth)
	}
}

func TestOAuth2TokenExpiry(t *testing.T) {
	f := newOAuthFixture(t, nil, nil)
	f.tokens.expiresIn.Store(60)
	f.run(t, 1)
	f.clock.Advance(50 * time.Second) // before the refresh margin (a tenth of 60 s)
	f.run(t, 2)
	assert.EqualValues(t, 1, f.tokens.requests.Load())
	f.clock.Advance(5 * time.Second) // within 6 s of expiry: replaced
	f.run(t, 3)
	f.run(t, 4)
	assert.EqualValues(t, 2, f.tokens.requests.Load(), "an expiring token causes exactly one more request")
	assert.Equal(t, []string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-2", "Bearer tok-2"}, f.endpoint.received())
}

func TestOAuth2RefreshOn401(t *testing.T) {
	t.Run("a revoked token is replaced once and the request sent again", func(t *testing.T) {
		f := newOAuthFixture(t, nil, nil)
		f.run(t, 1)
		f.endpoint.refuse("tok-1")
		d := f.run(t, 2)
		assert.Equal(t, webhook.DeliverySucceeded, d.Status, "%+v", d.Attempts)
		require.Len(t, d.Attempts, 1, "the resend is part of the attempt")
		assert.Equal(t, 200, d.Attempts[0].StatusCode)
		assert.EqualValues(t, 2, f.tokens.requests.Load())
		assert.Equal(t, []string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-2"}, f.endpoint.received())
		f.run(t, 3)
		assert.EqualValues(t, 2, f.tokens.requests.Load(), "the new token is cached")
	})
	t.Run("a second 401 fails the attempt", func(t *testing.T) {
		f := newOAuthFixture(t, nil, nil)
		f.endpoint.refuse("tok-1")
		f.endpoint.refuse("tok-2")
		d := f.run(t, 1)
		assert.Equal(t, webhook.DeliveryRetrying, d.Status)
		assert.Equal(t, 401, d.Attempts[0].StatusCode)
		assert.Contains(t, d.Attempts[0].Error, "endpoint answered 401 Unauthorized; retrying")
		assert.Equal(t, []string{"Bearer tok-1", "Bearer tok-2"}, f.endpoint.received())
		assert.EqualValues(t, 2, f.tokens.requests.Load(), "one refresh per attempt, no more")
		require.Len(t, f.queue.Sent, 1, "retried like any failure")
	})
	t.Run("concurrent 401s cause one refresh", func(t *testing.T) {
		f := newOAuthFixture(t, nil, nil)
		f.run(t, 0)
		f.endpoint.refuse("tok-1")
		var wg sync.WaitGroup
		for n := 1; n <= 10; n++ {
			wg.Go(func() { f.run(t, n) })
		}
		wg.Wait()
		assert.EqualValues(t, 2, f.tokens.requests.Load())
		for n := 1; n <= 10; n++ {
			assert.Equal(t, webhook.DeliverySucceeded, f.store.Delivery(f.job(n).DeliveryID).Status)
		}
	})
}

func TestOAuth2TokenFailure(t *testing.T) {
	f := newOAuthFixture(t, nil, func(c map[string]string) { c["client_secret"] = "wrong-secret" })
	d := f.run(t, 1)
	assert.Equal(t, webhook.DeliveryRetrying, d.Status)
	require.Len(t, d.Attempts, 1)
	at := d.Attempts[0]
	assert.Zero(t, at.StatusCode, "the endpoint did not answer")
	assert.True(t, strings.HasPrefix(at.Error, "oauth2: token endpoint answered 401 invalid_client: bad secret [redacted]; retrying in"), at.Error)
	assert.NotContains(t, at.Error, "wrong-secret")
	assert.Empty(t, at.ResponseBody, "the token endpoint's answer is not recorded")
	assert.Empty(t, f.endpoint.received(), "nothing is sent without a token")
	require.Len(t, f.queue.Sent, 1, "retried like any failure")
	assert.Equal(t, 2, f.queue.Sent[0].Attempt)
	assert.EqualValues(t, 1, f.tokens.requests.Load())

	_, err := f.a.Run(context.Background(), f.queue.Sent[0], false)
	require.NoError(t, err)
	assert.EqualValues(t, 2, f.tokens.requests.Load(), "a failure is not cached")
}

func TestOAuth2TokenEndpointBehindTheDialGuard(t *testing.T) {
	f := newOAuthFixture(t, safehttp.NewClient(safehttp.Options{}), nil)
	d := f.run(t, 1)
	assert.Equal(t, webhook.DeliveryFailed, d.Status, "a refused address is permanent, as for an endpoint")
	assert.Contains(t, d.Attempts[0].Error, "not retryable: oauth2: token request failed:")
	assert.Contains(t, d.Attempts[0].Error, "is loopback")
	assert.Zero(t, f.tokens.requests.Load())
	assert.Empty(t, f.endpoint.received())
}

func TestOAuth2BadStoredCredentials(t *testing.T) {
	f := newOAuthFixture(t, nil, func(c map[string]string) { delete(c, "client_secret") })
	d := f.run(t, 1)
	assert.Equal(t, webhook.DeliveryFailed, d.Status)
	assert.Contains(t, d.Attempts[0].Error, "not retryable: webhook "+f.hook.ID+": auth_type oauth2 needs auth_credentials.client_secret")
	assert.Zero(t, f.tokens.requests.Load())
	assert.Empty(t, f.endpoint.received())
}

func TestOAuth2TokenNotRecorded(t *testing.T) {
	f := newOAuthFixture(t, nil, nil)
	f.endpoint.echo = true
	d := f.run(t, 1)
	assert.Equal(t, "you sent Bearer [redacted]", d.Attempts[0].ResponseBody)

	w, err := f.a.webhook(context.Background(), f.hook.ID)
	require.NoError(t, err)
	res, err := f.a.Test(context.Background(), w)
	require.NoError(t, err)
	assert.True(t, res.Success, res.Error)
	assert.Equal(t, "Bearer [redacted]", res.Result.Header.Get("X-Seen"), "test sends use the token too, and show it nowhere")
	assert.NotContains(t, string(res.Result.Body), "tok-1")
	assert.EqualValues(t, 1, f.tokens.requests.Load())
}

func TestRedactCutToken(t *testing.T) {
	res := Result{Body: []byte("abc tok-secret def tok-se"), Truncated: true}
	redact(&res, "tok-secret")
	assert.Equal(t, "abc [redacted] def ", string(res.Body))
	res = Result{Body: []byte("abc tok"), Truncated: true}
	redact(&res, "tok-secret")
	assert.Equal(t, "abc tok", string(res.Body), "three bytes say nothing")
}
