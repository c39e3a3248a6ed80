// Package safehttp is the outbound HTTP client of deliveries. Webhook URLs are
// chosen by users, so every connection is checked at dial time, on the address
// DNS actually returned: loopback, private, link-local (cloud metadata),
// multicast and other special addresses are refused unless private targets
// are allowed. Checking the resolved address (not the URL's host name) is what
// defeats DNS rebinding, and not following redirects keeps a public endpoint
// from bouncing a delivery to an internal one.
package safehttp

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/systemprompt-io/webhooks/internal/netguard"
)

// BlockedError is the refusal of a connection to a forbidden address.
// It is permanent: waiting does not change an address's class.
type BlockedError struct {
	Addr   netip.Addr
	Reason string // "private", "loopback", "link-local", "cloud metadata", ...
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("address %s is %s", e.Addr, e.Reason)
}

// Permanent reports that retrying cannot help (see retry.Classify).
func (e *BlockedError) Permanent() bool { return true }

// Check returns a *BlockedError if addr is not a public unicast address a
// delivery may connect to, and nil otherwise. It is what the dial guard
// applies when private targets are not allowed; the ranges and their reasons
// are netguard's, the same table create-time validation applies to IP
// literals in URLs.
func Check(addr netip.Addr) error {
	if reason := netguard.Reason(addr); reason != "" {
		return &BlockedError{Addr: addr, Reason: reason}
	}
	return nil
}

// control runs after DNS resolution, just before connect(2), with the literal
// address being dialled: the one place a rebinding resolver cannot fool.
func control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: anything that is not ip:port is not dialled.
		return fmt.Errorf("safehttp: refusing to dial unparsable address %q: %w", address, err)
	}
	return Check(ap.Addr())
}

// Options configures NewClient. Zero values give the defaults.
type Options struct {
	// AllowPrivate disables the address guard (the local stack sets it, so
	// receivers on localhost work). Redirects are still not followed.
	AllowPrivate bool
	// DialTimeout bounds one TCP connect. Default 10 s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake. Default 10 s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout, if set, bounds the wait for response headers.
	// Default 0: the per-request context (the webhook's timeout_ms, applied
	// by the caller) is the limit, so this can never be longer than it.
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost keeps connections to a busy endpoint warm across
	// the messages of a batch. Default 10 (an SQS batch has at most 10).
	MaxIdleConnsPerHost int
	// MaxResponseHeaderBytes bounds response headers. Default 64 KiB.
	MaxResponseHeaderBytes int64
}

// NewClient returns an http.Client for deliveries: the address guard (unless
// opts.AllowPrivate), no redirects (a 3xx comes back as the response), no
// proxy from the environment, TLS 1.2+, and bounded transport limits. It has
// no overall Timeout: each request carries its own deadline in its context.
func NewClient(opts Options) *http.Client {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	if opts.TLSHandshakeTimeout <= 0 {
		opts.TLSHandshakeTimeout = 10 * time.Second
	}
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = 10
	}
	if opts.MaxResponseHeaderBytes <= 0 {
		opts.MaxResponseHeaderBytes = 64 << 10
	}
	dialer := &net.Dialer{
		Timeout:   opts.DialTimeout,
		KeepAlive: 30 * time.Second,
	}
	if !opts.AllowPrivate {
		dialer.Control = control
	}
	transport := &http.Transport{
		Proxy:                  nil, // never from HTTP_PROXY & co: a proxy would dial for us, unguarded
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true, // a custom DialContext would otherwise turn HTTP/2 off
		TLSHandshakeTimeout:    opts.TLSHandshakeTimeout,
		ResponseHeaderTimeout:  opts.ResponseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    opts.MaxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: opts.MaxResponseHeaderBytes,
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
