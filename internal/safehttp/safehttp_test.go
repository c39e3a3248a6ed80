package safehttp

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/netguard"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		addr   string
		reason string // "" = allowed
	}{
		// Public addresses pass.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"93.184.216.34", ""},
		{"100.63.255.255", ""},  // just below CGNAT
		{"100.128.0.0", ""},     // just above CGNAT
		{"172.15.255.255", ""},  // just below 172.16/12
		{"172.32.0.0", ""},      // just above
		{"11.0.0.0", ""},        // just above 10/8
		{"9.255.255.255", ""},   // just below
		{"169.253.255.255", ""}, // just below link-local
		{"223.255.255.255", ""}, // just below multicast
		{"2606:4700:4700::1111", ""},
		{"2a00:1450:4001:80b::200e", ""},
		{"::ffff:8.8.8.8", ""},       // mapped public
		{"64:ff9b::808:808", ""},     // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},      // 6to4 of 8.8.8.8
		{"fbff:ffff::1", "reserved"}, // just below fc00::/7, outside 2000::/3
		{"2001:db9::1", ""},          // just above documentation
		{"3fff:ffff::1", ""},         // top of global unicast
		{"febf:ffff::1", "link-local"},

		// 0/8 and unspecified.
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		// Loopback.
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		// RFC 1918.
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.0.1", "private"},
		{"192.168.255.255", "private"},
		// CGNAT.
		{"100.64.0.1", "carrier-grade NAT (shared)"},
		{"100.127.255.255", "carrier-grade NAT (shared)"},
		// Link-local and metadata.
		{"169.254.0.1", "link-local"},
		{"169.254.169.253", "link-local"},
		{"169.254.169.254", "cloud metadata"},
		{"169.254.170.2", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata"},
		{"fd00:ec2::253", "private (unique local)"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		// Multicast, broadcast, reserved.
		{"224.0.0.1", "multicast"},
		{"239.255.255.255", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"ff02::1", "multicast"},
		{"ff05::2%eth0", "multicast"},
		// Other special IPv4.
		{"192.0.0.170", "IETF protocol assignment"},
		{"192.0.2.1", "documentation"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"192.88.99.1", "6to4 relay anycast"},
		// IPv6 special.
		{"fc00::1", "private (unique local)"},
		{"fdff:ffff::1", "private (unique local)"},
		{"fec0::1", "site-local (deprecated)"},
		{"2001:db8::1", "documentation"},
		{"100::1", "discard-only"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"64:ff9b:1::a00:1", "local-use NAT64"},
		{"64:ff9b:2::1", "reserved"}, // outside 2000::/3
		{"fe00::1", "reserved"},
		{"4000::1", "reserved"},
		{"1fff:ffff::1", "reserved"},
		// IPv4-mapped forms are judged by their IPv4 address.
		{"::ffff:127.0.0.1", "loopback (IPv4-mapped)"},
		{"::ffff:10.1.2.3", "private (IPv4-mapped)"},
		{"::ffff:169.254.169.254", "cloud metadata (IPv4-mapped)"},
		{"::ffff:0.0.0.0", "unspecified (IPv4-mapped)"},
		{"::ffff:7f00:1", "loopback (IPv4-mapped)"},
		// IPv4-compatible forms are refused outright.
		{"::127.0.0.1", "IPv4-compatible (deprecated)"},
		{"::10.0.0.1", "IPv4-compatible (deprecated)"},
		{"::8.8.8.8", "IPv4-compatible (deprecated)"},
		// NAT64 and 6to4 of blocked IPv4.
		{"64:ff9b::7f00:1", "loopback (NAT64)"},
		{"64:ff9b::a9fe:a9fe", "cloud metadata (NAT64)"},
		{"64:ff9b::10.0.0.1", "private (NAT64)"},
		{"2002:a00:1::1", "private (6to4)"},
		{"2002:7f00:1::1", "loopback (6to4)"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			err := Check(addr)
			if validationRefuses(t, addr) {
				// The dial guard refuses whatever validation refuses, and names why.
				assert.NotEmpty(t, tt.reason, "validation refuses it, so must the guard")
			}
			if tt.reason == "" {
				assert.NoError(t, err)
				return
			}
			var be *BlockedError
			require.ErrorAs(t, err, &be)
			assert.Equal(t, tt.reason, be.Reason)
			assert.Equal(t, addr, be.Addr)
			assert.True(t, be.Permanent())
		})
	}
	assert.Error(t, Check(netip.Addr{}), "the zero Addr is refused")
}

func TestBlockedErrorMessage(t *testing.T) {
	err := Check(netip.MustParseAddr("10.0.0.1"))
	assert.EqualError(t, err, "address 10.0.0.1 is private")
}

func TestControl(t *testing.T) {
	assert.NoError(t, control("tcp4", "8.8.8.8:443", nil))
	assert.NoError(t, control("tcp6", "[2606:4700:4700::1111]:443", nil))
	var be *BlockedError
	assert.ErrorAs(t, control("tcp4", "127.0.0.1:80", nil), &be)
	assert.ErrorAs(t, control("tcp6", "[fe80::1%lo]:80", nil), &be)
	assert.Error(t, control("tcp", "localhost:80", nil), "fails closed on a name")
	assert.Error(t, control("tcp", "garbage", nil))
}

func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestClientRefusesLoopbackUnlessAllowed(t *testing.T) {
	var hits atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	})

	t.Run("refused", func(t *testing.T) {
		c := NewClient(Options{})
		resp, err := c.Get(srv.URL)
		if resp != nil {
			resp.Body.Close()
		}
		require.Error(t, err)
		var be *BlockedError
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "loopback", be.Reason)
		assert.Equal(t, netip.MustParseAddr("127.0.0.1"), be.Addr)
		assert.Equal(t, int32(0), hits.Load(), "the receiver never saw the request")
	})
	t.Run("refused via a name", func(t *testing.T) {
		u, err := url.Parse(srv.URL)
		require.NoError(t, err)
		u.Host = net.JoinHostPort("localhost", u.Port())
		resp, err := NewClient(Options{}).Get(u.String())
		if resp != nil {
			resp.Body.Close()
		}
		var be *BlockedError
		require.ErrorAs(t, err, &be)
		assert.True(t, be.Addr.IsLoopback())
		assert.Equal(t, int32(0), hits.Load())
	})
	t.Run("allowed", func(t *testing.T) {
		resp, err := NewClient(Options{AllowPrivate: true}).Get(srv.URL)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "ok", string(body))
		assert.Equal(t, int32(1), hits.Load())
	})
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Bool
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/internal" {
			followed.Store(true)
			return
		}
		http.Redirect(w, r, "/internal", http.StatusTemporaryRedirect)
	})
	resp, err := NewClient(Options{AllowPrivate: true}).Post(srv.URL+"/hook", "application/json", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	assert.Equal(t, "/internal", resp.Header.Get("Location"))
	assert.False(t, followed.Load())
}

func TestClientIgnoresProxyEnvironment(t *testing.T) {
	var proxied atomic.Bool
	proxy := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		proxied.Store(true)
		w.WriteHeader(http.StatusTeapot)
	})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	resp, err := NewClient(Options{AllowPrivate: true}).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.False(t, proxied.Load())
}

func TestClientHonoursContextDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := NewClient(Options{AllowPrivate: true}).Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
}

// literalURL is a webhook URL whose host is the IP literal a.
func literalURL(a netip.Addr) string {
	if a.Is4() {
		return "http://" + a.String() + "/hook"
	}
	return "http://[" + strings.ReplaceAll(a.String(), "%", "%25") + "]/hook"
}

// validate runs create-time validation, private targets disallowed, on a
// webhook whose URL targets a.
func validate(a netip.Addr) error {
	w := &webhook.Webhook{
		Name: "n", URL: literalURL(a), Method: "POST", Events: []string{"custom"},
		Status: webhook.StatusActive, AuthType: webhook.AuthNone,
		Retry: webhook.DefaultRetryPolicy(), TimeoutMS: webhook.DefaultTimeoutMS,
	}
	return w.Validate(false)
}

// validationRefuses reports whether create-time validation refuses a URL
// targeting a, failing the test if it refuses it for anything but the URL.
func validationRefuses(t *testing.T, a netip.Addr) bool {
	t.Helper()
	err := validate(a)
	if err != nil {
		require.Equal(t, "url", webhook.ErrorField(err), "%s: %v", a, err)
	}
	return err != nil
}

// dial runs the dial guard on a resolved address a, as the dialer calls it.
func dial(a netip.Addr) error {
	return control("tcp", netip.AddrPortFrom(a, 443).String(), nil)
}

// Create-time validation (private targets disallowed) and the dial guard
// agree on every address: a URL accepted at create is never refused at every
// attempt for its literal address, and what the guard refuses cannot be
// configured as a literal. Both name the same reason.
func TestCreateAndDialAgree(t *testing.T) {
	tests := []struct {
		addr    string
		refused bool
	}{
		// Public addresses pass both.
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.216.34", false},
		{"100.63.255.255", false}, // just below CGNAT
		{"100.128.0.0", false},    // just above CGNAT
		{"172.32.0.1", false},
		{"2606:4700:4700::1111", false},
		{"2a00:1450:4001:80b::200e", false},
		{"2001:4860:4860::8888", false},
		{"2001:1::1", false},            // just above Teredo
		{"2001:db9::1", false},          // just above documentation
		{"3fff:ffff::1", false},         // top of global unicast
		{"::ffff:93.184.216.34", false}, // IPv4-mapped public
		{"64:ff9b::5db8:d822", false},   // NAT64 of a public address
		{"2002:5db8:d822::1", false},    // 6to4 of a public address

		// Teredo and local-use NAT64: once refused only by the guard.
		{"2001::1", true},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", true},
		{"64:ff9b:1::1", true},
		{"64:ff9b:1::a00:1", true},
		// Outside global unicast: once refused only by the guard.
		{"4000::1", true},
		{"1fff:ffff::1", true},
		{"64:ff9b:2::1", true},
		{"fe00::1", true},
		// Cloud metadata.
		{"169.254.169.254", true},
		{"169.254.170.2", true},
		{"fd00:ec2::254", true},
		{"100.100.100.200", true},
		// Loopback, unspecified, private, CGNAT, link-local.
		{"127.0.0.1", true},
		{"::1", true},
		{"0.0.0.0", true},
		{"::", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"192.168.1.1", true},
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"169.254.1.1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		// ULA and site-local.
		{"fc00::1", true},
		{"fdff:ffff::1", true},
		{"fec0::1", true},
		// Multicast and broadcast.
		{"224.0.0.1", true},
		{"239.255.255.255", true},
		{"255.255.255.255", true},
		{"ff02::1", true},
		{"ff05::2%eth0", true},
		// Documentation, benchmarking, reserved.
		{"192.0.2.1", true},
		{"198.18.0.1", true},
		{"240.0.0.1", true},
		{"2001:db8::1", true},
		{"3fff::1", true},
		{"100::1", true},
		// IPv4 inside IPv6: mapped, compatible, NAT64, 6to4.
		{"::ffff:127.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:0.0.0.0", true},
		{"::127.0.0.1", true},
		{"::8.8.8.8", true},
		{"64:ff9b::7f00:1", true},
		{"64:ff9b::a9fe:a9fe", true},
		{"2002:7f00:1::1", true},
		{"2002:a9fe:a9fe::1", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			created, dialled := validate(a), dial(a)
			if !tt.refused {
				assert.NoError(t, created, "create accepts %s", literalURL(a))
				assert.NoError(t, dialled, "the guard lets %s through", a)
				return
			}
			require.Error(t, created, "create refuses %s", literalURL(a))
			assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(created))
			assert.Equal(t, "url", webhook.ErrorField(created))
			var be *BlockedError
			require.ErrorAs(t, dialled, &be, "the guard refuses %s", a)
			assert.True(t, be.Permanent())
			assert.Contains(t, webhook.ErrorMessage(created), be.Reason, "both name the same reason")
		})
	}
}

// The same agreement, sampled over random IPv4 addresses and IPv6 addresses
// in and around every range of the table.
func TestCreateAndDialAgreeSampled(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var prefixes6 []netip.Prefix
	for _, r := range netguard.Ranges() {
		if r.Prefix.Addr().Is6() {
			prefixes6 = append(prefixes6, r.Prefix)
		}
	}
	prefixes6 = append(prefixes6, netip.MustParsePrefix("2000::/3"), netip.MustParsePrefix("::/0"))
	random := func(p netip.Prefix) netip.Addr {
		b := p.Addr().As16()
		for i := p.Bits(); i < 128; i++ {
			if rng.IntN(2) == 1 {
				b[i/8] |= 1 << (7 - i%8)
			}
		}
		return netip.AddrFrom16(b)
	}
	for range 50000 {
		var a netip.Addr
		if rng.IntN(2) == 0 {
			a = netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
		} else {
			a = random(prefixes6[rng.IntN(len(prefixes6))])
		}
		if refused, blocked := validationRefuses(t, a), dial(a) != nil; refused != blocked {
			t.Fatalf("%s: create refuses: %v, dial guard refuses: %v", a, refused, blocked)
		}
	}
}

// FuzzCreateAndDialAgree: for any IPv4 or IPv6 address (with any zone),
// create-time validation of a URL naming it and the dial guard given it as
// the resolved address refuse it together or not at all, for the same
// reason.
func FuzzCreateAndDialAgree(f *testing.F) {
	for _, s := range []string{
		"8.8.8.8", "127.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "255.255.255.255",
		"::", "::1", "fd00:ec2::254", "fe80::1", "ff02::1", "2001::1", "64:ff9b:1::1",
		"::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1",
		"2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "4000::1",
	} {
		a := netip.MustParseAddr(s)
		f.Add(a.AsSlice(), "")
	}
	f.Add(netip.MustParseAddr("fe80::1").AsSlice(), "eth0")
	f.Fuzz(func(t *testing.T, b []byte, zone string) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		if a.Is6() && zone != "" {
			if !validZone(zone) {
				return // not an interface name or index a URL could carry
			}
			a = a.WithZone(zone)
		}
		created, dialled := validate(a), dial(a)
		if (created != nil) != (dialled != nil) {
			t.Fatalf("%s: create says %v, the dial guard says %v", a, created, dialled)
		}
		if created == nil {
			return
		}
		var be *BlockedError
		if !errors.As(dialled, &be) {
			t.Fatalf("%s: the guard refuses with %v, not a *BlockedError", a, dialled)
		}
		if webhook.ErrorField(created) != "url" || !strings.Contains(webhook.ErrorMessage(created), be.Reason) {
			t.Fatalf("%s: create says %v, the guard %q", a, created, be.Reason)
		}
	})
}

// validZone reports whether z looks like an interface name or index
// (at most IFNAMSIZ-1 = 15 characters on Linux; a few more are allowed).
func validZone(z string) bool {
	if len(z) > 64 {
		return false
	}
	for i := 0; i < len(z); i++ {
		c := z[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
