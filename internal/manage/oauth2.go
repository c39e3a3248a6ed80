package manage

import (
	"github.com/systemprompt-io/webhooks/internal/oauth2"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// validate checks w whole as it is about to be stored: the domain's rules
// (webhook.Validate), then those of the auth types whose credentials another
// package owns. oauth2's (internal/oauth2.ParseCredentials) import the
// domain, so the domain cannot call them itself; token_url is held to the
// same private-target switch as url (https too, unless private targets are
// allowed, as on the local stack).
func (s *Service) validate(w *webhook.Webhook) error {
	if err := w.Validate(s.opt.AllowPrivate); err != nil {
		return err
	}
	if w.AuthType == webhook.AuthOAuth2 {
		if _, err := oauth2.ParseCredentials(w.Credentials, s.opt.AllowPrivate); err != nil {
			return err
		}
	}
	return nil
}
