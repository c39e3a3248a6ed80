package manage

import (
	"context"
	"fmt"
	"slices"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// checkNames refuses a member that is neither a Field nor the credentials.
func checkNames(in Members) error {
	for k := range in {
		if k != CredentialsMember && !slices.ContainsFunc(fields, func(f Field) bool { return f.Name == k }) {
			return webhook.Invalid(k, "unknown field %q", webhook.Clip(k, 64))
		}
	}
	return nil
}

// apply sets the members of in, except the credentials, on w. On create
// (patch false) a null member means "not given"; on patch it is a JSON
// merge patch removal: the optional members return to their defaults and
// the required ones refuse it.
func (s *Service) apply(in Members, w *webhook.Webhook, patch bool) error {
	def := s.defaults()
	for _, f := range fields {
		raw, ok := in[f.Name]
		switch {
		case !ok:
			continue
		case isNull(raw) && !patch:
			continue
		case isNull(raw):
			if err := f.Reset(w, def); err != nil {
				return err
			}
		default:
			if err := f.Set(w, raw); err != nil {
				return err
			}
		}
	}
	return nil
}

// Create makes a webhook of the members in: absent ones take their
// defaults, an hmac webhook without a secret gets a generated one, the
// result is validated whole, its credentials are sealed, and it is stored at
// version 1. reveal holds a generated secret, to be shown once in the
// answer; the stored webhook shows credentials masked only.
func (s *Service) Create(ctx context.Context, in Members) (w *webhook.Webhook, reveal map[string]string, err error) {
	if err := checkNames(in); err != nil {
		return nil, nil, err
	}
	w = s.defaults()
	if err := s.apply(in, w, false); err != nil {
		return nil, nil, err
	}
	creds, _, err := credentials(in)
	if err != nil {
		return nil, nil, err
	}
	w.ID = webhook.NewID(webhook.WebhookIDPrefix)
	if reveal, err = s.completeCredentials(w, creds); err != nil {
		return nil, nil, err
	}
	if err := s.validate(w); err != nil {
		return nil, nil, err
	}
	if err := s.seal(ctx, w); err != nil {
		return nil, nil, err
	}
	w.Credentials = nil // sealed now; plaintext goes no further
	w.CreatedAt = s.now()
	w.UpdatedAt = w.CreatedAt
	if err := s.opt.Store.CreateWebhook(ctx, w); err != nil {
		return nil, nil, err
	}
	return w, reveal, nil
}

// completeCredentials sets w.Credentials to creds, generating an HMAC secret
// when hmac has none (returned to be shown once), and naming the default
// header of an api-key that names none, so that reads show the header the
// key is sent in.
func (s *Service) completeCredentials(w *webhook.Webhook, creds map[string]string) (reveal map[string]string, err error) {
	if creds == nil {
		creds = map[string]string{}
	}
	if _, has := creds["header_name"]; w.AuthType == webhook.AuthAPIKey && !has {
		creds["header_name"] = webhook.DefaultAPIKeyHeader
	}
	if _, has := creds["secret"]; w.AuthType == webhook.AuthHMAC && !has {
		secret, err := s.opt.GenerateSecret(s.opt.Rand)
		if err != nil {
			return nil, fmt.Errorf("generate hmac secret: %w", err)
		}
		creds["secret"] = secret
		reveal = map[string]string{"secret": secret}
	}
	w.Credentials = creds
	return reveal, nil
}

// seal encrypts w.Credentials into SealedCredentials and sets the masked
// form; no credentials seal to nothing.
func (s *Service) seal(ctx context.Context, w *webhook.Webhook) error {
	if len(w.Credentials) == 0 {
		w.SealedCredentials, w.MaskedCredentials = nil, map[string]string{}
		return nil
	}
	sealed, err := s.opt.Secrets.Seal(ctx, w.ID, w.Credentials)
	if err != nil {
		return fmt.Errorf("seal credentials of %s: %w", w.ID, err)
	}
	w.SealedCredentials, w.MaskedCredentials = sealed, s.opt.Mask(w.Credentials)
	return nil
}

// Get returns a webhook, credentials masked; a malformed id is ENotFound
// without a read.
func (s *Service) Get(ctx context.Context, id string) (*webhook.Webhook, error) {
	w, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.withHealth(ctx, w); err != nil {
		return nil, err
	}
	return w, nil
}

// List returns one page of webhooks as f selects.
func (s *Service) List(ctx context.Context, f webhook.ListFilter) (webhook.Page[*webhook.Webhook], error) {
	page, err := s.opt.Store.ListWebhooks(ctx, f)
	if err != nil {
		return page, err
	}
	now := s.opt.Clock()
	for _, w := range page.Items {
		w.DropExpiredPrevious(now) // as load: an expired previous secret is not shown
	}
	if err := s.pageHealth(ctx, page.Items); err != nil {
		return webhook.Page[*webhook.Webhook]{}, err
	}
	return page, nil
}

// Patch changes the members of webhook id that in holds, as a JSON merge
// patch: absent members are unchanged, retry merges member by member, null
// restores an optional member's default and is refused for a required one;
// the result is validated whole. Credentials sent replace the old ones; a
// new auth type needs its own, except none (no credentials) and hmac (a
// generated secret, returned in reveal to be shown once). A patch that
// changes nothing (and sends no credentials) writes nothing and keeps the
// version.
//
// version is the version the client read, or 0 for none. With a version,
// a webhook at another one is EConflict and nothing is written. Without,
// the patch is applied to the current state and re-applied to the new one
// whenever another writer wins the race, until it is written or
// Options.ReapplyFor has passed.
func (s *Service) Patch(ctx context.Context, id string, in Members, version int64) (w *webhook.Webhook, reveal map[string]string, err error) {
	if err := CheckWebhookID(id); err != nil {
		return nil, nil, err
	}
	if err := checkNames(in); err != nil {
		return nil, nil, err
	}
	if version > 0 {
		return s.patchOnce(ctx, id, in, version)
	}
	err = s.reapply(ctx, id, func() error {
		var err error
		w, reveal, err = s.patchOnce(ctx, id, in, 0)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return w, reveal, nil
}

// patchOnce reads the webhook, merges the patch, validates and writes it.
func (s *Service) patchOnce(ctx context.Context, id string, in Members, version int64) (*webhook.Webhook, map[string]string, error) {
	cur, err := s.load(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if version > 0 && cur.Version != version {
		return nil, nil, webhook.Errorf(webhook.EConflict,
			"webhook %s is at version %d, not %d; read it again and retry", id, cur.Version, version)
	}
	next := Clone(cur)
	if err := s.apply(in, next, true); err != nil {
		return nil, nil, err
	}
	creds, given, err := credentials(in)
	if err != nil {
		return nil, nil, err
	}
	credsChanged := given
	switch {
	case given:
	case next.AuthType == cur.AuthType:
		// Unchanged credentials are opened only to validate the result (an
		// api-key's header_name against new custom headers).
		if len(cur.SealedCredentials) > 0 {
			if creds, err = s.opt.Secrets.Open(ctx, id, cur.SealedCredentials); err != nil {
				return nil, nil, fmt.Errorf("open credentials of %s: %w", id, err)
			}
		}
	case next.AuthType == webhook.AuthNone, next.AuthType == webhook.AuthHMAC:
		credsChanged = true // none needs nothing; hmac gets a new secret
	default:
		return nil, nil, webhook.Invalid(CredentialsMember,
			"changing auth_type to %s needs its auth_credentials", next.AuthType)
	}
	var reveal map[string]string
	if credsChanged {
		next.Previous = nil // new credentials end a rotation's overlap at once
		if reveal, err = s.completeCredentials(next, creds); err != nil {
			return nil, nil, err
		}
	} else {
		next.Credentials = creds
	}
	if err := s.validate(next); err != nil {
		return nil, nil, err
	}
	next.StatusReason = reasonFor(cur, next)
	if !credsChanged && Unchanged(cur, next) {
		return cur, nil, s.withHealth(ctx, cur) // nothing to write: same version, same answer
	}
	if credsChanged {
		if err := s.seal(ctx, next); err != nil {
			return nil, nil, err
		}
	}
	next.Credentials = nil
	next.UpdatedAt = s.now()
	if err := s.opt.Store.UpdateWebhook(ctx, next); err != nil {
		return nil, nil, err
	}
	if cur.Status == webhook.StatusInactive && next.Status == webhook.StatusActive {
		s.drain(ctx, id) // made active by a patch: what it held drains, as on resume
	}
	return next, reveal, s.withHealth(ctx, next)
}

// Delete removes a webhook; its deliveries stay until retention removes
// them. version, if not 0, is the version the client read: a webhook at
// another one is EConflict and stays.
func (s *Service) Delete(ctx context.Context, id string, version int64) error {
	if err := CheckWebhookID(id); err != nil {
		return err
	}
	if version > 0 {
		cur, err := s.opt.Store.GetWebhook(ctx, id)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return webhook.Errorf(webhook.EConflict,
				"webhook %s is at version %d, not %d; read it again and retry", id, cur.Version, version)
		}
	}
	return s.opt.Store.DeleteWebhook(ctx, id)
}

// Pause makes a webhook inactive (status_reason paused). Without hold it
// receives no events until resumed; with hold its events still make
// deliveries, held (status held, nothing sent) until Resume drains them.
// Pausing again changes only hold; the same pause is answered unchanged.
func (s *Service) Pause(ctx context.Context, id string, hold bool) (*webhook.Webhook, error) {
	return s.setStatus(ctx, id, webhook.StatusInactive, hold)
}

// Resume makes a webhook active again, whatever made it inactive, clears
// its health (the circuit closes and the failures are forgotten, so a fixed
// endpoint gets its deliveries at once) and drains what it held. An active
// webhook with a clean health is answered as it is, unchanged.
func (s *Service) Resume(ctx context.Context, id string) (*webhook.Webhook, error) {
	w, changed, err := s.setStatusChanged(ctx, id, webhook.StatusActive, false)
	if err != nil {
		return nil, err
	}
	reset := s.opt.Health != nil && !w.Health.Clean()
	if reset {
		if err := s.opt.Health.ResetHealth(ctx, id); err != nil {
			return nil, err
		}
		if err := s.withHealth(ctx, w); err != nil {
			return nil, err
		}
	}
	if changed || reset {
		s.drain(ctx, id)
	}
	return w, nil
}

// drain starts draining what webhook id held. A failure is logged, not
// answered: the change is made, and a resume again drains what is held.
func (s *Service) drain(ctx context.Context, id string) {
	if s.opt.Drains == nil {
		return
	}
	if err := s.opt.Drains.StartDrain(ctx, id); err != nil {
		s.opt.Logger.ErrorContext(ctx, "manage: start drain", "webhook_id", id, "error", err)
	}
}

func (s *Service) setStatus(ctx context.Context, id string, status webhook.Status, hold bool) (*webhook.Webhook, error) {
	w, _, err := s.setStatusChanged(ctx, id, status, hold)
	return w, err
}

func (s *Service) setStatusChanged(ctx context.Context, id string, status webhook.Status, hold bool) (*webhook.Webhook, bool, error) {
	var (
		w       *webhook.Webhook
		changed bool
	)
	err := s.reapply(ctx, id, func() error {
		var err error
		changed = false
		if w, err = s.load(ctx, id); err != nil {
			return err
		}
		next := *w
		next.Status = status
		next.StatusReason = reasonFor(w, &next)
		if status == webhook.StatusInactive && next.StatusReason == webhook.ReasonPaused {
			next.Hold = hold
		} else if status == webhook.StatusActive {
			next.Hold = false
		}
		if next.Status == w.Status && next.StatusReason == w.StatusReason && next.Hold == w.Hold {
			return nil
		}
		next.UpdatedAt = s.now()
		*w = next
		changed = true
		return s.opt.Store.UpdateWebhook(ctx, w)
	})
	if err != nil {
		return nil, false, err
	}
	return w, changed, s.withHealth(ctx, w)
}

// Stats returns a webhook's delivery statistics; ENotFound if the webhook
// does not exist.
func (s *Service) Stats(ctx context.Context, id string) (webhook.Stats, error) {
	if _, err := s.load(ctx, id); err != nil {
		return webhook.Stats{}, err
	}
	return s.opt.Store.GetStats(ctx, id)
}
