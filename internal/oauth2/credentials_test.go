package oauth2

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func valid() map[string]string {
	return map[string]string{
		"token_url":     "https://auth.example.com/oauth/token",
		"client_id":     "abc",
		"client_secret": "shh-its-a-secret",
	}
}

func with(kv ...string) map[string]string {
	m := valid()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<delete>" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

func TestParseCredentials(t *testing.T) {
	c, err := ParseCredentials(valid(), false)
	require.NoError(t, err)
	assert.Equal(t, Credentials{
		TokenURL:     "https://auth.example.com/oauth/token",
		ClientID:     "abc",
		ClientSecret: "shh-its-a-secret",
		AuthStyle:    StyleBasic,
	}, c)

	c, err = ParseCredentials(with("scope", "orders:write events", "audience", "https://api.example.com", "auth_style", "body"), false)
	require.NoError(t, err)
	assert.Equal(t, []string{"orders:write", "events"}, c.Scopes)
	assert.Equal(t, "https://api.example.com", c.Audience)
	assert.Equal(t, StyleBody, c.AuthStyle)

	// The local stack (private targets allowed) takes http and localhost.
	c, err = ParseCredentials(with("token_url", "http://localhost:8080/token"), true)
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:8080/token", c.TokenURL)

	_, err = ParseCredentials(with("token_url", "https://auth.example.com/token?tenant=1"), false)
	require.NoError(t, err, "RFC 6749 §3.2 allows a query")
}

func TestParseCredentialsErrors(t *testing.T) {
	tests := []struct {
		name         string
		creds        map[string]string
		allowPrivate bool
		field, msg   string
	}{
		{"missing token_url", with("token_url", "<delete>"), false, "auth_credentials.token_url", "needs auth_credentials.token_url"},
		{"missing client_id", with("client_id", "<delete>"), false, "auth_credentials.client_id", "needs"},
		{"empty client_secret", with("client_secret", ""), false, "auth_credentials.client_secret", "needs"},
		{"unknown key", with("tokne_url", "x"), false, "auth_credentials.tokne_url", "does not take"},
		{"unknown keys: the first in order", with("zz", "1", "aa", "2"), false, "auth_credentials.aa", "does not take"},
		{"http token_url", with("token_url", "http://auth.example.com/token"), false, "auth_credentials.token_url", "must be an https URL"},
		{"relative token_url", with("token_url", "/token"), false, "auth_credentials.token_url", "absolute"},
		{"not a URL", with("token_url", "https://exa mple.com/"), false, "auth_credentials.token_url", "token_url is not a valid URL"},
		{"ftp token_url", with("token_url", "ftp://auth.example.com/token"), true, "auth_credentials.token_url", "http or https"},
		{"loopback token_url", with("token_url", "https://127.0.0.1/token"), false, "auth_credentials.token_url", "token_url targets address 127.0.0.1, which is loopback"},
		{"metadata token_url", with("token_url", "https://169.254.169.254/latest"), false, "auth_credentials.token_url", "token_url targets address 169.254.169.254, which is cloud metadata"},
		{"localhost token_url", with("token_url", "https://localhost/token"), false, "auth_credentials.token_url", "local or metadata host"},
		{"IPv6 loopback token_url", with("token_url", "https://[::1]/token"), false, "auth_credentials.token_url", "token_url targets address ::1, which is loopback"},
		{"credentials in token_url", with("token_url", "https://u:p@auth.example.com/token"), false, "auth_credentials.token_url", "credentials"},
		{"fragment in token_url", with("token_url", "https://auth.example.com/token#x"), false, "auth_credentials.token_url", "fragment"},
		{"control character in client_id", with("client_id", "a\nb"), false, "auth_credentials.client_id", "control characters"},
		{"control character in client_secret", with("client_secret", "a\x00b"), false, "auth_credentials.client_secret", "control characters"},
		{"empty scope", with("scope", ""), false, "auth_credentials.scope", "must not be empty"},
		{"scope with two spaces", with("scope", "a  b"), false, "auth_credentials.scope", "single spaces"},
		{"scope with a quote", with("scope", `a"b`), false, "auth_credentials.scope", "scope tokens"},
		{"scope with a leading space", with("scope", " a"), false, "auth_credentials.scope", "scope tokens"},
		{"empty audience", with("audience", ""), false, "auth_credentials.audience", "must not be empty"},
		{"control character in audience", with("audience", "a\tb"), false, "auth_credentials.audience", "control characters"},
		{"unknown auth_style", with("auth_style", "header"), false, "auth_credentials.auth_style", "use basic or body"},
		{"empty auth_style", with("auth_style", ""), false, "auth_credentials.auth_style", "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCredentials(tt.creds, tt.allowPrivate)
			require.Error(t, err)
			var we *webhook.Error
			require.True(t, errors.As(err, &we), "%T", err)
			assert.Equal(t, webhook.EInvalid, we.Code)
			assert.Equal(t, tt.field, we.Field)
			assert.Contains(t, we.Message, tt.msg)
			assert.NotContains(t, we.Error(), "shh-its-a-secret")
		})
	}
}

func TestCredentialsNeverFormatTheSecret(t *testing.T) {
	c, err := ParseCredentials(valid(), false)
	require.NoError(t, err)
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c), fmt.Sprintf("%+v", &c),
		fmt.Sprintf("%+v", struct{ C Credentials }{c}),
	} {
		assert.NotContains(t, s, "shh-its-a-secret")
		assert.Contains(t, s, "abc")
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("token", "credentials", c)
	assert.NotContains(t, b.String(), "shh-its-a-secret")
	assert.Contains(t, b.String(), `"client_id":"abc"`)
}
