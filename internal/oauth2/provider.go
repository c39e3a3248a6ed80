package oauth2

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"
)

// Cache policy.
const (
	// MaxMargin is how long before its expiry a token is replaced at most:
	// a token is used until min(MaxMargin, a tenth of its lifetime) before
	// expires_in runs out, so a request sent with it does not arrive after
	// it expired, and a short-lived token is still used for most of its life.
	MaxMargin = 30 * time.Second
	// NoExpiryLifetime is how long a token whose answer had no expires_in is
	// kept. A 401 from the endpoint replaces it sooner (Invalidate).
	NoExpiryLifetime = time.Hour
	// DefaultTimeout bounds one token request.
	DefaultTimeout = 10 * time.Second
	// sweepAt is the cache size past which storing a token first drops the
	// expired ones (old credentials of changed webhooks, deleted webhooks).
	sweepAt = 1024
)

// Options configures NewProvider.
type Options struct {
	// Client sends the token requests: the deliveries' client with the
	// dial-time address guard (safehttp.NewClient). Required.
	Client *http.Client
	// Now is the clock tokens expire by. Default time.Now.
	Now func() time.Time
	// Timeout bounds one token request. Default DefaultTimeout.
	Timeout time.Duration
	// Rand seeds the cache keys' fingerprints. Default crypto/rand.
	Rand io.Reader
}

// Provider gets and caches access tokens. It is safe for concurrent use:
// however many callers want a token for the same webhook and credentials at
// once, one request goes to the token endpoint.
type Provider struct {
	client  *http.Client
	now     func() time.Time
	timeout time.Duration
	salt    []byte

	group singleflight.Group
	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	token     string
	refreshAt time.Time
}

// NewProvider returns a Provider that sends token requests with opts.Client.
func NewProvider(opts Options) (*Provider, error) {
	if opts.Client == nil {
		return nil, errors.New("oauth2: Options.Client is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	salt := make([]byte, 32)
	if _, err := io.ReadFull(opts.Rand, salt); err != nil {
		return nil, fmt.Errorf("oauth2: read fingerprint salt: %w", err)
	}
	return &Provider{
		client:  opts.Client,
		now:     opts.Now,
		timeout: opts.Timeout,
		salt:    salt,
		cache:   make(map[string]entry),
	}, nil
}

// key is the cache key of a webhook's credentials: its id and a keyed
// fingerprint of every credential, so changed credentials get a new token and
// the key reveals nothing of the secret.
func (p *Provider) key(webhookID string, c Credentials) string {
	h := hmac.New(sha256.New, p.salt)
	for _, s := range []string{c.TokenURL, c.ClientID, c.ClientSecret, strings.Join(c.Scopes, " "), c.Audience, string(c.AuthStyle)} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s)))) // length-prefixed: fields cannot run into each other
		h.Write([]byte(s))
	}
	return webhookID + "\x00" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Token returns an access token for webhook webhookID with credentials c,
// from the cache or from the token endpoint; the caller sends it as
// "Authorization: Bearer <token>" (RFC 6750), whatever token_type the answer
// named. Concurrent callers share one request, which runs to its own timeout
// even if the caller that started it gives up; a caller whose ctx ends stops
// waiting. Failures are not cached: the next call asks again.
func (p *Provider) Token(ctx context.Context, webhookID string, c Credentials) (string, error) {
	k := p.key(webhookID, c)
	if tok, ok := p.cached(k); ok {
		return tok, nil
	}
	ch := p.group.DoChan(k, func() (any, error) {
		// A request that finished between the miss above and now has
		// stored its token: do not ask again.
		if tok, ok := p.cached(k); ok {
			return tok, nil
		}
		return p.fetch(context.WithoutCancel(ctx), k, c)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("oauth2: waiting for a token: %w", ctx.Err())
	}
}

// Invalidate drops the cached token of webhookID's credentials c if it is
// still token, the one an endpoint just refused with 401. The next Token
// call fetches a new one; however many deliveries saw the 401 with the same
// token, one refresh follows, as a token fetched since is not dropped.
func (p *Provider) Invalidate(webhookID string, c Credentials, token string) {
	k := p.key(webhookID, c)
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.cache[k]; ok && e.token == token {
		delete(p.cache, k)
	}
}

func (p *Provider) cached(k string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.cache[k]
	if !ok || !p.now().Before(e.refreshAt) {
		return "", false
	}
	return e.token, true
}

func (p *Provider) fetch(ctx context.Context, k string, c Credentials) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	ctx = context.WithValue(ctx, xoauth2.HTTPClient, p.client)
	cfg := clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     c.TokenURL,
		Scopes:       c.Scopes,
		AuthStyle:    xoauth2.AuthStyleInHeader,
	}
	if c.AuthStyle == StyleBody {
		cfg.AuthStyle = xoauth2.AuthStyleInParams
	}
	if c.Audience != "" {
		cfg.EndpointParams = url.Values{"audience": {c.Audience}}
	}
	start := p.now()
	tok, err := cfg.Token(ctx)
	if err != nil {
		return "", describe(err, c)
	}
	if !httpguts.ValidHeaderFieldValue(tok.AccessToken) {
		return "", errors.New("oauth2: token endpoint answered an access_token that cannot be sent in a header")
	}
	if refreshAt := start.Add(keepFor(lifetime(tok))); refreshAt.After(start) {
		p.store(k, entry{token: tok.AccessToken, refreshAt: refreshAt})
	}
	return tok.AccessToken, nil
}

// lifetime is the token's expires_in, read from the answer itself:
// x/oauth2's Expiry is reckoned from the wall clock, not the Provider's.
func lifetime(t *xoauth2.Token) time.Duration {
	var secs float64
	switch v := t.Extra("expires_in").(type) {
	case float64: // a JSON number
		secs = v
	case int64: // a form-encoded integer
		secs = float64(v)
	case string: // JSON, quoted (some servers do)
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return NoExpiryLifetime
		}
		secs = f
	default:
		return NoExpiryLifetime
	}
	switch {
	case secs == 0 || math.IsNaN(secs):
		return NoExpiryLifetime // 0 is no answer, as in x/oauth2
	case secs < 0:
		return 0 // expired already: used once, not kept
	}
	return time.Duration(min(secs, math.MaxInt32) * float64(time.Second))
}

// keepFor is how long a token of the given lifetime is used: up to
// min(MaxMargin, lifetime/10) before it expires.
func keepFor(life time.Duration) time.Duration {
	return life - min(MaxMargin, life/10)
}

func (p *Provider) store(k string, e entry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cache) >= sweepAt {
		now := p.now()
		for key, old := range p.cache {
			if !now.Before(old.refreshAt) {
				delete(p.cache, key)
			}
		}
	}
	p.cache[k] = e
}

// TokenError is a token endpoint's refusal: a non-2xx status or an RFC 6749
// §5.2 error answer. Its text is made for a delivery attempt's record:
// "oauth2: token endpoint answered 401 invalid_client".
type TokenError struct {
	StatusCode  int
	Code        string // the "error" member, if the answer had one
	Description string // the "error_description" member, sanitized
}

func (e *TokenError) Error() string {
	s := fmt.Sprintf("oauth2: token endpoint answered %d", e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// describe turns an x/oauth2 error into one fit for an attempt record: the
// status and RFC 6749 error of a refusal, or what went wrong with the
// request, never the URL's query, the response body or the secret.
func describe(err error, c Credentials) error {
	var re *xoauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{
			Code:        sanitize(re.ErrorCode, 64, c),
			Description: sanitize(re.ErrorDescription, 200, c),
		}
		if re.Response != nil {
			te.StatusCode = re.Response.StatusCode
		}
		return te
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The url.Error's text starts with the token URL; its cause (a
		// refused dial, a timeout) is what the record needs.
		return fmt.Errorf("oauth2: token request failed: %w", ue.Err)
	}
	msg := strings.TrimPrefix(err.Error(), "oauth2: ")
	return errors.New("oauth2: token endpoint answer: " + sanitize(msg, 200, c))
}

// sanitize keeps the printable part of a text from the token endpoint, at
// most n bytes of it, with the client secret (should the endpoint echo it)
// blotted out.
func sanitize(s string, n int, c Credentials) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	if c.ClientSecret != "" { // after dropping what could split it
		s = strings.ReplaceAll(s, c.ClientSecret, "[redacted]")
	}
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
