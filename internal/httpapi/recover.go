package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/recovery"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Recoveries starts and shows bulk recoveries: POST /webhooks/{id}/recover
// and GET /webhooks/{id}/recoveries/{recovery_id} (implemented by
// *recovery.Service). While Options.Recoveries is nil those routes answer
// 404.
type Recoveries interface {
	Start(ctx context.Context, webhookID string, r recovery.Request) (*webhook.Recovery, error)
	Get(ctx context.Context, webhookID, id string) (*webhook.Recovery, error)
}

// recoveryJSON is a recovery as the API shows it.
type recoveryJSON struct {
	ID             string                 `json:"id"`
	WebhookID      string                 `json:"webhook_id"`
	Status         webhook.RecoveryStatus `json:"status"`
	Since          apiTime                `json:"since"`
	RequestedSince apiTime                `json:"requested_since"`
	Until          apiTime                `json:"until"`
	Scanned        int64                  `json:"scanned"`
	Queued         int64                  `json:"queued"`
	Skipped        int64                  `json:"skipped"`
	CreatedAt      apiTime                `json:"created_at"`
	UpdatedAt      apiTime                `json:"updated_at"`
	CompletedAt    *apiTime               `json:"completed_at"`
}

func toRecoveryJSON(r *webhook.Recovery) recoveryJSON {
	return recoveryJSON{
		ID: r.ID, WebhookID: r.WebhookID, Status: r.Status,
		Since: apiTime(r.Since), RequestedSince: apiTime(r.RequestedSince), Until: apiTime(r.Until),
		Scanned: r.Scanned, Queued: r.Queued, Skipped: r.Skipped,
		CreatedAt: apiTime(r.CreatedAt), UpdatedAt: apiTime(r.UpdatedAt), CompletedAt: timePtr(r.CompletedAt),
	}
}

// recoverRequest is the body of POST /webhooks/{id}/recover.
type recoverRequest struct {
	Since  *string `json:"since"`
	Until  *string `json:"until"`
	Status *string `json:"status"`
}

// parseRecoverRequest reads a recover body: since (required) and until are
// RFC 3339 times, status is "failed" if given. The window's rules (order,
// future, retention) are the service's.
func parseRecoverRequest(raw []byte) (recovery.Request, error) {
	var in recoverRequest
	if err := jsonx.Unmarshal(raw, &in); err != nil {
		return recovery.Request{}, jsonError(err)
	}
	var out recovery.Request
	var err error
	if in.Since == nil {
		return out, webhook.Invalid("since", "since is required (an RFC 3339 time)")
	}
	if out.Since, err = parseRFC3339("since", *in.Since); err != nil {
		return out, err
	}
	if in.Until != nil {
		if out.Until, err = parseRFC3339("until", *in.Until); err != nil {
			return out, err
		}
	}
	if in.Status != nil {
		out.Status = webhook.DeliveryStatus(*in.Status)
		if out.Status == "" {
			return out, webhook.Invalid("status", "status must be failed: only failed deliveries can be recovered")
		}
	}
	return out, nil
}

func parseRFC3339(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, webhook.Invalid(field, "%s must be an RFC 3339 time, such as 2026-01-02T15:04:05Z", field)
	}
	return t.UTC(), nil
}

func (a *server) recoverWebhook(w http.ResponseWriter, r *http.Request) {
	raw, err := readBody(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	req, err := parseRecoverRequest(raw)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rec, err := a.Recoveries.Start(r.Context(), r.PathValue("id"), req)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/webhooks/"+rec.WebhookID+"/recoveries/"+rec.ID)
	writeJSON(w, http.StatusAccepted, toRecoveryJSON(rec))
}

func (a *server) getRecovery(w http.ResponseWriter, r *http.Request) {
	rec, err := a.Recoveries.Get(r.Context(), r.PathValue("id"), r.PathValue("recovery_id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRecoveryJSON(rec))
}
