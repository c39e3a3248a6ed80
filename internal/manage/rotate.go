package manage

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Members of a secret rotation request.
const (
	RotateSecretMember   = "secret"
	RotateValidForMember = "previous_valid_for_ms"
)

// RotateMemberNames returns the members a rotation request takes.
func RotateMemberNames() []string { return []string{RotateSecretMember, RotateValidForMember} }

// rotation is a decoded rotation request.
type rotation struct {
	secret    string // "" until generated
	generated bool
	validFor  time.Duration
}

// parseRotation decodes and checks a rotation request; null means "not
// given" for both members.
func parseRotation(in Members) (rotation, error) {
	r := rotation{validFor: webhook.DefaultPreviousValidFor}
	for k := range in {
		if !slices.Contains(RotateMemberNames(), k) {
			return r, webhook.Invalid(k, "unknown field %q", webhook.Clip(k, 64))
		}
	}
	if raw, ok := in[RotateSecretMember]; ok && !isNull(raw) {
		if err := DecodeValue(RotateSecretMember, raw, &r.secret); err != nil {
			return r, err
		}
		if r.secret == "" {
			return r, webhook.Invalid(RotateSecretMember, "secret must not be empty; leave it out to have one generated")
		}
	}
	if raw, ok := in[RotateValidForMember]; ok && !isNull(raw) {
		var ms int64
		if err := DecodeValue(RotateValidForMember, raw, &ms); err != nil {
			return r, err
		}
		if ms < 0 || ms > webhook.MaxPreviousValidFor.Milliseconds() {
			return r, webhook.Invalid(RotateValidForMember,
				"previous_valid_for_ms must be from 0 (the old secret stops at once) to %d (7 days)", webhook.MaxPreviousValidFor.Milliseconds())
		}
		r.validFor = time.Duration(ms) * time.Millisecond
	}
	return r, nil
}

// RotateSecret gives hmac webhook id a new secret: in's "secret", or a
// generated one. The secret it replaces stays valid for signing beside the
// new one for "previous_valid_for_ms" (default 24 h, at most 7 days, 0 ends
// it at once); a rotation during an overlap keeps only the secret it
// replaces, so at most one previous secret is valid. reveal holds the new
// secret, to be shown once. A webhook that is not hmac, a bad secret or
// duration is EInvalid and nothing is written.
//
// version works as in Patch: with one, a webhook at another version is
// EConflict; without, the rotation is re-applied to the current state after
// a lost race (with the same new secret).
func (s *Service) RotateSecret(ctx context.Context, id string, in Members, version int64) (w *webhook.Webhook, reveal map[string]string, err error) {
	if err := CheckWebhookID(id); err != nil {
		return nil, nil, err
	}
	r, err := parseRotation(in)
	if err != nil {
		return nil, nil, err
	}
	if r.secret == "" {
		if r.secret, err = s.opt.GenerateSecret(s.opt.Rand); err != nil {
			return nil, nil, fmt.Errorf("generate hmac secret: %w", err)
		}
		r.generated = true
	}
	if version > 0 {
		w, err = s.rotateOnce(ctx, id, r, version)
	} else {
		err = s.reapply(ctx, id, func() error {
			var err error
			w, err = s.rotateOnce(ctx, id, r, 0)
			return err
		})
	}
	if err != nil {
		return nil, nil, err
	}
	// The answer is a webhook read like any other: with its endpoint's health.
	return w, map[string]string{"secret": r.secret}, s.withHealth(ctx, w)
}

// rotateOnce reads the webhook, checks it and the new secret, and writes
// the rotation.
func (s *Service) rotateOnce(ctx context.Context, id string, r rotation, version int64) (*webhook.Webhook, error) {
	cur, err := s.opt.Store.GetWebhook(ctx, id)
	if err != nil {
		return nil, err
	}
	if version > 0 && cur.Version != version {
		return nil, webhook.Errorf(webhook.EConflict,
			"webhook %s is at version %d, not %d; read it again and retry", id, cur.Version, version)
	}
	if cur.AuthType != webhook.AuthHMAC {
		return nil, webhook.Invalid("auth_type",
			"webhook %s has auth_type %s; only an hmac webhook has a secret to rotate", id, cur.AuthType)
	}
	next := Clone(cur)
	next.Credentials = map[string]string{"secret": r.secret}
	if err := next.Validate(s.opt.AllowPrivate); err != nil {
		if f := webhook.ErrorField(err); f == CredentialsMember || f == CredentialsMember+".secret" {
			return nil, webhook.Invalid(RotateSecretMember, "%s", webhook.ErrorMessage(err))
		}
		return nil, err
	}
	if len(cur.SealedCredentials) > 0 && !r.generated {
		old, err := s.opt.Secrets.Open(ctx, id, cur.SealedCredentials)
		if err != nil {
			return nil, fmt.Errorf("open credentials of %s: %w", id, err)
		}
		if old["secret"] == r.secret {
			return nil, webhook.Invalid(RotateSecretMember, "secret is the webhook's current secret; give another one, or none to have one generated")
		}
	}
	now := s.now()
	// The replaced secret stays sealed as it was: it becomes the previous
	// one, replacing any earlier previous secret.
	next.Previous = nil
	if r.validFor > 0 && len(cur.SealedCredentials) > 0 {
		next.Previous = &webhook.PreviousSecret{Sealed: cur.SealedCredentials, ExpiresAt: now.Add(r.validFor)}
	}
	if err := s.seal(ctx, next); err != nil {
		return nil, err
	}
	next.Credentials = nil
	next.UpdatedAt = now
	if err := s.opt.Store.UpdateWebhook(ctx, next); err != nil {
		return nil, err
	}
	return next, nil
}
