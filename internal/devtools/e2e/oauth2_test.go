package e2e

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

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

const (
	oauthClient = "webhooks-e2e"
	oauthSecret = "e2e-client-secret-0123"
)

// tokenServer is an OAuth 2.0 token endpoint (client credentials, client
// authenticated with HTTP Basic): it issues e2e-token-1, -2, ... valid for
// an hour, and answers invalid_client to any other secret.
type tokenServer struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	issued   []string
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		id, secret, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.FormValue("grant_type") != "client_credentials" ||
			id != oauthClient || secret != oauthSecret {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"client authentication failed"}`)
			return
		}
		ts.mu.Lock()
		tok := fmt.Sprintf("e2e-token-%d", len(ts.issued)+1)
		ts.issued = append(ts.issued, tok)
		ts.mu.Unlock()
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600,"scope":"hooks"}`, tok)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// protected is a subscriber endpoint that takes a bearer token the token
// server issued and has not been revoked, and answers 401 otherwise.
type protected struct {
	*httptest.Server
	ts      *tokenServer
	mu      sync.Mutex
	got     []string // the Authorization of every request
	revoked map[string]bool
}

func newProtected(t *testing.T, ts *tokenServer) *protected {
	p := &protected{ts: ts, revoked: map[string]bool{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		ts.mu.Lock()
		valid := ok && contains(ts.issued, tok)
		ts.mu.Unlock()
		p.mu.Lock()
		p.got = append(p.got, auth)
		valid = valid && !p.revoked[tok]
		p.mu.Unlock()
		if !valid {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(p.Close)
	return p
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (p *protected) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

func (p *protected) revoke(tok string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked[tok] = true
}

// waitReceived waits until the endpoint got n requests.
func (p *protected) waitReceived(t *testing.T, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got := p.received(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint got %d requests within %s, want %d", len(p.received()), within, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func oauthSpec(name, url, tokenURL, secret string) map[string]any {
	return map[string]any{
		"name": name, "url": url, "events": []string{"custom"}, "auth_type": "oauth2",
		"auth_credentials": map[string]any{"token_url": tokenURL, "client_id": oauthClient, "client_secret": secret, "scope": "hooks"},
		"retry":            map[string]any{"max_attempts": 2, "initial_delay_ms": 100},
	}
}

// triggerN fires n custom events, each for one webhook, and returns their
// event ids.
func (s *stack) triggerN(n int) []string {
	s.t.Helper()
	ids := make([]string, n)
	for i := range n {
		res, err := s.pipeline.Triggers.Trigger(context.Background(), webhook.TriggerRequest{
			Event: webhook.EventCustom, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		})
		require.NoError(s.t, err)
		require.Equal(s.t, 1, res.Deliveries)
		ids[i] = res.EventID
	}
	return ids
}

// finalFor waits for webhookID's delivery of event eventID to be final.
func (s *stack) finalFor(webhookID, eventID string, within time.Duration) *webhook.Delivery {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		page, err := s.store.ListDeliveries(context.Background(), webhookID, webhook.DeliveryFilter{Limit: 100})
		require.NoError(s.t, err)
		for _, d := range page.Items {
			if d.EventID == eventID && d.Status.Final() {
				return d
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no final delivery of event %s to %s within %s", eventID, webhookID, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOAuth2Deliveries(t *testing.T) {
	forEachBackend(t, stackOptions{tokenClock: true}, func(t *testing.T, s *stack) {
		ts := newTokenServer(t)
		ep := newProtected(t, ts)
		id := s.createWebhook(oauthSpec("oauth", ep.URL+"/hook", ts.URL+"/oauth/token", oauthSecret))

		// The read shows where and as whom, never the secret.
		code, got := s.do("GET", "/webhooks/"+id, nil)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, map[string]any{"token_url": ts.URL + "/oauth/token", "client_id": oauthClient,
			"client_secret": "****0123", "scope": "hooks"}, got["auth_credentials"])

		// 100 deliveries, one token request.
		s.triggerN(100)
		reqs := ep.waitReceived(t, 100, 60*time.Second)
		s.waitDrained(30*time.Second, s.urls.DeliveryQueue)
		assert.EqualValues(t, 1, ts.requests.Load(), "100 deliveries share one token")
		for _, auth := range reqs {
			require.Equal(t, "Bearer e2e-token-1", auth)
		}
		st := s.waitStats(id, 100)
		assert.EqualValues(t, 100, st.Successful)

		// The token expires: exactly one more request.
		s.tokenClock.Advance(time.Hour)
		s.triggerN(10)
		reqs = ep.waitReceived(t, 110, 30*time.Second)
		s.waitDrained(30*time.Second, s.urls.DeliveryQueue)
		assert.EqualValues(t, 2, ts.requests.Load(), "an expired token is replaced once")
		for _, auth := range reqs[100:] {
			assert.Equal(t, "Bearer e2e-token-2", auth)
		}

		// The endpoint refuses the token: one refresh, the request sent
		// again within the same attempt.
		ep.revoke("e2e-token-2")
		d := s.finalFor(id, s.triggerN(1)[0], 30*time.Second)
		assert.Equal(t, webhook.DeliverySucceeded, d.Status)
		require.Len(t, d.Attempts, 1)
		assert.Equal(t, 200, d.Attempts[0].StatusCode)
		reqs = ep.waitReceived(t, 112, 10*time.Second)
		assert.Equal(t, []string{"Bearer e2e-token-2", "Bearer e2e-token-3"}, reqs[110:])
		assert.EqualValues(t, 3, ts.requests.Load(), "a 401 causes one refresh")

		// A test send takes the cached token.
		code, got = s.do("POST", "/webhooks/"+id+"/test", nil)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, true, got["success"], "%v", got)
		assert.EqualValues(t, 3, ts.requests.Load())

		logs := s.logs.String()
		assert.NotContains(t, logs, "e2e-token-", "no token in a log")
		assert.NotContains(t, logs, oauthSecret, "no secret in a log")
	})
}

func TestOAuth2WrongSecret(t *testing.T) {
	forEachBackend(t, stackOptions{}, func(t *testing.T, s *stack) {
		ts := newTokenServer(t)
		ep := newProtected(t, ts)
		id := s.createWebhook(oauthSpec("wrong", ep.URL+"/hook", ts.URL+"/token", "not-the-secret"))
		d := s.finalFor(id, s.triggerN(1)[0], 30*time.Second)
		assert.Equal(t, webhook.DeliveryFailed, d.Status)
		require.Len(t, d.Attempts, 2, "retried like any failure")
		for _, at := range d.Attempts {
			assert.True(t, strings.HasPrefix(at.Error, "oauth2: token endpoint answered 401 invalid_client: client authentication failed; "), at.Error)
			assert.Zero(t, at.StatusCode, "the endpoint did not answer")
			assert.Empty(t, at.ResponseBody)
		}
		assert.EqualValues(t, 2, ts.requests.Load(), "one token request per attempt: failures are not cached")
		assert.Empty(t, ep.received(), "nothing is sent without a token")

		code, got := s.do("GET", "/webhooks/"+id+"/deliveries/"+d.ID, nil)
		require.Equal(t, http.StatusOK, code)
		assert.NotContains(t, fmt.Sprint(got), "not-the-secret")
		assert.NotContains(t, s.logs.String(), "not-the-secret")
	})
}

// In AWS (private targets refused) a token_url must be https and public;
// a refusal names the field and writes nothing. The token endpoint is also
// behind the delivery's dial guard.
func TestOAuth2TokenURLRules(t *testing.T) {
	forEachBackend(t, stackOptions{denyPrivate: true, apiDenyPrivate: true}, func(t *testing.T, s *stack) {
		for _, tokenURL := range []string{
			"http://auth.example.com/token",
			"https://169.254.169.254/latest/api/token",
			"https://10.0.0.7/token",
			"https://[::1]/token",
			"https://localhost/token",
		} {
			code, got := s.do("POST", "/webhooks", oauthSpec("bad", "https://example.com/hook", tokenURL, oauthSecret))
			require.Equal(t, http.StatusBadRequest, code, tokenURL)
			assert.Equal(t, "auth_credentials.token_url", got["error"].(map[string]any)["field"], tokenURL)
		}
		page, err := s.store.ListWebhooks(context.Background(), webhook.ListFilter{Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, page.Items, "nothing written")

		id := s.createWebhook(oauthSpec("good", "https://example.com/hook", "https://auth.example.com/token", oauthSecret))
		_, before := s.do("GET", "/webhooks/"+id, nil)
		code, _ := s.do("PATCH", "/webhooks/"+id, map[string]any{"auth_credentials": map[string]any{
			"token_url": "http://auth.example.com/token", "client_id": oauthClient, "client_secret": oauthSecret}})
		require.Equal(t, http.StatusBadRequest, code)
		_, after := s.do("GET", "/webhooks/"+id, nil)
		assert.Equal(t, before, after, "a refused patch changes nothing")

		// Stored as a webhook whose names resolved elsewhere: the guard
		// refuses the token endpoint's loopback address at delivery.
		ts := newTokenServer(t)
		rcv := newReceiver(t)
		w := &webhook.Webhook{ID: webhook.NewID(webhook.WebhookIDPrefix), Name: "guarded", URL: rcv.URL, Method: "POST",
			Events: []string{"agent.started"}, Status: webhook.StatusActive, AuthType: webhook.AuthOAuth2,
			Retry: webhook.DefaultRetryPolicy(), TimeoutMS: 2000, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		creds := map[string]string{"token_url": ts.URL + "/token", "client_id": oauthClient, "client_secret": oauthSecret}
		w.SealedCredentials, err = s.pipeline.Secrets.Seal(context.Background(), w.ID, creds)
		require.NoError(t, err)
		require.NoError(t, s.store.CreateWebhook(context.Background(), w))
		res, err := s.pipeline.Triggers.Trigger(context.Background(), webhook.TriggerRequest{Event: "agent.started"})
		require.NoError(t, err)
		require.Equal(t, 1, res.Deliveries)
		d := s.finalFor(w.ID, res.EventID, 30*time.Second)
		assert.Equal(t, webhook.DeliveryFailed, d.Status)
		require.Len(t, d.Attempts, 1, "a refused address is not retried")
		assert.Contains(t, d.Attempts[0].Error, "oauth2: token request failed")
		assert.Contains(t, d.Attempts[0].Error, "is loopback")
		assert.Zero(t, ts.requests.Load())
		assert.Empty(t, rcv.got())
	})
}
