package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/systemprompt-io/webhooks/internal/manage"
)

// filterTestRequest is the body of POST /webhooks/{id}/filter/test: an
// event as POST /events takes it.
type filterTestRequest struct {
	Event    string          `json:"event"`
	Data     json.RawMessage `json:"data"`
	Metadata json.RawMessage `json:"metadata"`
}

func (a *server) testFilter(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := manage.CheckWebhookID(id); err != nil {
		a.writeError(w, r, err) // before the body: a malformed id is 404 whatever was sent
		return
	}
	var in filterTestRequest
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	ok, err := a.Webhooks.TestFilter(r.Context(), id, manage.FilterEvent{Event: in.Event, Data: in.Data, Metadata: in.Metadata})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Matches bool `json:"matches"`
	}{ok})
}
