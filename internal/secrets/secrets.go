// Package secrets seals webhook credentials with KMS, masks them for reads
// and generates HMAC signing secrets. Plaintext credentials live only in
// memory; nothing here logs them.
package secrets

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/oauth2"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// MaxCredentialsJSON bounds the JSON encoding of the credentials Seal
// accepts. KMS Encrypt takes at most 4096 bytes of plaintext, and the sealed
// plaintext is the credentials' JSON plus a few dozen bytes naming the
// webhook.
const MaxCredentialsJSON = 4000

// contextKey is the encryption-context key that binds a ciphertext to its
// webhook.
const contextKey = "webhook_id"

// ErrCannotOpen means sealed credentials can never be opened as given: they
// were tampered with, sealed for another webhook or with another key. Callers
// treat it as permanent; any other Open error (throttling, a disabled key, the
// network) may pass.
var ErrCannotOpen = errors.New("secrets: sealed credentials cannot be opened")

// KMS seals and opens credentials with one KMS key.
type KMS struct {
	client *kms.Client
	keyID  string
}

// NewKMS returns a KMS sealer using keyID (a key id, key ARN, alias name or
// alias ARN).
func NewKMS(client *kms.Client, keyID string) *KMS {
	return &KMS{client: client, keyID: keyID}
}

// sealed is the plaintext handed to KMS. The webhook id is inside as well as
// in the encryption context: AWS KMS refuses to decrypt under another
// context, but local emulators ignore the context, and the id inside the
// authenticated ciphertext makes moving it to another webhook fail there too.
type sealed struct {
	WebhookID   string            `json:"webhook_id"`
	Credentials map[string]string `json:"credentials"`
}

// sealedRaw is sealed with the credentials already encoded (and measured).
type sealedRaw struct {
	WebhookID   string          `json:"webhook_id"`
	Credentials json.RawMessage `json:"credentials"`
}

// Seal encrypts creds for the webhook with the given id. No credentials (nil
// or empty) seal to an empty, non-nil slice without calling KMS, and an empty
// slice opens to no credentials: "nothing sealed" needs no KMS round trip and
// no key. Credentials too large for KMS are EInvalid "auth_credentials".
func (k *KMS) Seal(ctx context.Context, webhookID string, creds map[string]string) ([]byte, error) {
	if len(creds) == 0 {
		return []byte{}, nil
	}
	if webhookID == "" {
		return nil, errors.New("secrets: seal credentials: webhook id is required")
	}
	// Without HTML escaping, which would turn each <, > and & of a secret
	// into six bytes of the 4 KiB KMS allows.
	cj, err := jsonx.Marshal(creds)
	if err != nil {
		return nil, fmt.Errorf("seal credentials of %s: %w", webhookID, err)
	}
	defer clear(cj)
	if len(cj) > MaxCredentialsJSON {
		return nil, webhook.Invalid("auth_credentials", "credentials are too large: at most %d bytes of JSON", MaxCredentialsJSON)
	}
	pt, err := jsonx.Marshal(sealedRaw{WebhookID: webhookID, Credentials: cj})
	if err != nil {
		return nil, fmt.Errorf("seal credentials of %s: %w", webhookID, err)
	}
	defer clear(pt)
	out, err := k.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(k.keyID),
		Plaintext:         pt,
		EncryptionContext: map[string]string{contextKey: webhookID},
	})
	if err != nil {
		return nil, fmt.Errorf("seal credentials of %s: %w", webhookID, err)
	}
	return out.CiphertextBlob, nil
}

// Open decrypts credentials sealed for the webhook with the given id. An
// empty ciphertext opens to empty (non-nil) credentials without calling KMS.
// A ciphertext that was altered or sealed for another webhook or key fails
// with an error wrapping ErrCannotOpen.
func (k *KMS) Open(ctx context.Context, webhookID string, ciphertext []byte) (map[string]string, error) {
	if len(ciphertext) == 0 {
		return map[string]string{}, nil
	}
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(k.keyID),
		CiphertextBlob:    ciphertext,
		EncryptionContext: map[string]string{contextKey: webhookID},
	})
	if err != nil {
		var invalid *types.InvalidCiphertextException
		var incorrect *types.IncorrectKeyException
		if errors.As(err, &invalid) || errors.As(err, &incorrect) {
			return nil, fmt.Errorf("open credentials of %s: %w: %w", webhookID, ErrCannotOpen, err)
		}
		return nil, fmt.Errorf("open credentials of %s: %w", webhookID, err)
	}
	defer clear(out.Plaintext)
	var s sealed
	if err := json.Unmarshal(out.Plaintext, &s); err != nil {
		// Don't wrap: a JSON error may quote the plaintext.
		return nil, fmt.Errorf("open credentials of %s: %w: not sealed by this service", webhookID, ErrCannotOpen)
	}
	if s.WebhookID != webhookID {
		return nil, fmt.Errorf("open credentials of %s: %w: sealed for another webhook", webhookID, ErrCannotOpen)
	}
	if s.Credentials == nil {
		s.Credentials = map[string]string{}
	}
	return s.Credentials, nil
}

// nonSecret are credential fields shown as they are: they name, they don't
// authenticate. oauth2's are the oauth2 package's ShownKeys.
var nonSecret = func() map[string]bool {
	m := map[string]bool{"username": true, "header_name": true}
	for _, k := range oauth2.ShownKeys {
		m[k] = true
	}
	return m
}()

// maskMinLen is the shortest value that keeps its last four characters when
// masked; shorter values are fully hidden so a mask never shows half a
// secret (or its length).
const maskMinLen = 9

// Mask returns the credentials as reads show them: "username",
// "header_name" and oauth2's token_url, client_id, scope, audience and
// auth_style as they are, every other value as "****" plus its last four
// characters, or just "****" when it has 8 characters or fewer. Nil or empty
// credentials mask to nil.
func Mask(creds map[string]string) map[string]string {
	if len(creds) == 0 {
		return nil
	}
	out := make(map[string]string, len(creds))
	for k, v := range creds {
		switch r := []rune(v); {
		case nonSecret[k]:
			out[k] = v
		case len(r) < maskMinLen:
			out[k] = "****"
		default:
			out[k] = "****" + string(r[len(r)-4:])
		}
	}
	return out
}

// GenerateHMACSecret returns a new signing secret: "whsec_" and the standard
// base64 of 32 bytes read from r (crypto/rand when r is nil).
func GenerateHMACSecret(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("generate hmac secret: %w", err)
	}
	return webhook.SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}
