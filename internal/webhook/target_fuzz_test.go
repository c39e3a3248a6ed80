package webhook_test

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/systemprompt-io/webhooks/internal/netguard"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// targetWebhook is a valid webhook but for its URL.
func targetWebhook(raw string) *webhook.Webhook {
	return &webhook.Webhook{
		Name: "n", URL: raw, Method: "POST", Events: []string{"custom"},
		Status: webhook.StatusActive, AuthType: webhook.AuthNone,
		Retry: webhook.DefaultRetryPolicy(), TimeoutMS: webhook.DefaultTimeoutMS,
	}
}

// FuzzCheckURL checks the target URL rules on any string:
//   - a refusal is a validation_failed error about the url;
//   - allowing private targets never refuses what disallowing them accepts;
//   - an accepted URL (private targets disallowed) whose host is an IP
//     literal is outside every blocked range, and the dial guard lets it
//     through too;
//   - an accepted URL re-parses, from its own String form, to the same host,
//     and is accepted again (unless escaping made it too long);
//   - an accepted host name has labels of at most 63 and at most 253 octets
//     in its ASCII form.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://example.com/webhook",
		"http://example.com:8080/a?b=c",
		"HTTPS://example.com/",
		"https://93.184.216.34/hook",
		"https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
		"https://bücher.example/hook",
		"https://localhost.example.com/",
		"http://127.0.0.1:3000/",
		"http://[::1]/",
		"http://0.0.0.0/",
		"http://[::]/",
		"http://10.1.2.3/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/",
		"http://100.100.100.200/",
		"http://100.64.0.1/",
		"http://224.0.0.1/",
		"http://[ff02::1]/",
		"http://[fc00::1]/",
		"http://[fe80::1%25eth0]/",
		"http://[::ffff:127.0.0.1]/",
		"http://[::ffff:a9fe:a9fe]/",
		"http://[::ffff:93.184.216.34]/",
		"http://[::127.0.0.1]/",
		"http://[64:ff9b::a00:1]/",
		"http://[64:ff9b::5db8:d822]/",
		"http://[64:ff9b:1::1]/",
		"http://[2002:7f00:1::]/",
		"http://[2001::1]/",
		"http://[4000::1]/",
		"http://2130706433/",
		"http://0x7f000001/",
		"http://127.1/",
		"http://0177.0.0.1/",
		"http://localhost./",
		"http://ｌｏｃａｌｈｏｓｔ/",
		"http://metadata.google.internal/",
		"http://printer.local/",
		"https://user:pass@example.com/",
		"https:///path",
		"https://:443/path",
		"https://example.com:99999/",
		"https://example.com:/",
		"https://a..b/hook",
		"https://" + strings.Repeat("a", 64) + ".example.com/",
		"https://" + strings.Repeat("ü", 58) + ".example/",
		"javascript:alert(1)",
		"http:example.com",
		"https://example.com/\r\nX: y",
		" https://example.com/",
		"http://%31%32%37.0.0.1/",
		"http://[127.0.0.1]/",
		"http://8.8.8.8./",
		"http://exa%41mple.com/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		strict := targetWebhook(raw).Validate(false)
		lax := targetWebhook(raw).Validate(true)
		for _, err := range []error{strict, lax} {
			if err != nil && (webhook.ErrorCode(err) != webhook.EInvalid || webhook.ErrorField(err) != "url") {
				t.Fatalf("%q: refused with %v, not a url validation error", raw, err)
			}
		}
		if strict == nil && lax != nil {
			t.Fatalf("%q: accepted with private targets disallowed but refused with them allowed: %v", raw, lax)
		}
		if strict != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%q: accepted but does not parse: %v", raw, err)
		}
		host := u.Hostname()
		if a, err := netip.ParseAddr(host); err == nil {
			if r := netguard.Reason(a); r != "" {
				t.Fatalf("%q: accepted, but its address %s is %s", raw, a, r)
			}
			if err := safehttp.Check(a); err != nil {
				t.Fatalf("%q: accepted, but the dial guard refuses it: %v", raw, err)
			}
		} else {
			checkDNSLengths(t, raw, host)
		}
		again := u.String()
		u2, err := url.Parse(again)
		if err != nil {
			t.Fatalf("%q: accepted, but its String form %q does not parse: %v", raw, again, err)
		}
		if u2.Hostname() != host {
			t.Fatalf("%q: host %q re-parses from %q as %q", raw, host, again, u2.Hostname())
		}
		// Escaping can make the String form longer than the limit (é in a
		// path is %C3%A9); any other refusal would be a rule that reads the
		// same URL two ways.
		if err := targetWebhook(again).Validate(false); err != nil && len(again) <= webhook.MaxURLLen {
			t.Fatalf("%q: accepted, but its String form %q is refused: %v", raw, again, err)
		}
	})
}

// checkDNSLengths fails unless the ASCII form of host fits DNS: labels of at
// most 63 octets, at most 253 in all (a trailing dot aside).
func checkDNSLengths(t *testing.T, raw, host string) {
	t.Helper()
	name := strings.TrimSuffix(host, ".")
	if !isASCII(name) {
		// The validator maps it with IDNA; its lengths were checked on that
		// form, which only makes labels longer than the UTF-8 count can tell.
		return
	}
	if len(name) > 253 {
		t.Fatalf("%q: accepted with a %d-octet host name", raw, len(name))
	}
	for _, l := range strings.Split(name, ".") {
		if len(l) > 63 {
			t.Fatalf("%q: accepted with a %d-octet label", raw, len(l))
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
