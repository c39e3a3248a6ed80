package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/systemprompt-io/webhooks/internal/manage"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// rotateSecret serves POST /webhooks/{id}/rotate-secret: the body
// {"secret"?, "previous_valid_for_ms"?} may be empty; If-Match names the
// version read. The answer is the webhook with the new secret in full, once.
func (a *server) rotateSecret(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := manage.CheckWebhookID(id); err != nil {
		a.writeError(w, r, err) // before the body, as for PATCH
		return
	}
	o, err := decodeOptionalObject(w, r, manage.RotateMemberNames())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	want, _, err := expectedVersion(r, object{})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	wh, reveal, err := a.Webhooks.RotateSecret(r.Context(), id, manage.Members(o), want)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeWebhook(w, http.StatusOK, wh, reveal)
}

// decodeOptionalObject is decodeObject for a body that may also be empty
// (no members), as a bare POST sends.
func decodeOptionalObject(w http.ResponseWriter, r *http.Request, allowed []string) (object, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, webhook.Errorf(webhook.ETooLarge, "request body is larger than %d bytes", webhook.MaxBodyBytes)
	} else if err != nil {
		return nil, webhook.Errorf(webhook.EInvalid, "request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return object{}, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decodeObject(w, r, allowed)
}
