package manage

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// oauthHook is an oauth2 webhook's create body with credentials creds (JSON).
func oauthHook(creds string) string {
	return `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"oauth2","auth_credentials":` + creds + `}`
}

const goodOAuth = `{"token_url":"https://auth.example.com/oauth/token","client_id":"deliveries","client_secret":"client-secret-1","scope":"hooks:write hooks:read","audience":"https://api.example.com","auth_style":"body"}`

func TestCreateOAuth2(t *testing.T) {
	f := newFixture(t)
	w, reveal, err := f.svc.Create(context.Background(), members(t, oauthHook(goodOAuth)))
	require.NoError(t, err)
	assert.Nil(t, reveal, "nothing is generated, nothing shown back")
	assert.Equal(t, webhook.AuthOAuth2, w.AuthType)
	assert.Nil(t, f.store.Webhook(w.ID).Credentials, "no plaintext is stored")
	creds, err := f.secrets.Open(context.Background(), w.ID, f.store.Webhook(w.ID).SealedCredentials)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"token_url": "https://auth.example.com/oauth/token", "client_id": "deliveries", "client_secret": "client-secret-1",
		"scope": "hooks:write hooks:read", "audience": "https://api.example.com", "auth_style": "body",
	}, creds, "every credential is sealed together")

	// The minimum: the three required keys.
	f.create(t, oauthHook(`{"token_url":"https://auth.example.com/t","client_id":"c","client_secret":"s"}`))
}

func TestCreateOAuth2Refused(t *testing.T) {
	tests := []struct {
		name, body, field, msg string
		allowPrivate           bool
	}{
		{"http token_url", oauthHook(`{"token_url":"http://auth.example.com/t","client_id":"c","client_secret":"s"}`),
			"auth_credentials.token_url", "https", false},
		{"metadata address", oauthHook(`{"token_url":"https://169.254.169.254/latest","client_id":"c","client_secret":"s"}`),
			"auth_credentials.token_url", "cloud metadata", false},
		{"private address", oauthHook(`{"token_url":"https://10.1.2.3/token","client_id":"c","client_secret":"s"}`),
			"auth_credentials.token_url", "private", false},
		{"loopback name", oauthHook(`{"token_url":"https://localhost/token","client_id":"c","client_secret":"s"}`),
			"auth_credentials.token_url", "token_url", false},
		{"not a URL", oauthHook(`{"token_url":"auth.example.com","client_id":"c","client_secret":"s"}`),
			"auth_credentials.token_url", "token_url", true},
		{"no client secret", oauthHook(`{"token_url":"https://auth.example.com/t","client_id":"c"}`),
			"auth_credentials.client_secret", "client_secret", false},
		{"no credentials", `{"name":"n","url":"https://example.com/","events":["custom"],"auth_type":"oauth2"}`,
			"auth_credentials.token_url", "token_url", false},
		{"unknown key", oauthHook(`{"token_url":"https://auth.example.com/t","client_id":"c","client_secret":"s","secret":"x"}`),
			"auth_credentials.secret", "secret", false},
		{"bad auth_style", oauthHook(`{"token_url":"https://auth.example.com/t","client_id":"c","client_secret":"s","auth_style":"header"}`),
			"auth_credentials.auth_style", "basic or body", false},
		{"bad scope", oauthHook(`{"token_url":"https://auth.example.com/t","client_id":"c","client_secret":"s","scope":"a  b"}`),
			"auth_credentials.scope", "scope", false},
		{"Authorization is the auth type's",
			`{"name":"n","url":"https://example.com/","events":["custom"],"headers":{"authorization":"x"},"auth_type":"oauth2","auth_credentials":` + goodOAuth + `}`,
			"headers", "auth_type oauth2", false},
		{"too large", oauthHook(`{"token_url":"https://auth.example.com/t","client_id":"c","client_secret":"` + strings.Repeat("s", 4100) + `"}`),
			"auth_credentials", "bytes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.AllowPrivate = tt.allowPrivate })
			_, _, err := f.svc.Create(context.Background(), members(t, tt.body))
			assertCode(t, err, webhook.EInvalid, tt.field)
			assert.Contains(t, err.Error(), tt.msg)
			assert.NotContains(t, err.Error(), "client-secret", "no secret in a refusal")
			assert.Zero(t, f.store.Len(), "nothing stored")
			assert.Zero(t, f.secrets.Seals(), "nothing sealed")
		})
	}
}

// The local stack allows private targets: there token_url may be http and
// on loopback, as url may.
func TestCreateOAuth2PrivateAllowed(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.AllowPrivate = true })
	f.create(t, oauthHook(`{"token_url":"http://127.0.0.1:8080/token","client_id":"c","client_secret":"s"}`))
}

func TestPatchOAuth2(t *testing.T) {
	ctx := context.Background()
	t.Run("switching needs the credentials", func(t *testing.T) {
		f := newFixture(t)
		w := f.create(t, minimal)
		_, _, err := f.svc.Patch(ctx, w.ID, members(t, `{"auth_type":"oauth2"}`), 0)
		assertCode(t, err, webhook.EInvalid, CredentialsMember)
		assert.Equal(t, w, f.store.Webhook(w.ID), "nothing written")
	})
	t.Run("switching with them", func(t *testing.T) {
		f := newFixture(t)
		w := f.create(t, minimal)
		after, _, err := f.svc.Patch(ctx, w.ID, members(t, `{"auth_type":"oauth2","auth_credentials":`+goodOAuth+`}`), 0)
		require.NoError(t, err)
		assert.Equal(t, webhook.AuthOAuth2, after.AuthType)
		assert.Equal(t, int64(2), after.Version)
	})
	t.Run("a bad token_url changes nothing", func(t *testing.T) {
		f := newFixture(t)
		w := f.create(t, oauthHook(goodOAuth))
		seals := f.secrets.Seals()
		for _, creds := range []string{
			`{"token_url":"http://auth.example.com/t","client_id":"c","client_secret":"s"}`,
			`{"token_url":"https://[fd00:ec2::254]/t","client_id":"c","client_secret":"s"}`,
		} {
			_, _, err := f.svc.Patch(ctx, w.ID, members(t, `{"auth_credentials":`+creds+`}`), 0)
			assertCode(t, err, webhook.EInvalid, "auth_credentials.token_url")
		}
		assert.Equal(t, w, f.store.Webhook(w.ID), "nothing written")
		assert.Equal(t, seals, f.secrets.Seals(), "nothing sealed")
	})
	t.Run("other members keep the sealed credentials", func(t *testing.T) {
		f := newFixture(t)
		w := f.create(t, oauthHook(goodOAuth))
		after, _, err := f.svc.Patch(ctx, w.ID, members(t, `{"name":"renamed"}`), 0)
		require.NoError(t, err)
		assert.Equal(t, w.SealedCredentials, after.SealedCredentials)
		_, _, err = f.svc.Patch(ctx, w.ID, members(t, `{"headers":{"Authorization":"x"}}`), 0)
		assertCode(t, err, webhook.EInvalid, "headers")
	})
}
