package httpapi

import (
	"net/http"

	"github.com/systemprompt-io/webhooks/internal/manage"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// pauseMembers are the members of a pause body.
var pauseMembers = []string{"hold"}

// pause serves POST /webhooks/{id}/pause: the body may be empty, {} or
// {"hold": true|false}. Anything else is a 400 naming the field, before
// anything is read or changed.
func (a *server) pause(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := manage.CheckWebhookID(id); err != nil {
		a.writeError(w, r, err)
		return
	}
	hold, err := pauseHold(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	wh, err := a.Webhooks.Pause(r.Context(), id, hold)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeWebhook(w, http.StatusOK, wh, nil)
}

// pauseHold reads a pause body's hold: false when absent.
func pauseHold(w http.ResponseWriter, r *http.Request) (bool, error) {
	o, err := decodeOptionalObject(w, r, pauseMembers)
	if err != nil {
		return false, err
	}
	return parseHold(o)
}

func parseHold(o object) (bool, error) {
	if !o.present("hold") {
		return false, nil
	}
	var hold bool
	if o.null("hold") {
		return false, holdInvalid()
	}
	if err := o.decode("hold", "hold", &hold); err != nil {
		return false, holdInvalid()
	}
	return hold, nil
}

func holdInvalid() error {
	return webhook.Invalid("hold", "hold must be true or false")
}
