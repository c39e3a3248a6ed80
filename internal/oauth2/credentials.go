// Package oauth2 authenticates deliveries to endpoints that take OAuth 2.0
// bearer tokens from the client-credentials grant (RFC 6749 §4.4): it
// validates a webhook's credentials, gets tokens from the token endpoint with
// golang.org/x/oauth2/clientcredentials, and caches them per webhook until
// shortly before they expire, so many deliveries share one token request.
//
// A client secret or an access token never appears in an error, a log value
// or a formatted Credentials.
package oauth2

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Keys of auth_credentials for auth_type oauth2.
const (
	KeyTokenURL     = "token_url"
	KeyClientID     = "client_id"
	KeyClientSecret = "client_secret"
	KeyScope        = "scope"
	KeyAudience     = "audience"
	KeyAuthStyle    = "auth_style"
)

// RequiredKeys and OptionalKeys list the credential keys of auth_type oauth2.
var (
	RequiredKeys = []string{KeyTokenURL, KeyClientID, KeyClientSecret}
	OptionalKeys = []string{KeyScope, KeyAudience, KeyAuthStyle}
	// ShownKeys are the keys a webhook's read shows as they are (secrets.Mask):
	// they say where and as whom a token is asked for, they do not
	// authenticate. RFC 6749 §2.2 makes client_id public. Only client_secret
	// is masked.
	ShownKeys = []string{KeyTokenURL, KeyClientID, KeyScope, KeyAudience, KeyAuthStyle}
)

// AuthStyle is how the client authenticates to the token endpoint
// (RFC 6749 §2.3.1).
type AuthStyle string

const (
	// StyleBasic sends client_id and client_secret as HTTP Basic
	// authentication, each form-encoded first, as RFC 6749 asks. The default.
	StyleBasic AuthStyle = "basic"
	// StyleBody sends them as client_id and client_secret in the form body.
	StyleBody AuthStyle = "body"
)

// Credentials are a webhook's validated OAuth 2.0 client credentials.
//
// Formatting them (%v, %+v, %#v, slog) shows everything but the secret.
type Credentials struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string  // the scope credential split at spaces; none if not given
	Audience     string    // sent as the audience parameter, if not empty
	AuthStyle    AuthStyle // StyleBasic or StyleBody
}

// prefix is the input field of every credential.
const prefix = "auth_credentials."

// ParseCredentials validates the auth_credentials of an oauth2 webhook and
// returns them. Errors are *webhook.Error with code EInvalid naming the key
// ("auth_credentials.token_url"); the first problem in the order token_url,
// client_id, client_secret, scope, audience, auth_style is reported, after
// unknown keys. token_url must be an absolute https URL whose host is a
// public one, unless allowPrivate is set (the local stack), which also lets
// it be http.
func ParseCredentials(m map[string]string, allowPrivate bool) (Credentials, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(RequiredKeys, k) && !slices.Contains(OptionalKeys, k) {
			return Credentials{}, webhook.Invalid(prefix+k, "auth_type oauth2 does not take credential %q", k)
		}
	}
	for _, k := range RequiredKeys {
		if m[k] == "" {
			return Credentials{}, webhook.Invalid(prefix+k, "auth_type oauth2 needs auth_credentials.%s", k)
		}
	}
	for _, k := range OptionalKeys {
		if v, ok := m[k]; ok && v == "" {
			return Credentials{}, webhook.Invalid(prefix+k, "auth_credentials.%s must not be empty; leave it out instead", k)
		}
	}

	c := Credentials{
		TokenURL:     m[KeyTokenURL],
		ClientID:     m[KeyClientID],
		ClientSecret: m[KeyClientSecret],
		Audience:     m[KeyAudience],
		AuthStyle:    StyleBasic,
	}
	if err := checkTokenURL(c.TokenURL, allowPrivate); err != nil {
		return Credentials{}, err
	}
	for _, k := range []string{KeyClientID, KeyClientSecret, KeyAudience} {
		if strings.ContainsFunc(m[k], unicode.IsControl) {
			return Credentials{}, webhook.Invalid(prefix+k, "%s must not contain control characters", k)
		}
	}
	if s, ok := m[KeyScope]; ok {
		c.Scopes = strings.Split(s, " ")
		for _, scope := range c.Scopes {
			if !validScope(scope) {
				return Credentials{}, webhook.Invalid(prefix+KeyScope, "scope must be scope tokens separated by single spaces (RFC 6749 §3.3)")
			}
		}
	}
	if s, ok := m[KeyAuthStyle]; ok {
		switch AuthStyle(s) {
		case StyleBasic, StyleBody:
			c.AuthStyle = AuthStyle(s)
		default:
			return Credentials{}, webhook.Invalid(prefix+KeyAuthStyle, "auth_style %q is not supported; use basic or body", s)
		}
	}
	return c, nil
}

func checkTokenURL(raw string, allowPrivate bool) error {
	const field = prefix + KeyTokenURL
	if err := webhook.CheckURL(field, raw, allowPrivate); err != nil {
		var we *webhook.Error
		if errors.As(err, &we) { // its messages speak of "url"
			if rest, ok := strings.CutPrefix(we.Message, "url "); ok {
				we.Message = "token_url " + rest
			}
		}
		return err
	}
	if !allowPrivate && !strings.HasPrefix(strings.ToLower(raw), "https://") {
		return webhook.Invalid(field, "token_url must be an https URL")
	}
	if strings.Contains(raw, "#") {
		return webhook.Invalid(field, "token_url must not have a fragment (RFC 6749 §3.2)")
	}
	return nil
}

// validScope reports whether s is an RFC 6749 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// String shows the credentials without the secret.
func (c Credentials) String() string {
	return fmt.Sprintf("oauth2.Credentials{TokenURL: %q, ClientID: %q, ClientSecret: [redacted], Scopes: %q, Audience: %q, AuthStyle: %q}",
		c.TokenURL, c.ClientID, c.Scopes, c.Audience, c.AuthStyle)
}

// Format makes every verb (%v, %+v, %#v, %s) print String, so the secret
// cannot leak through a format string.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the credentials without the secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_url", c.TokenURL),
		slog.String("client_id", c.ClientID),
		slog.String("auth_style", string(c.AuthStyle)),
	)
}
