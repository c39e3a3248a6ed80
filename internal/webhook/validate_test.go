package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostOf returns a host name of exactly n characters in labels of at most 63.
func hostOf(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.Repeat("a", min(63, n-b.Len())))
	}
	return b.String()
}

func validWebhook() *Webhook {
	return &Webhook{
		ID:        "wh_0190f0f0f0f07000800000000000abcd",
		Name:      "My Webhook",
		URL:       "https://example.com/webhook",
		Method:    "POST",
		Headers:   map[string]string{"X-Custom": "value"},
		Events:    []string{"agent.started", "agent.failed"},
		Status:    StatusActive,
		AuthType:  AuthNone,
		Retry:     DefaultRetryPolicy(),
		TimeoutMS: DefaultTimeoutMS,
	}
}

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	creds := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	manyHeaders := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("X-H%d", i)] = "v"
		}
		return m
	}

	tests := []struct {
		name  string
		edit  func(w *Webhook)
		field string // "" means valid
	}{
		{"valid", func(w *Webhook) {}, ""},

		// name
		{"name missing", func(w *Webhook) { w.Name = "" }, "name"},
		{"name blank", func(w *Webhook) { w.Name = "   " }, "name"},
		{"name 256 chars", func(w *Webhook) { w.Name = long(256) }, ""},
		{"name 257 chars", func(w *Webhook) { w.Name = long(257) }, "name"},
		{"name 256 runes multibyte", func(w *Webhook) { w.Name = strings.Repeat("é", 256) }, ""},
		{"name 257 runes multibyte", func(w *Webhook) { w.Name = strings.Repeat("é", 257) }, "name"},
		{"name with newline", func(w *Webhook) { w.Name = "a\nb" }, "name"},
		{"name with tab", func(w *Webhook) { w.Name = "a\tb" }, "name"},
		{"name with DEL", func(w *Webhook) { w.Name = "a\x7fb" }, "name"},
		{"name with C1 control", func(w *Webhook) { w.Name = "a\u0085b" }, "name"},
		{"name with RLO", func(w *Webhook) { w.Name = "invoice\u202Efdp.exe" }, "name"},
		{"name with LRE", func(w *Webhook) { w.Name = "a\u202Ab" }, "name"},
		{"name with PDF", func(w *Webhook) { w.Name = "a\u202Cb" }, "name"},
		{"name with LRI", func(w *Webhook) { w.Name = "a\u2066b" }, "name"},
		{"name with RLI", func(w *Webhook) { w.Name = "a\u2067b" }, "name"},
		{"name with FSI", func(w *Webhook) { w.Name = "a\u2068b" }, "name"},
		{"name with PDI", func(w *Webhook) { w.Name = "a\u2069b" }, "name"},
		{"name with LRM", func(w *Webhook) { w.Name = "a\u200Eb" }, "name"},
		{"name with zero-width space", func(w *Webhook) { w.Name = "a\u200Bb" }, "name"},
		{"name with zero-width joiner", func(w *Webhook) { w.Name = "a\u200Db" }, "name"},
		{"name with BOM", func(w *Webhook) { w.Name = "\uFEFFname" }, "name"},
		{"name with soft hyphen", func(w *Webhook) { w.Name = "a\u00ADb" }, "name"},
		{"name with Arabic letter mark", func(w *Webhook) { w.Name = "a\u061Cb" }, "name"},
		{"name with line separator", func(w *Webhook) { w.Name = "a\u2028b" }, "name"},
		{"name with paragraph separator", func(w *Webhook) { w.Name = "a\u2029b" }, "name"},
		{"name with invalid UTF-8", func(w *Webhook) { w.Name = "a\xffb" }, "name"},
		{"name with lone surrogate bytes", func(w *Webhook) { w.Name = "a\xed\xa0\x80b" }, "name"},
		{"name with no-break space ok", func(w *Webhook) { w.Name = "a\u00A0b" }, ""},
		{"name in Hebrew ok", func(w *Webhook) { w.Name = "שלום עולם" }, ""},
		{"name with emoji ok", func(w *Webhook) { w.Name = "deploys 🚀" }, ""},
		{"name with CJK ok", func(w *Webhook) { w.Name = "通知フック" }, ""},

		// url
		{"url missing", func(w *Webhook) { w.URL = "" }, "url"},
		{"url relative", func(w *Webhook) { w.URL = "/webhook" }, "url"},
		{"url no scheme", func(w *Webhook) { w.URL = "example.com/webhook" }, "url"},
		{"url ftp", func(w *Webhook) { w.URL = "ftp://example.com/x" }, "url"},
		{"url javascript", func(w *Webhook) { w.URL = "javascript:alert(1)" }, "url"},
		{"url opaque http", func(w *Webhook) { w.URL = "http:example.com" }, "url"},
		{"url scheme upper", func(w *Webhook) { w.URL = "HTTPS://example.com/" }, ""},
		{"url http ok", func(w *Webhook) { w.URL = "http://example.com:8080/a?b=c" }, ""},
		{"url userinfo", func(w *Webhook) { w.URL = "https://user:pass@example.com/" }, "url"},
		{"url user only", func(w *Webhook) { w.URL = "https://user@example.com/" }, "url"},
		{"url no host", func(w *Webhook) { w.URL = "https:///path" }, "url"},
		{"url port only", func(w *Webhook) { w.URL = "https://:443/path" }, "url"},
		{"url bad port", func(w *Webhook) { w.URL = "https://example.com:99999/" }, "url"},
		{"url port zero", func(w *Webhook) { w.URL = "https://example.com:0/" }, "url"},
		{"url empty port", func(w *Webhook) { w.URL = "https://example.com:/" }, "url"},
		{"url space in host", func(w *Webhook) { w.URL = "https://exa mple.com/" }, "url"},
		{"url leading space", func(w *Webhook) { w.URL = " https://example.com/" }, "url"},
		{"url CRLF", func(w *Webhook) { w.URL = "https://example.com/\r\nX: y" }, "url"},
		{"url invalid UTF-8 in path", func(w *Webhook) { w.URL = "https://example.com/h\x8a" }, "url"},
		{"url UTF-8 in path ok", func(w *Webhook) { w.URL = "https://example.com/café" }, ""},
		{"url 2048", func(w *Webhook) { w.URL = "https://example.com/" + long(2048-20) }, ""},
		{"url 2049", func(w *Webhook) { w.URL = "https://example.com/" + long(2049-20) }, "url"},
		{"url public ipv4", func(w *Webhook) { w.URL = "https://93.184.216.34/hook" }, ""},
		{"url public ipv6", func(w *Webhook) { w.URL = "https://[2606:2800:220:1:248:1893:25c8:1946]/hook" }, ""},
		{"url idn", func(w *Webhook) { w.URL = "https://bücher.example/hook" }, ""},
		{"url double dot host", func(w *Webhook) { w.URL = "https://a..b/hook" }, "url"},
		{"url leading dot host", func(w *Webhook) { w.URL = "https://.example.com/hook" }, "url"},
		{"url label 63", func(w *Webhook) { w.URL = "https://" + long(63) + ".example.com/" }, ""},
		{"url label 64", func(w *Webhook) { w.URL = "https://" + long(64) + ".example.com/" }, "url"},
		{"url last label 64", func(w *Webhook) { w.URL = "https://example." + long(64) + "/" }, "url"},
		{"url label 64 with trailing dot", func(w *Webhook) { w.URL = "https://example." + long(64) + "./" }, "url"},
		{"url idn label 63 as punycode", func(w *Webhook) { w.URL = "https://" + strings.Repeat("ü", 57) + ".example/" }, ""},
		{"url idn label 64 as punycode", func(w *Webhook) { w.URL = "https://" + strings.Repeat("ü", 58) + ".example/" }, "url"},
		{"url host 253", func(w *Webhook) { w.URL = "https://" + hostOf(253) + "/" }, ""},
		{"url host 253 with trailing dot", func(w *Webhook) { w.URL = "https://" + hostOf(253) + "./" }, ""},
		{"url host 254", func(w *Webhook) { w.URL = "https://" + hostOf(254) + "/" }, "url"},

		// private targets (allowPrivate=false)
		{"loopback v4", func(w *Webhook) { w.URL = "http://127.0.0.1:3000/" }, "url"},
		{"loopback v4 other", func(w *Webhook) { w.URL = "http://127.8.9.10/" }, "url"},
		{"loopback v6", func(w *Webhook) { w.URL = "http://[::1]/" }, "url"},
		{"unspecified v4", func(w *Webhook) { w.URL = "http://0.0.0.0/" }, "url"},
		{"unspecified v6", func(w *Webhook) { w.URL = "http://[::]/" }, "url"},
		{"private 10", func(w *Webhook) { w.URL = "http://10.1.2.3/" }, "url"},
		{"private 172.16", func(w *Webhook) { w.URL = "http://172.16.0.1/" }, "url"},
		{"private 172.31", func(w *Webhook) { w.URL = "http://172.31.255.255/" }, "url"},
		{"public 172.32", func(w *Webhook) { w.URL = "http://172.32.0.1/" }, ""},
		{"private 192.168", func(w *Webhook) { w.URL = "http://192.168.1.1/" }, "url"},
		{"link-local", func(w *Webhook) { w.URL = "http://169.254.1.1/" }, "url"},
		{"aws metadata", func(w *Webhook) { w.URL = "http://169.254.169.254/latest/meta-data/" }, "url"},
		{"aws metadata v6", func(w *Webhook) { w.URL = "http://[fd00:ec2::254]/" }, "url"},
		{"alibaba metadata", func(w *Webhook) { w.URL = "http://100.100.100.200/" }, "url"},
		{"cgnat", func(w *Webhook) { w.URL = "http://100.64.0.1/" }, "url"},
		{"multicast v4", func(w *Webhook) { w.URL = "http://224.0.0.1/" }, "url"},
		{"broadcast", func(w *Webhook) { w.URL = "http://255.255.255.255/" }, "url"},
		{"multicast v6", func(w *Webhook) { w.URL = "http://[ff02::1]/" }, "url"},
		{"ula v6", func(w *Webhook) { w.URL = "http://[fc00::1]/" }, "url"},
		{"link-local v6", func(w *Webhook) { w.URL = "http://[fe80::1]/" }, "url"},
		{"link-local v6 zone", func(w *Webhook) { w.URL = "http://[fe80::1%25eth0]/" }, "url"},
		{"mapped loopback", func(w *Webhook) { w.URL = "http://[::ffff:127.0.0.1]/" }, "url"},
		{"mapped metadata hex", func(w *Webhook) { w.URL = "http://[::ffff:a9fe:a9fe]/" }, "url"},
		{"mapped public", func(w *Webhook) { w.URL = "http://[::ffff:93.184.216.34]/" }, ""},
		{"ipv4-compatible loopback", func(w *Webhook) { w.URL = "http://[::127.0.0.1]/" }, "url"},
		{"nat64 private", func(w *Webhook) { w.URL = "http://[64:ff9b::a00:1]/" }, "url"},
		{"nat64 public", func(w *Webhook) { w.URL = "http://[64:ff9b::5db8:d822]/" }, ""},
		{"6to4 private", func(w *Webhook) { w.URL = "http://[2002:7f00:1::]/" }, "url"},
		{"6to4 public", func(w *Webhook) { w.URL = "http://[2002:5db8:d822::1]/" }, ""},
		{"teredo", func(w *Webhook) { w.URL = "http://[2001::1]/" }, "url"},
		{"local-use nat64", func(w *Webhook) { w.URL = "http://[64:ff9b:1::1]/" }, "url"},
		{"reserved v6 outside 2000::/3", func(w *Webhook) { w.URL = "http://[4000::1]/" }, "url"},
		{"documentation v6 3fff::/20", func(w *Webhook) { w.URL = "http://[3fff::1]/" }, "url"},
		{"decimal loopback", func(w *Webhook) { w.URL = "http://2130706433/" }, "url"},
		{"hex loopback", func(w *Webhook) { w.URL = "http://0x7f000001/" }, "url"},
		{"short loopback", func(w *Webhook) { w.URL = "http://127.1/" }, "url"},
		{"octal loopback", func(w *Webhook) { w.URL = "http://0177.0.0.1/" }, "url"},
		{"leading zero public", func(w *Webhook) { w.URL = "http://093.184.216.034/" }, "url"},
		{"numeric tld", func(w *Webhook) { w.URL = "http://example.123/" }, "url"},
		{"localhost", func(w *Webhook) { w.URL = "http://localhost:3000/" }, "url"},
		{"localhost upper", func(w *Webhook) { w.URL = "http://LOCALHOST/" }, "url"},
		{"localhost trailing dot", func(w *Webhook) { w.URL = "http://localhost./" }, "url"},
		{"sub.localhost", func(w *Webhook) { w.URL = "http://api.localhost/" }, "url"},
		{"fullwidth localhost", func(w *Webhook) { w.URL = "http://ｌｏｃａｌｈｏｓｔ/" }, "url"},
		{"gcp metadata", func(w *Webhook) { w.URL = "http://metadata.google.internal/computeMetadata/v1/" }, "url"},
		{"metadata short", func(w *Webhook) { w.URL = "http://metadata/" }, "url"},
		{"dot internal", func(w *Webhook) { w.URL = "http://db.corp.internal/" }, "url"},
		{"dot local", func(w *Webhook) { w.URL = "http://printer.local/" }, "url"},
		{"home.arpa", func(w *Webhook) { w.URL = "http://nas.home.arpa/" }, "url"},
		{"localhost lookalike is public", func(w *Webhook) { w.URL = "https://localhost.example.com/" }, ""},

		// method
		{"method PUT", func(w *Webhook) { w.Method = "PUT" }, ""},
		{"method PATCH", func(w *Webhook) { w.Method = "PATCH" }, ""},
		{"method GET", func(w *Webhook) { w.Method = "GET" }, "method"},
		{"method DELETE", func(w *Webhook) { w.Method = "DELETE" }, "method"},
		{"method empty", func(w *Webhook) { w.Method = "" }, "method"},
		{"method lower", func(w *Webhook) { w.Method = "post" }, "method"},

		// events
		{"events empty", func(w *Webhook) { w.Events = nil }, "events"},
		{"event unknown", func(w *Webhook) { w.Events = []string{"agent.exploded"} }, "events"},
		{"event empty string", func(w *Webhook) { w.Events = []string{""} }, "events"},
		{"event duplicate", func(w *Webhook) { w.Events = []string{"custom", "custom"} }, "events"},
		{"event case", func(w *Webhook) { w.Events = []string{"Agent.Started"} }, "events"},
		{"all events", func(w *Webhook) {
			w.Events = nil
			for _, e := range EventTypes() {
				w.Events = append(w.Events, e.Name)
			}
		}, ""},

		// status
		{"status inactive", func(w *Webhook) { w.Status = StatusInactive }, ""},
		{"status paused", func(w *Webhook) { w.Status = "paused" }, "status"},
		{"status empty", func(w *Webhook) { w.Status = "" }, "status"},

		// auth
		{"auth unknown", func(w *Webhook) { w.AuthType = "oauth" }, "auth_type"},
		{"auth empty", func(w *Webhook) { w.AuthType = "" }, "auth_type"},
		{"none with creds", func(w *Webhook) { w.Credentials = creds("token", "x") }, "auth_credentials"},
		{"none empty creds map", func(w *Webhook) { w.Credentials = map[string]string{} }, ""},
		{"basic ok", func(w *Webhook) { w.AuthType, w.Credentials = AuthBasic, creds("username", "u", "password", "p") }, ""},
		{"basic no creds", func(w *Webhook) { w.AuthType = AuthBasic }, "auth_credentials.username"},
		{"basic no password", func(w *Webhook) { w.AuthType, w.Credentials = AuthBasic, creds("username", "u") }, "auth_credentials.password"},
		{"basic empty password", func(w *Webhook) { w.AuthType, w.Credentials = AuthBasic, creds("username", "u", "password", "") }, "auth_credentials.password"},
		{"basic colon user", func(w *Webhook) { w.AuthType, w.Credentials = AuthBasic, creds("username", "a:b", "password", "p") }, "auth_credentials.username"},
		{"basic extra key", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthBasic, creds("username", "u", "password", "p", "token", "t")
		}, "auth_credentials.token"},
		{"bearer ok", func(w *Webhook) { w.AuthType, w.Credentials = AuthBearer, creds("token", "secret123") }, ""},
		{"bearer missing token", func(w *Webhook) { w.AuthType, w.Credentials = AuthBearer, creds() }, "auth_credentials.token"},
		{"bearer typo", func(w *Webhook) { w.AuthType, w.Credentials = AuthBearer, creds("tokne", "x") }, "auth_credentials.tokne"},
		{"bearer CRLF", func(w *Webhook) { w.AuthType, w.Credentials = AuthBearer, creds("token", "a\r\nX-Evil: 1") }, "auth_credentials.token"},
		{"api-key ok", func(w *Webhook) { w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k") }, ""},
		{"api-key header", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k", "header_name", "X-Key")
		}, ""},
		{"api-key authorization header", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k", "header_name", "Authorization")
		}, ""},
		{"api-key missing", func(w *Webhook) { w.AuthType, w.Credentials = AuthAPIKey, creds("header_name", "X-Key") }, "auth_credentials.api_key"},
		{"api-key bad header", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k", "header_name", "X Key")
		}, "auth_credentials.header_name"},
		{"api-key empty header", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k", "header_name", "")
		}, "auth_credentials.header_name"},
		{"api-key reserved header", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k", "header_name", "X-Webhook-Signature")
		}, "auth_credentials.header_name"},
		{"api-key host header", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k", "header_name", "host")
		}, "auth_credentials.header_name"},
		{"api-key CR value", func(w *Webhook) { w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k\r") }, "auth_credentials.api_key"},
		{"api-key TAB value", func(w *Webhook) { w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k\tk") }, "auth_credentials.api_key"},
		{"bearer TAB", func(w *Webhook) { w.AuthType, w.Credentials = AuthBearer, creds("token", "a\tb") }, "auth_credentials.token"},
		{"hmac ok", func(w *Webhook) { w.AuthType, w.Credentials = AuthHMAC, creds("secret", "shared-secret") }, ""},
		{"hmac whsec ok", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthHMAC, creds("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
		}, ""},
		{"hmac whsec bad base64", func(w *Webhook) { w.AuthType, w.Credentials = AuthHMAC, creds("secret", "whsec_!!!") }, "auth_credentials.secret"},
		{"hmac whsec empty", func(w *Webhook) { w.AuthType, w.Credentials = AuthHMAC, creds("secret", "whsec_") }, "auth_credentials.secret"},
		{"hmac no secret", func(w *Webhook) { w.AuthType = AuthHMAC }, "auth_credentials.secret"},
		{"creds 4 KiB", func(w *Webhook) { w.AuthType, w.Credentials = AuthBearer, creds("token", long(4096-5)) }, ""},
		{"creds over 4 KiB", func(w *Webhook) { w.AuthType, w.Credentials = AuthBearer, creds("token", long(4096-4)) }, "auth_credentials"},
		// oauth2's keys are internal/oauth2's to check (manage runs it); here only their size.
		{"oauth2 keys left to internal/oauth2", func(w *Webhook) { w.AuthType, w.Credentials = AuthOAuth2, creds("anything", "x") }, ""},
		{"oauth2 creds over 4 KiB", func(w *Webhook) { w.AuthType, w.Credentials = AuthOAuth2, creds("client_secret", long(4096-12)) }, "auth_credentials"},

		// headers
		{"no headers", func(w *Webhook) { w.Headers = nil }, ""},
		{"32 headers", func(w *Webhook) { w.Headers = manyHeaders(32) }, ""},
		{"33 headers", func(w *Webhook) { w.Headers = manyHeaders(33) }, "headers"},
		{"header name CRLF", func(w *Webhook) { w.Headers = map[string]string{"X-A\r\nX-B": "v"} }, "headers"},
		{"header name LF", func(w *Webhook) { w.Headers = map[string]string{"X-A\n": "v"} }, "headers"},
		{"header name NUL", func(w *Webhook) { w.Headers = map[string]string{"X-A\x00": "v"} }, "headers"},
		{"header name space", func(w *Webhook) { w.Headers = map[string]string{"X A": "v"} }, "headers"},
		{"header name colon", func(w *Webhook) { w.Headers = map[string]string{"X-A:": "v"} }, "headers"},
		{"header name empty", func(w *Webhook) { w.Headers = map[string]string{"": "v"} }, "headers"},
		{"header name too long", func(w *Webhook) { w.Headers = map[string]string{"X" + long(256): "v"} }, "headers"},
		{"header value CRLF", func(w *Webhook) { w.Headers = map[string]string{"X-A": "v\r\nX-Evil: 1"} }, "headers"},
		{"header value LF", func(w *Webhook) { w.Headers = map[string]string{"X-A": "v\nw"} }, "headers"},
		{"header value CR", func(w *Webhook) { w.Headers = map[string]string{"X-A": "v\rw"} }, "headers"},
		{"header value NUL", func(w *Webhook) { w.Headers = map[string]string{"X-A": "v\x00"} }, "headers"},
		{"header value tab", func(w *Webhook) { w.Headers = map[string]string{"X-A": "a\tb"} }, "headers"},
		{"header value leading tab", func(w *Webhook) { w.Headers = map[string]string{"X-A": "\tb"} }, "headers"},
		{"header value DEL", func(w *Webhook) { w.Headers = map[string]string{"X-A": "a\x7fb"} }, "headers"},
		{"header value ESC", func(w *Webhook) { w.Headers = map[string]string{"X-A": "a\x1b[31mb"} }, "headers"},
		{"header value C1 control", func(w *Webhook) { w.Headers = map[string]string{"X-A": "a\u0085b"} }, "headers"},
		{"header value invalid UTF-8", func(w *Webhook) { w.Headers = map[string]string{"X-A": "a\xffb"} }, "headers"},
		{"header value non-ASCII ok", func(w *Webhook) { w.Headers = map[string]string{"X-A": "café"} }, ""},
		{"header value spaces ok", func(w *Webhook) { w.Headers = map[string]string{"X-A": "a b  c"} }, ""},
		{"header name tab", func(w *Webhook) { w.Headers = map[string]string{"X-A\tB": "v"} }, "headers"},
		{"header name DEL", func(w *Webhook) { w.Headers = map[string]string{"X-A\x7f": "v"} }, "headers"},
		{"header name non-ASCII", func(w *Webhook) { w.Headers = map[string]string{"X-Ä": "v"} }, "headers"},
		{"header name RLO", func(w *Webhook) { w.Headers = map[string]string{"X-\u202EA": "v"} }, "headers"},
		{"header value empty ok", func(w *Webhook) { w.Headers = map[string]string{"X-A": ""} }, ""},
		{"header value too long", func(w *Webhook) { w.Headers = map[string]string{"X-A": long(4097)} }, "headers"},
		{"header Host", func(w *Webhook) { w.Headers = map[string]string{"Host": "evil"} }, "headers"},
		{"header host lower", func(w *Webhook) { w.Headers = map[string]string{"host": "evil"} }, "headers"},
		{"header Content-Length", func(w *Webhook) { w.Headers = map[string]string{"Content-Length": "1"} }, "headers"},
		{"header Content-Type", func(w *Webhook) { w.Headers = map[string]string{"CONTENT-TYPE": "text/plain"} }, "headers"},
		{"header User-Agent", func(w *Webhook) { w.Headers = map[string]string{"User-Agent": "x"} }, "headers"},
		{"header Transfer-Encoding", func(w *Webhook) { w.Headers = map[string]string{"Transfer-Encoding": "chunked"} }, "headers"},
		{"header Connection", func(w *Webhook) { w.Headers = map[string]string{"Connection": "close"} }, "headers"},
		{"header X-Webhook-Signature", func(w *Webhook) { w.Headers = map[string]string{"X-Webhook-Signature": "x"} }, "headers"},
		{"header x-webhook-anything", func(w *Webhook) { w.Headers = map[string]string{"x-webhook-foo": "x"} }, "headers"},
		{"header webhook-id", func(w *Webhook) { w.Headers = map[string]string{"webhook-id": "x"} }, "headers"},
		{"header Webhook-Signature", func(w *Webhook) { w.Headers = map[string]string{"Webhook-Signature": "x"} }, "headers"},
		{"header X-Webhooks-Ok", func(w *Webhook) { w.Headers = map[string]string{"X-Webhooks-Team": "x"} }, ""},
		{"header Authorization with none", func(w *Webhook) { w.Headers = map[string]string{"Authorization": "Token x"} }, ""},
		{"header Authorization with bearer", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthBearer, creds("token", "t")
			w.Headers = map[string]string{"authorization": "x"}
		}, "headers"},
		{"header Authorization with basic", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthBasic, creds("username", "u", "password", "p")
			w.Headers = map[string]string{"Authorization": "x"}
		}, "headers"},
		{"header Authorization with oauth2", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthOAuth2, creds("token_url", "https://auth.example.com/t", "client_id", "c", "client_secret", "s")
			w.Headers = map[string]string{"Authorization": "x"}
		}, "headers"},
		{"header Authorization with api-key default", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k")
			w.Headers = map[string]string{"Authorization": "x"}
		}, ""},
		{"header X-API-Key with api-key default", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k")
			w.Headers = map[string]string{"x-api-key": "x"}
		}, "headers"},
		{"header same as api-key header_name", func(w *Webhook) {
			w.AuthType, w.Credentials = AuthAPIKey, creds("api_key", "k", "header_name", "X-Key")
			w.Headers = map[string]string{"X-KEY": "x"}
		}, "headers"},
		{"header duplicate by case", func(w *Webhook) { w.Headers = map[string]string{"X-A": "1", "x-a": "2"} }, "headers"},

		// timeout
		{"timeout min", func(w *Webhook) { w.TimeoutMS = 1000 }, ""},
		{"timeout max", func(w *Webhook) { w.TimeoutMS = MaxTimeoutMS }, ""},
		{"timeout too small", func(w *Webhook) { w.TimeoutMS = 999 }, "timeout_ms"},
		{"timeout zero", func(w *Webhook) { w.TimeoutMS = 0 }, "timeout_ms"},
		{"timeout negative", func(w *Webhook) { w.TimeoutMS = -1 }, "timeout_ms"},
		{"timeout too big", func(w *Webhook) { w.TimeoutMS = MaxTimeoutMS + 1 }, "timeout_ms"},

		// retry
		{"retry linear", func(w *Webhook) { w.Retry.Strategy = StrategyLinear }, ""},
		{"retry fixed", func(w *Webhook) { w.Retry.Strategy = StrategyFixed }, ""},
		{"retry unknown strategy", func(w *Webhook) { w.Retry.Strategy = "random" }, "retry.strategy"},
		{"retry empty strategy", func(w *Webhook) { w.Retry.Strategy = "" }, "retry.strategy"},
		{"retry attempts 1", func(w *Webhook) { w.Retry.MaxAttempts = 1 }, ""},
		{"retry attempts 20", func(w *Webhook) { w.Retry.MaxAttempts = 20 }, ""},
		{"retry attempts 0", func(w *Webhook) { w.Retry.MaxAttempts = 0 }, "retry.max_attempts"},
		{"retry attempts 21", func(w *Webhook) { w.Retry.MaxAttempts = 21 }, "retry.max_attempts"},
		{"retry initial 0", func(w *Webhook) { w.Retry.InitialDelayMS = 0 }, ""},
		{"retry initial negative", func(w *Webhook) { w.Retry.InitialDelayMS = -1 }, "retry.initial_delay_ms"},
		{"retry initial over max", func(w *Webhook) { w.Retry.InitialDelayMS = 60001 }, "retry.initial_delay_ms"},
		{"retry initial equals max", func(w *Webhook) { w.Retry.InitialDelayMS = 60000 }, ""},
		{"retry max 7 days", func(w *Webhook) { w.Retry.MaxDelayMS = 7 * 24 * 3600 * 1000 }, ""},
		{"retry max over 7 days", func(w *Webhook) { w.Retry.MaxDelayMS = 7*24*3600*1000 + 1 }, "retry.max_delay_ms"},
		{"retry max negative", func(w *Webhook) { w.Retry.MaxDelayMS = -1 }, "retry.max_delay_ms"},
		{"retry zero value", func(w *Webhook) { w.Retry = RetryPolicy{} }, "retry.strategy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := validWebhook()
			tt.edit(w)
			err := w.Validate(false)
			if tt.field == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, EInvalid, ErrorCode(err))
			assert.Equal(t, tt.field, ErrorField(err), "error: %v", err)
			assert.NotEmpty(t, ErrorMessage(err))
		})
	}
}

func TestValidateAllowPrivate(t *testing.T) {
	allowed := []string{
		"http://127.0.0.1:3000/hook", "http://localhost:3000/", "http://[::1]:8080/",
		"http://10.0.0.5/", "http://192.168.1.20/", "http://169.254.169.254/", "http://printer.local/",
	}
	for _, u := range allowed {
		t.Run(u, func(t *testing.T) {
			w := validWebhook()
			w.URL = u
			assert.NoError(t, w.Validate(true))
			assert.Error(t, w.Validate(false))
		})
	}
	// Rules that are not about private targets still hold.
	stillRefused := []string{
		"http://user:pw@127.0.0.1/", "ftp://127.0.0.1/", "http://127.1/", "http://2130706433/", "http://0x7f000001/",
	}
	for _, u := range stillRefused {
		t.Run("refused "+u, func(t *testing.T) {
			w := validWebhook()
			w.URL = u
			err := w.Validate(true)
			require.Error(t, err)
			assert.Equal(t, "url", ErrorField(err))
		})
	}
}

func TestLegacyIPv4(t *testing.T) {
	tests := []struct {
		in      string
		numeric bool
		ip      string // "" when it does not parse
	}{
		{"example.com", false, ""},
		{"2130706433", true, "127.0.0.1"},
		{"0x7f000001", true, "127.0.0.1"},
		{"127.1", true, "127.0.0.1"},
		{"127.0.1", true, "127.0.0.1"},
		{"0177.0.0.1", true, "127.0.0.1"},
		{"0x7f.0x0.0x0.0x1", true, "127.0.0.1"},
		{"1.2.3.4.5", true, ""},
		{"256.1.1.1", true, ""},
		{"1.2.3.256", true, ""},
		{"4294967296", true, ""},
		{"09.1.1.1", true, ""},
		{"a.1", true, ""},
		{"1.a", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ip, numeric := legacyIPv4(tt.in)
			assert.Equal(t, tt.numeric, numeric)
			if tt.ip == "" {
				assert.False(t, ip.IsValid(), "got %v", ip)
			} else {
				assert.Equal(t, tt.ip, ip.String())
			}
		})
	}
}

func TestAuthHeader(t *testing.T) {
	assert.Equal(t, "", (&Webhook{AuthType: AuthNone}).AuthHeader())
	assert.Equal(t, "", (&Webhook{AuthType: AuthHMAC}).AuthHeader())
	assert.Equal(t, "Authorization", (&Webhook{AuthType: AuthBasic}).AuthHeader())
	assert.Equal(t, "Authorization", (&Webhook{AuthType: AuthBearer}).AuthHeader())
	assert.Equal(t, "X-API-Key", (&Webhook{AuthType: AuthAPIKey}).AuthHeader())
	assert.Equal(t, "X-Key", (&Webhook{AuthType: AuthAPIKey, Credentials: map[string]string{"header_name": "X-Key"}}).AuthHeader())
}

func TestLogValueHidesCredentials(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	w := validWebhook()
	w.AuthType = AuthBearer
	w.Credentials = map[string]string{"token": "s3cr3t-token"}
	w.MaskedCredentials = map[string]string{"token": "s3****"}
	w.Headers = map[string]string{"X-Private": "header-secret"}
	log.Info("x", "webhook", w)
	out := buf.String()
	assert.NotContains(t, out, "s3cr3t-token")
	assert.NotContains(t, out, "header-secret")
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	assert.Equal(t, w.ID, m["webhook"].(map[string]any)["id"])
}
