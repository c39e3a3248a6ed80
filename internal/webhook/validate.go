package webhook

import (
	"encoding/base64"
	"net/textproto"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// SecretPrefix marks a Standard Webhooks secret: "whsec_" and the standard
// base64 of the key. The signer uses the decoded key; generated secrets have
// this form.
const SecretPrefix = "whsec_"

// Methods a webhook may use. The seed allows POST (its default), PUT and PATCH.
var methods = []string{"POST", "PUT", "PATCH"}

// credentialRules lists, per auth type, the credential keys it requires and
// the ones it also accepts. Any other key is refused so a typo ("tokne") is
// not silently ignored.
var credentialRules = map[AuthType]struct{ required, optional []string }{
	AuthNone:   {},
	AuthBasic:  {required: []string{"username", "password"}},
	AuthBearer: {required: []string{"token"}},
	AuthAPIKey: {required: []string{"api_key"}, optional: []string{"header_name"}},
	AuthHMAC:   {required: []string{"secret"}},
}

// AuthTypes returns the supported auth types in a stable order.
func AuthTypes() []AuthType {
	return []AuthType{AuthNone, AuthBasic, AuthBearer, AuthAPIKey, AuthHMAC, AuthOAuth2}
}

// reservedHeaders are set by the sender (framing, identity, the payload's
// type, hop-by-hop) and may not be overridden by a webhook's custom headers.
// Names are lower case.
var reservedHeaders = map[string]bool{
	"host":                true,
	"content-length":      true,
	"content-type":        true,
	"content-encoding":    true,
	"user-agent":          true, // the seed identifies itself as SystemPrompt-Webhook/1.0
	"transfer-encoding":   true,
	"connection":          true,
	"keep-alive":          true,
	"proxy-connection":    true,
	"proxy-authorization": true,
	"te":                  true,
	"trailer":             true,
	"upgrade":             true,
	"expect":              true,
}

// reservedPrefixes cover the seed's X-Webhook-* headers (signature, event,
// id, timestamp, delivery, attempt) and the Standard Webhooks webhook-*.
var reservedPrefixes = []string{"x-webhook-", "webhook-"}

// ReservedHeader reports whether name is a header a webhook may not set
// itself, whatever its auth type.
func ReservedHeader(name string) bool {
	n := strings.ToLower(name)
	if reservedHeaders[n] {
		return true
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// AuthHeader returns the header w's auth type sets ("" for none and hmac,
// whose signature headers are reserved anyway): Authorization for basic,
// bearer and oauth2, the credentials' header_name (default X-API-Key) for
// api-key.
func (w *Webhook) AuthHeader() string {
	switch w.AuthType {
	case AuthBasic, AuthBearer, AuthOAuth2:
		return "Authorization"
	case AuthAPIKey:
		if h := w.Credentials["header_name"]; h != "" {
			return h
		}
		return DefaultAPIKeyHeader
	}
	return ""
}

// Validate checks every field of w as it is about to be stored, with
// defaults already applied and plaintext Credentials present. It returns the
// first problem as an *Error whose Field is the JSON name of the input
// ("retry.max_attempts", "auth_credentials.token"). Unless allowPrivate is
// set, a URL naming a loopback, private, link-local or metadata address or
// host is refused; names are not resolved here (the dial-time guard checks
// where they point).
//
// The credentials of auth_type oauth2 are checked here only for their size:
// their rules (token_url, RFC 6749's scope syntax, ...) are
// internal/oauth2.ParseCredentials', which builds on this package, and the
// webhook service runs it after Validate.
func (w *Webhook) Validate(allowPrivate bool) error {
	for _, check := range []func() error{
		w.validateName,
		func() error { return checkURL("url", w.URL, allowPrivate) },
		w.validateMethod,
		w.validateEvents,
		w.validateStatus,
		w.validateAuth,
		w.validateHeaders,
		w.validateTimeout,
		func() error { return w.Retry.Validate() },
		w.validateRateLimit,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (w *Webhook) validateName() error {
	if strings.TrimSpace(w.Name) == "" {
		return Invalid("name", "name is required")
	}
	if n := utf8.RuneCountInString(w.Name); n > MaxNameLen {
		return Invalid("name", "name is %d characters long; at most %d are allowed", n, MaxNameLen)
	}
	return checkDisplay("name", w.Name)
}

// checkDisplay refuses what would make a string shown to people (in a
// console, a log, a terminal) read other than it is: invalid UTF-8, control
// characters (Cc), format characters (Cf: the bidirectional overrides and
// isolates U+202A..U+202E and U+2066..U+2069, zero-width U+200B..U+200D,
// U+FEFF, ...) and the line and paragraph separators U+2028 and U+2029
// (Zl, Zp), which break lines in many viewers.
func checkDisplay(field, s string) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "%s is not valid UTF-8", field)
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return Invalid(field, "%s must not contain control characters (U+%04X)", field, r)
		case unicode.In(r, unicode.Cf):
			return Invalid(field, "%s must not contain invisible format characters such as bidirectional overrides (U+%04X)", field, r)
		case unicode.In(r, unicode.Zl, unicode.Zp):
			return Invalid(field, "%s must not contain line or paragraph separators (U+%04X)", field, r)
		}
	}
	return nil
}

func (w *Webhook) validateMethod() error {
	for _, m := range methods {
		if w.Method == m {
			return nil
		}
	}
	return Invalid("method", "method %q is not supported; use one of %s", w.Method, strings.Join(methods, ", "))
}

func (w *Webhook) validateEvents() error {
	if len(w.Events) == 0 {
		return Invalid("events", "events must list at least one event (see GET /events/types)")
	}
	seen := make(map[string]bool, len(w.Events))
	for _, e := range w.Events {
		if !IsEvent(e) {
			return Invalid("events", "unknown event %q (see GET /events/types)", e)
		}
		if seen[e] {
			return Invalid("events", "event %q is listed twice", e)
		}
		seen[e] = true
	}
	return nil
}

func (w *Webhook) validateStatus() error {
	if w.Status != StatusActive && w.Status != StatusInactive {
		return Invalid("status", "status %q is not supported; use active or inactive", w.Status)
	}
	return nil
}

func (w *Webhook) validateAuth() error {
	rules, ok := credentialRules[w.AuthType]
	if !ok && w.AuthType != AuthOAuth2 {
		names := make([]string, 0, len(credentialRules))
		for _, a := range AuthTypes() {
			names = append(names, string(a))
		}
		return Invalid("auth_type", "auth_type %q is not supported; use one of %s", w.AuthType, strings.Join(names, ", "))
	}
	size := 0
	for k, v := range w.Credentials {
		size += len(k) + len(v)
	}
	if size > MaxCredentialBytes {
		return Invalid("auth_credentials", "auth_credentials are %d bytes; at most %d are allowed", size, MaxCredentialBytes)
	}
	if w.AuthType == AuthNone && len(w.Credentials) > 0 {
		return Invalid("auth_credentials", "auth_type none takes no auth_credentials")
	}
	if w.AuthType == AuthOAuth2 {
		return nil // internal/oauth2's rules (see Validate)
	}
	allowed := make(map[string]bool)
	for _, k := range append(append([]string(nil), rules.required...), rules.optional...) {
		allowed[k] = true
	}
	for k := range w.Credentials {
		if !allowed[k] {
			return Invalid("auth_credentials."+k, "auth_type %s does not take credential %q", w.AuthType, k)
		}
	}
	for _, k := range rules.required {
		if w.Credentials[k] == "" {
			return Invalid("auth_credentials."+k, "auth_type %s needs auth_credentials.%s", w.AuthType, k)
		}
	}
	switch w.AuthType {
	case AuthBasic:
		// RFC 7617: the user-id cannot contain a colon.
		if strings.Contains(w.Credentials["username"], ":") {
			return Invalid("auth_credentials.username", "username must not contain ':'")
		}
	case AuthBearer:
		if !validHeaderValue(w.Credentials["token"]) {
			return Invalid("auth_credentials.token", "token must not contain control characters")
		}
	case AuthAPIKey:
		if !validHeaderValue(w.Credentials["api_key"]) {
			return Invalid("auth_credentials.api_key", "api_key must not contain control characters")
		}
		if h, ok := w.Credentials["header_name"]; ok {
			if err := checkHeaderName("auth_credentials.header_name", h); err != nil {
				return err
			}
			if ReservedHeader(h) {
				return Invalid("auth_credentials.header_name", "header_name %q is reserved", h)
			}
		}
	case AuthHMAC:
		if s, ok := strings.CutPrefix(w.Credentials["secret"], SecretPrefix); ok {
			// Standard Webhooks secrets are base64; the signer uses the
			// decoded bytes, so they must decode.
			if k, err := base64.StdEncoding.DecodeString(s); err != nil || len(k) == 0 {
				return Invalid("auth_credentials.secret", "a whsec_ secret must be followed by base64")
			}
		}
	}
	return nil
}

func (w *Webhook) validateHeaders() error {
	if len(w.Headers) > MaxHeaders {
		return Invalid("headers", "%d headers given; at most %d are allowed", len(w.Headers), MaxHeaders)
	}
	authHeader := textproto.CanonicalMIMEHeaderKey(w.AuthHeader())
	seen := make(map[string]string, len(w.Headers))
	for name, value := range w.Headers {
		if err := checkHeaderName("headers", name); err != nil {
			return err
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if ReservedHeader(name) {
			return Invalid("headers", "header %q is reserved and set by the sender", name)
		}
		if authHeader != "" && canon == authHeader {
			return Invalid("headers", "header %q is set by auth_type %s", name, w.AuthType)
		}
		if other, dup := seen[canon]; dup {
			return Invalid("headers", "headers %q and %q are the same header", other, name)
		}
		seen[canon] = name
		if len(value) > MaxHeaderValueLen {
			return Invalid("headers", "header %q has a value longer than %d bytes", name, MaxHeaderValueLen)
		}
		if !validHeaderValue(value) {
			return Invalid("headers", "header %q has a value with control characters (CR, LF, NUL, TAB...)", name)
		}
	}
	return nil
}

// validHeaderValue reports whether v is valid UTF-8 without control
// characters: C0 (TAB included), DEL and C1. HTTP would take a TAB inside a
// value (httpguts does), but a value is sent as configured and shown in
// reads, where a TAB or an escape sequence only hides what the header says.
func validHeaderValue(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsFunc(v, unicode.IsControl)
}

// checkHeaderName refuses names that are not HTTP tokens (RFC 9110), which
// includes any CR, LF, NUL, space or colon.
func checkHeaderName(field, name string) error {
	if name == "" {
		return Invalid(field, "header name must not be empty")
	}
	if len(name) > MaxHeaderNameLen {
		return Invalid(field, "header name longer than %d bytes", MaxHeaderNameLen)
	}
	if !httpguts.ValidHeaderFieldName(name) {
		return Invalid(field, "header name %q is not a valid HTTP token", name)
	}
	return nil
}

func (w *Webhook) validateTimeout() error {
	// Under a second, a cold TLS handshake alone times out. Over two minutes
	// an attempt would not fit the delivery function's timeout (160 s, with
	// the batch's bookkeeping), and would be cut short there instead.
	if w.TimeoutMS < MinTimeoutMS || w.TimeoutMS > MaxTimeoutMS {
		return Invalid("timeout_ms", "timeout_ms must be from %d to %d", MinTimeoutMS, MaxTimeoutMS)
	}
	return nil
}

// Validate checks a retry policy. Delays over SQS's 15-minute cap chain over
// several messages, so up to a week is allowed.
func (p RetryPolicy) Validate() error {
	switch p.Strategy {
	case StrategyExponential, StrategyLinear, StrategyFixed:
	default:
		return Invalid("retry.strategy", "strategy %q is not supported; use exponential, linear or fixed", p.Strategy)
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > MaxAttemptsLimit {
		return Invalid("retry.max_attempts", "max_attempts must be from 1 to %d", MaxAttemptsLimit)
	}
	if p.MaxDelayMS < MinDelayMS || p.MaxDelayMS > MaxDelayLimitMS {
		return Invalid("retry.max_delay_ms", "max_delay_ms must be from %d to %d (7 days)", MinDelayMS, MaxDelayLimitMS)
	}
	if p.InitialDelayMS < MinDelayMS || p.InitialDelayMS > p.MaxDelayMS {
		return Invalid("retry.initial_delay_ms", "initial_delay_ms must be from %d to max_delay_ms (%d)", MinDelayMS, p.MaxDelayMS)
	}
	return nil
}
