package oauth2

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// FuzzParseCredentials feeds auth_credentials objects (as a client sends
// them, JSON) to ParseCredentials: it accepts them with a token_url the url
// rules take and a known auth style, or refuses them with EInvalid naming
// an auth_credentials key; the secret is in no refusal and in no formatted
// Credentials.
func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{
		`{"token_url":"https://auth.example.com/token","client_id":"c","client_secret":"s3cr3t-value"}`,
		`{"token_url":"https://auth.example.com/t?x=1","client_id":"c","client_secret":"s3cr3t-value","scope":"a b:c","audience":"https://api","auth_style":"body"}`,
		`{"token_url":"http://127.0.0.1:8080/token","client_id":"c","client_secret":"s3cr3t-value"}`,
		`{"token_url":"https://169.254.169.254/","client_id":"c","client_secret":"s3cr3t-value"}`,
		`{"token_url":"https://auth.example.com/#f","client_id":"c","client_secret":"s3cr3t-value"}`,
		`{"token_url":"https://auth.example.com/","client_id":"c\n","client_secret":"s3cr3t-value","scope":"a  b"}`,
		`{"token_url":"","client_id":"","client_secret":"","extra":"x"}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, allowPrivate bool) {
		var m map[string]string
		if json.Unmarshal([]byte(body), &m) != nil || m == nil {
			return
		}
		c, err := ParseCredentials(m, allowPrivate)
		secret := m[KeyClientSecret]
		elsewhere := false // the secret also in a key or another value: shown for that
		for k, v := range m {
			elsewhere = elsewhere || strings.Contains(k, secret) || k != KeyClientSecret && strings.Contains(v, secret)
		}
		if err != nil {
			require.Equal(t, webhook.EInvalid, webhook.ErrorCode(err), "%v", err)
			assert.True(t, strings.HasPrefix(webhook.ErrorField(err), "auth_credentials."), webhook.ErrorField(err))
			if len(secret) >= 8 && !elsewhere {
				assert.NotContains(t, err.Error(), secret, "no secret in a refusal")
			}
			return
		}
		require.NoError(t, webhook.CheckURL("token_url", c.TokenURL, allowPrivate))
		assert.Contains(t, []AuthStyle{StyleBasic, StyleBody}, c.AuthStyle)
		assert.Equal(t, m[KeyClientSecret], c.ClientSecret)
		if len(secret) >= 8 && !elsewhere {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				assert.NotContains(t, fmt.Sprintf(verb, c), secret, verb)
			}
		}
	})
}
