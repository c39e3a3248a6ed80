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

	"github.com/systemprompt-io/webhooks/internal/webhook"
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

type blockedRange struct {
	prefix netip.Prefix
	reason string
}

func mustRanges(pairs ...string) []blockedRange {
	out := make([]blockedRange, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, blockedRange{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return out
}

// Refused IPv4 ranges (IANA special-purpose registry, RFC 6890 and friends).
// Order matters only for the reason shown: the metadata address comes first.
var v4Blocked = mustRanges(
	"169.254.169.254/32", "cloud metadata",
	"169.254.170.2/32", "cloud metadata", // ECS task metadata
	"0.0.0.0/8", "unspecified", // "this network"; 0.0.0.0 reaches localhost on Linux
	"10.0.0.0/8", "private",
	"100.64.0.0/10", "carrier-grade NAT (shared)",
	"127.0.0.0/8", "loopback",
	"169.254.0.0/16", "link-local",
	"172.16.0.0/12", "private",
	"192.0.0.0/24", "IETF protocol assignment",
	"192.0.2.0/24", "documentation",
	"192.88.99.0/24", "6to4 relay anycast",
	"192.168.0.0/16", "private",
	"198.18.0.0/15", "benchmarking",
	"198.51.100.0/24", "documentation",
	"203.0.113.0/24", "documentation",
	"224.0.0.0/4", "multicast",
	"255.255.255.255/32", "broadcast",
	"240.0.0.0/4", "reserved",
)

// Refused IPv6 ranges. IPv4-mapped, NAT64 and 6to4 addresses are not listed:
// they are judged by the IPv4 address they carry (see check).
var v6Blocked = mustRanges(
	"fd00:ec2::254/128", "cloud metadata", // AWS IMDS over IPv6
	"::/128", "unspecified",
	"::1/128", "loopback",
	"::/96", "IPv4-compatible (deprecated)", // ::a.b.c.d, never legitimate today
	"64:ff9b:1::/48", "local-use NAT64", // RFC 8215: translates into private networks
	"100::/64", "discard-only",
	"2001::/32", "Teredo", // carries an obfuscated IPv4 of a relay; no legitimate webhook target
	"2001:db8::/32", "documentation",
	"fc00::/7", "private (unique local)",
	"fe80::/10", "link-local",
	"fec0::/10", "site-local (deprecated)",
	"ff00::/8", "multicast",
)

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixToV4 = netip.MustParsePrefix("2002::/16")
	// Everything outside global unicast is reserved or special-purpose.
	global6 = netip.MustParsePrefix("2000::/3")
)

// Check returns a *BlockedError if addr is not a public unicast address a
// delivery may connect to, and nil otherwise. It is what the dial guard
// applies when private targets are not allowed.
//
// It refuses at least everything webhook.BlockedAddr (the check validation
// applies to IP literals in URLs) refuses, so a host name can never reach an
// address its IP literal could not; on top of that it names the range, and
// also refuses the few special IPv6 ranges validation does not list.
func Check(addr netip.Addr) error {
	reason := check(addr)
	if reason == "" && webhook.BlockedAddr(addr) {
		reason = "not a public address"
	}
	if reason != "" {
		return &BlockedError{Addr: addr, Reason: reason}
	}
	return nil
}

func check(addr netip.Addr) string {
	if !addr.IsValid() {
		return "invalid"
	}
	// Prefix.Contains never matches an address with a zone, so drop it.
	a := addr.WithZone("")
	if a.Is4In6() {
		// ::ffff:a.b.c.d is the IPv4 host a.b.c.d to the kernel.
		if r := check4(a.Unmap()); r != "" {
			return r + " (IPv4-mapped)"
		}
		return ""
	}
	if a.Is4() {
		return check4(a)
	}
	if nat64.Contains(a) {
		// Well-known NAT64 reaches the IPv4 address in the low 32 bits;
		// public ones are fine (IPv6-only subnets with DNS64 use this).
		b := a.As16()
		if r := check4(netip.AddrFrom4([4]byte(b[12:16]))); r != "" {
			return r + " (NAT64)"
		}
		return ""
	}
	if sixToV4.Contains(a) {
		b := a.As16()
		if r := check4(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
			return r + " (6to4)"
		}
	}
	for _, r := range v6Blocked {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	if !global6.Contains(a) {
		return "reserved"
	}
	return ""
}

func check4(a netip.Addr) string {
	for _, r := range v4Blocked {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	return ""
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
