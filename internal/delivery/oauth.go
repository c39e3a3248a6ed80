package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/systemprompt-io/webhooks/internal/oauth2"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Tokens gets OAuth 2.0 access tokens for oauth2 webhooks and drops one an
// endpoint refused (implemented by *oauth2.Provider). One per process: its
// cache is what lets one token request serve many deliveries.
type Tokens interface {
	Token(ctx context.Context, webhookID string, c oauth2.Credentials) (string, error)
	Invalidate(webhookID string, c oauth2.Credentials, token string)
}

// newTokens is the Tokens of an Attempter given none: a Provider sending
// token requests with the deliveries' client, so the token endpoint is
// behind the same dial guard as the endpoints.
func newTokens(opt Options) (Tokens, error) {
	p, err := oauth2.NewProvider(oauth2.Options{Client: opt.Client, Now: opt.Now})
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	return p, nil
}

// sendOAuth2 sends req, built for an oauth2 webhook, with
// "Authorization: Bearer <token>". A 401 from the endpoint drops the token
// it refused and sends the request once more with a new one (the token may
// have been revoked before its expires_in ran out); a second 401 is the
// attempt's answer. The token requests and both sends share the attempt's
// timeout; Duration covers both sends.
//
// A token that cannot be had is the attempt's error and nothing is sent:
// the Provider's error names the token endpoint's answer
// ("oauth2: token endpoint answered 401 invalid_client"), never the secret
// or the token, and it is retried like an endpoint's failure (a dial the
// guard refused is permanent, as for the endpoint). The token is blotted
// out of what the endpoint answers, should it echo it, before anything is
// recorded.
func (a *Attempter) sendOAuth2(ctx context.Context, w *webhook.Webhook, req *http.Request, timeout time.Duration) Result {
	// Create and patch held token_url to the deployment's rules; here only
	// its shape matters, the dial guard judges the addresses it reaches.
	creds, err := oauth2.ParseCredentials(w.Credentials, true)
	if err != nil {
		return Result{Err: configErrorf("webhook %s: %s", w.ID, webhook.ErrorMessage(err))}
	}
	deadline := time.Now().Add(timeout)
	res, token := a.sendWithToken(ctx, w.ID, creds, req, deadline)
	if res.StatusCode != http.StatusUnauthorized {
		return res
	}
	a.opt.Tokens.Invalidate(w.ID, creds, token)
	again, err := resend(req)
	if err != nil {
		return res
	}
	second, _ := a.sendWithToken(ctx, w.ID, creds, again, deadline)
	second.Duration += res.Duration
	return second
}

// sendWithToken gets a token for webhookID and sends req with it, before
// deadline. It returns the token sent ("" when none was had).
func (a *Attempter) sendWithToken(ctx context.Context, webhookID string, creds oauth2.Credentials, req *http.Request, deadline time.Time) (Result, string) {
	tctx, cancel := context.WithDeadline(ctx, deadline)
	token, err := a.opt.Tokens.Token(tctx, webhookID, creds)
	cancel()
	if err != nil {
		return Result{Err: err}, ""
	}
	req.Header.Set("Authorization", "Bearer "+token)
	left := time.Until(deadline).Round(time.Millisecond)
	if left <= 0 {
		return Result{Err: errors.New("oauth2: no time left to send after getting a token")}, token
	}
	res := Send(ctx, a.opt.Client, req, left, a.opt.MaxBody)
	redact(&res, token)
	return res, token
}

// resend is req again, with its body from the start.
func resend(req *http.Request) (*http.Request, error) {
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("delivery: body for the resend: %w", err)
		}
		again.Body = body
	}
	return again, nil
}

// redacted replaces a token an endpoint echoed in its answer.
const redacted = "[redacted]"

// redact blots token out of res's body and header values, so the attempt's
// record and a test send's answer never carry it. A body cut at the
// excerpt limit also loses a trailing start of the token (of 4 bytes or
// more: shorter ones say nothing).
func redact(res *Result, token string) {
	if token == "" {
		return
	}
	res.Body = bytes.ReplaceAll(res.Body, []byte(token), []byte(redacted))
	if res.Truncated {
		for n := min(len(token)-1, len(res.Body)); n >= 4; n-- {
			if bytes.HasSuffix(res.Body, []byte(token[:n])) {
				res.Body = res.Body[:len(res.Body)-n]
				break
			}
		}
	}
	for name, values := range res.Header {
		for i, v := range values {
			if strings.Contains(v, token) {
				res.Header[name][i] = strings.ReplaceAll(v, token, redacted)
			}
		}
	}
}
