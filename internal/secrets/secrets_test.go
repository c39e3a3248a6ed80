package secrets

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func newKey(t *testing.T, client *kms.Client) string {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("webhooks test " + t.Name())})
	require.NoError(t, err)
	return aws.ToString(out.KeyMetadata.KeyId)
}

func TestSealOpen(t *testing.T) {
	ctx := context.Background()
	client := testenv.Kumo(t).Clients.KMS
	k := NewKMS(client, newKey(t, client))
	id := webhook.NewID(webhook.WebhookIDPrefix)
	other := webhook.NewID(webhook.WebhookIDPrefix)

	tests := []struct {
		name  string
		creds map[string]string
	}{
		{"bearer", map[string]string{"token": "secret123-plaintext"}},
		{"basic", map[string]string{"username": "user", "password": "pass"}},
		{"api key", map[string]string{"api_key": "key", "header_name": "X-API-Key"}},
		{"unicode and quotes", map[string]string{"secret": `é"\n` + strings.Repeat("x", 100)}},
		{"largest", map[string]string{"secret": strings.Repeat("s", MaxCredentialsJSON-len(`{"secret":""}`))}},
		{"largest, html characters unescaped", map[string]string{"secret": strings.Repeat("<&>", (MaxCredentialsJSON-len(`{"secret":""}`))/3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := k.Seal(ctx, id, tt.creds)
			require.NoError(t, err)
			require.NotEmpty(t, ct)
			for _, v := range tt.creds {
				assert.False(t, bytes.Contains(ct, []byte(v)), "ciphertext holds no plaintext")
			}

			got, err := k.Open(ctx, id, ct)
			require.NoError(t, err)
			assert.Equal(t, tt.creds, got)

			_, err = k.Open(ctx, other, ct)
			assert.ErrorIs(t, err, ErrCannotOpen, "a ciphertext can't move to another webhook")

			for _, i := range []int{0, len(ct) / 2, len(ct) - 1} {
				bad := bytes.Clone(ct)
				bad[i] ^= 0x01
				_, err = k.Open(ctx, id, bad)
				assert.ErrorIs(t, err, ErrCannotOpen, "tampered at byte %d", i)
			}
			_, err = k.Open(ctx, id, ct[:len(ct)-1])
			assert.ErrorIs(t, err, ErrCannotOpen, "truncated")
		})
	}

	t.Run("another key", func(t *testing.T) {
		ct, err := k.Seal(ctx, id, map[string]string{"secret": "s3cr3t-value"})
		require.NoError(t, err)
		k2 := NewKMS(client, newKey(t, client))
		_, err = k2.Open(ctx, id, ct)
		assert.ErrorIs(t, err, ErrCannotOpen)
	})

	t.Run("too large", func(t *testing.T) {
		_, err := k.Seal(ctx, id, map[string]string{"secret": strings.Repeat("s", MaxCredentialsJSON)})
		assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err))
		assert.Equal(t, "auth_credentials", webhook.ErrorField(err))
	})

	t.Run("unknown key is not permanent", func(t *testing.T) {
		ct, err := k.Seal(ctx, id, map[string]string{"secret": "s3cr3t-value"})
		require.NoError(t, err)
		_, err = NewKMS(client, "alias/does-not-exist").Seal(ctx, id, map[string]string{"a": "b"})
		assert.Error(t, err)
		_, err = NewKMS(client, "00000000-0000-0000-0000-000000000000").Open(ctx, id, ct)
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrCannotOpen, "a missing key may be a deployment mistake, not bad data: %v", err)
	})

	t.Run("no webhook id", func(t *testing.T) {
		_, err := k.Seal(ctx, "", map[string]string{"a": "b"})
		assert.Error(t, err)
	})
}

// Nothing to seal needs no KMS: a nil client proves no call is made.
func TestSealNothing(t *testing.T) {
	ctx := context.Background()
	k := NewKMS(nil, "")
	for _, creds := range []map[string]string{nil, {}} {
		ct, err := k.Seal(ctx, "wh_x", creds)
		require.NoError(t, err)
		assert.NotNil(t, ct)
		assert.Empty(t, ct)
	}
	for _, ct := range [][]byte{nil, {}} {
		got, err := k.Open(ctx, "wh_x", ct)
		require.NoError(t, err)
		assert.NotNil(t, got)
		assert.Empty(t, got)
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
		want map[string]string
	}{
		{"nil", nil, nil},
		{"empty", map[string]string{}, nil},
		{"seed bearer", map[string]string{"token": "secret123"}, map[string]string{"token": "****t123"}},
		{"basic", map[string]string{"username": "user", "password": "correct-horse"},
			map[string]string{"username": "user", "password": "****orse"}},
		{"api key", map[string]string{"api_key": "abcdefghijkl", "header_name": "X-API-Key"},
			map[string]string{"api_key": "****ijkl", "header_name": "X-API-Key"}},
		{"short fully hidden", map[string]string{"secret": "12345678", "password": "pass", "token": ""},
			map[string]string{"secret": "****", "password": "****", "token": "****"}},
		{"nine shows four", map[string]string{"secret": "123456789"}, map[string]string{"secret": "****6789"}},
		{"counts characters, not bytes", map[string]string{"secret": "ééééééééé", "token": "éééééééé"},
			map[string]string{"secret": "****éééé", "token": "****"}},
		{"oauth2: only the client secret is masked",
			map[string]string{"token_url": "https://auth.example.com/oauth/token", "client_id": "deliveries",
				"client_secret": "client-secret-value", "scope": "hooks:write", "audience": "https://api.example.com", "auth_style": "body"},
			map[string]string{"token_url": "https://auth.example.com/oauth/token", "client_id": "deliveries",
				"client_secret": "****alue", "scope": "hooks:write", "audience": "https://api.example.com", "auth_style": "body"}},
		{"unknown keys are secret", map[string]string{"user": "someone-long"}, map[string]string{"user": "****long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := make(map[string]string, len(tt.in))
			for k, v := range tt.in {
				in[k] = v
			}
			assert.Equal(t, tt.want, Mask(tt.in))
			if tt.in != nil {
				assert.Equal(t, in, tt.in, "input unchanged")
			}
		})
	}
}

func TestGenerateHMACSecret(t *testing.T) {
	seq := make([]byte, 64)
	for i := range seq {
		seq[i] = byte(i)
	}
	tests := []struct {
		name    string
		r       func() *bytes.Reader
		want    string
		wantErr bool
	}{
		{"deterministic", func() *bytes.Reader { return bytes.NewReader(seq) },
			"whsec_" + base64.StdEncoding.EncodeToString(seq[:32]), false},
		{"short source", func() *bytes.Reader { return bytes.NewReader(seq[:31]) }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GenerateHMACSecret(tt.r())
			if tt.wantErr {
				assert.Error(t, err)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(got, webhook.SecretPrefix))
			require.NoError(t, err)
			assert.Len(t, raw, 32)
		})
	}

	_, err := GenerateHMACSecret(iotest.ErrReader(errors.New("no entropy")))
	assert.ErrorContains(t, err, "no entropy")

	a, err := GenerateHMACSecret(nil)
	require.NoError(t, err)
	b, err := GenerateHMACSecret(nil)
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "nil reads crypto/rand")
	assert.True(t, strings.HasPrefix(a, "whsec_"))
}
