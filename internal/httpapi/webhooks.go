package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/systemprompt-io/webhooks/internal/manage"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// webhookJSON is a webhook as the API shows it. auth_credentials holds the
// masked credentials; a generated HMAC secret is shown in full once, in the
// response of the call that generated it.
type webhookJSON struct {
	ID              string                `json:"id"`
	Name            string                `json:"name"`
	URL             string                `json:"url"`
	Method          string                `json:"method"`
	Headers         map[string]string     `json:"headers"`
	Events          []string              `json:"events"`
	Status          webhook.Status        `json:"status"`
	StatusReason    *webhook.StatusReason `json:"status_reason"`
	Hold            bool                  `json:"hold"` // paused with hold: deliveries are held
	AuthType        webhook.AuthType      `json:"auth_type"`
	AuthCredentials map[string]string     `json:"auth_credentials"`
	// When a rotation's previous secret stops signing; null without one.
	PreviousSecretExpiresAt *apiTime            `json:"previous_secret_expires_at"`
	Retry                   webhook.RetryPolicy `json:"retry"`
	TimeoutMS               int64               `json:"timeout_ms"`
	Filter                  json.RawMessage     `json:"filter"`     // null for none
	RateLimit               *rateLimitJSON      `json:"rate_limit"` // null for none
	Version                 int64               `json:"version"`
	CreatedAt               apiTime             `json:"created_at"`
	UpdatedAt               apiTime             `json:"updated_at"`
	Health                  healthJSON          `json:"health"`
}

func toJSON(w *webhook.Webhook, reveal map[string]string) webhookJSON {
	creds := make(map[string]string, len(w.MaskedCredentials)+len(reveal))
	maps.Copy(creds, w.MaskedCredentials)
	maps.Copy(creds, reveal)
	headers := w.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	events := w.Events
	if events == nil {
		events = []string{}
	}
	out := webhookJSON{
		ID: w.ID, Name: w.Name, URL: w.URL, Method: w.Method, Headers: headers, Events: events,
		Status: w.Status, AuthType: w.AuthType, AuthCredentials: creds, Retry: w.Retry,
		TimeoutMS: w.TimeoutMS, Filter: w.Filter, Version: w.Version, CreatedAt: apiTime(w.CreatedAt), UpdatedAt: apiTime(w.UpdatedAt),
		StatusReason: reasonJSON(w), Hold: w.HoldsDeliveries(), Health: toHealthJSON(w.Health),
	}
	if w.RateLimit != nil {
		out.RateLimit = &rateLimitJSON{PerSecond: w.RateLimit.PerSecond}
	}
	if w.Previous != nil { // the service shows only one still valid
		out.PreviousSecretExpiresAt = timePtr(&w.Previous.ExpiresAt)
	}
	return out
}

// rateLimitJSON is a webhook's rate_limit.
type rateLimitJSON struct {
	PerSecond int `json:"per_second"`
}

// etag is a webhook version as an entity tag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func writeWebhook(w http.ResponseWriter, status int, wh *webhook.Webhook, reveal map[string]string) {
	w.Header().Set("ETag", etag(wh.Version))
	writeJSON(w, status, toJSON(wh, reveal))
}

// Members a client may send to create a webhook, and to patch one.
var (
	createMembers = manage.MemberNames()
	patchMembers  = append(manage.MemberNames(), "version")
)

func (a *server) createWebhook(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(w, r, createMembers)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	wh, reveal, err := a.Webhooks.Create(r.Context(), manage.Members(o))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/webhooks/"+wh.ID)
	writeWebhook(w, http.StatusCreated, wh, reveal)
}

func (a *server) getWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := a.load(r.Context(), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeWebhook(w, http.StatusOK, wh, nil)
}

// load reads a webhook (a malformed id is ENotFound without a read).
func (a *server) load(ctx context.Context, id string) (*webhook.Webhook, error) {
	return a.Webhooks.Get(ctx, id)
}

func (a *server) patchWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := manage.CheckWebhookID(id); err != nil {
		a.writeError(w, r, err) // before the body: a malformed id is 404 whatever was sent
		return
	}
	o, err := decodeObject(w, r, patchMembers)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	want, _, err := expectedVersion(r, o)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	delete(o, "version")
	wh, reveal, err := a.Webhooks.Patch(r.Context(), id, manage.Members(o), want)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeWebhook(w, http.StatusOK, wh, reveal)
}

// expectedVersion is the version the client says it read: the body's
// "version" or an If-Match header ("*" asks for none). Both must agree.
func expectedVersion(r *http.Request, o object) (int64, bool, error) {
	var body, header int64
	hasBody, hasHeader := false, false
	if o.present("version") && !o.null("version") {
		if err := o.decode("version", "version", &body); err != nil {
			return 0, false, err
		}
		if body < 1 {
			return 0, false, webhook.Invalid("version", "version must be a positive whole number")
		}
		hasBody = true
	}
	if vs, sent := r.Header["If-Match"]; sent {
		// One header: "*" (any version) or a version exactly as ETag gives
		// it, quoted canonical decimal ("01" and "" are refused).
		h := strings.TrimSpace(r.Header.Get("If-Match"))
		inner, quoted := strings.CutPrefix(h, `"`)
		inner, closed := strings.CutSuffix(inner, `"`)
		v, err := strconv.ParseInt(inner, 10, 64)
		switch {
		case len(vs) == 1 && h == "*":
		case len(vs) != 1 || !quoted || !closed || err != nil || v < 1 || strconv.FormatInt(v, 10) != inner:
			return 0, false, webhook.Invalid("If-Match", `If-Match must be one version as returned in ETag, like "3"`)
		default:
			header, hasHeader = v, true
		}
	}
	switch {
	case hasBody && hasHeader && body != header:
		return 0, false, webhook.Invalid("version", "version %d and If-Match %d disagree", body, header)
	case hasBody:
		return body, true, nil
	case hasHeader:
		return header, true, nil
	}
	return 0, false, nil
}

func (a *server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := manage.CheckWebhookID(id); err != nil {
		a.writeError(w, r, err)
		return
	}
	// "*" or no If-Match names no version (0); a malformed one is refused.
	want, _, err := expectedVersion(r, object{})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.Webhooks.Delete(r.Context(), id, want); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setStatus serves a pause or a resume.
func (a *server) setStatus(set func(ctx context.Context, id string) (*webhook.Webhook, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		wh, err := set(r.Context(), r.PathValue("id"))
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		writeWebhook(w, http.StatusOK, wh, nil)
	}
}

func (a *server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	f, err := listFilter(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := a.Webhooks.List(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPageJSON(page, func(wh *webhook.Webhook) webhookJSON { return toJSON(wh, nil) }))
}

// listFilter validates the list query: known parameters only, each at most
// once.
func listFilter(q url.Values) (webhook.ListFilter, error) {
	f := webhook.ListFilter{Limit: webhook.DefaultListLimit}
	if err := queryParams(q, "status", "event", "limit", "cursor"); err != nil {
		return f, err
	}
	if s := q.Get("status"); s != "" {
		if f.Status = webhook.Status(s); f.Status != webhook.StatusActive && f.Status != webhook.StatusInactive {
			return f, webhook.Invalid("status", "status must be active or inactive")
		}
	}
	if e := q.Get("event"); e != "" {
		if !webhook.IsEvent(e) {
			return f, webhook.Invalid("event", "unknown event %q (see GET /events/types)", webhook.Clip(e, 64))
		}
		f.Event = e
	}
	n, err := limitParam(q)
	if err != nil {
		return f, err
	}
	f.Limit = n
	f.Cursor = q.Get("cursor")
	return f, nil
}

// queryParams refuses a query parameter that is not among allowed, that is
// given more than once or that is empty ("limit=" is not "no limit").
func queryParams(q url.Values, allowed ...string) error {
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			return webhook.Invalid(k, "unknown query parameter %q; use %s", webhook.Clip(k, 64), orList(allowed))
		}
		if len(vs) > 1 {
			return webhook.Invalid(k, "query parameter %s is given %d times", k, len(vs))
		}
		if q.Get(k) == "" {
			return webhook.Invalid(k, "query parameter %s is empty; give a value or leave it out", k)
		}
	}
	return nil
}

// orList writes names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// limitParam is the page size the query asks for: webhook.DefaultListLimit
// when it gives no limit. Only the canonical decimal form is taken ("5", not
// "+5" or "05"); the range is webhook.CheckListLimit's.
func limitParam(q url.Values) (int, error) {
	if _, given := q["limit"]; !given {
		return webhook.DefaultListLimit, nil
	}
	l := q.Get("limit")
	n, err := strconv.Atoi(l)
	if err != nil || strconv.Itoa(n) != l {
		n = 0 // not a whole number as written: refused as 0 is
	}
	return webhook.CheckListLimit(n)
}

// pageJSON is one page of a listing as the API shows it.
type pageJSON[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// toPageJSON shows each item of page with show; items is [] on an empty page.
func toPageJSON[S, T any](page webhook.Page[S], show func(S) T) pageJSON[T] {
	out := pageJSON[T]{Items: make([]T, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, it := range page.Items {
		out.Items = append(out.Items, show(it))
	}
	return out
}

// statsJSON is a webhook's delivery statistics.
type statsJSON struct {
	WebhookID       string   `json:"webhook_id"`
	TotalDeliveries int64    `json:"total_deliveries"`
	Successful      int64    `json:"successful"`
	Failed          int64    `json:"failed"`
	SuccessRate     float64  `json:"success_rate"`
	AvgResponseMS   float64  `json:"avg_response_ms"`
	Held            int64    `json:"held"`
	LastDeliveryAt  *apiTime `json:"last_delivery_at"`
	LastSuccessAt   *apiTime `json:"last_success_at"`
	LastFailureAt   *apiTime `json:"last_failure_at"`
	// With ?window= only (stats_buckets.go).
	Window  string       `json:"window,omitempty"`
	Bucket  string       `json:"bucket,omitempty"`
	Buckets []bucketJSON `json:"buckets,omitempty"`
}

// tenths rounds ms to 0.1 ms: attempt durations are whole milliseconds, so
// more digits of their mean (166.66666666666666) say nothing.
func tenths(ms float64) float64 { return math.Round(ms*10) / 10 }

func (a *server) stats(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	window, err := statsQuery(q)
	var (
		s      webhook.Stats
		series []webhook.HourStats
	)
	switch {
	case err != nil:
	case window > 0:
		s, series, err = a.Webhooks.StatsSeries(r.Context(), id, window)
	default:
		s, err = a.Webhooks.Stats(r.Context(), id)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := statsJSON{
		WebhookID: id, TotalDeliveries: s.TotalDeliveries, Successful: s.Successful, Failed: s.Failed,
		SuccessRate: s.SuccessRate(), AvgResponseMS: tenths(s.AvgResponseMS()), Held: s.Held,
		LastDeliveryAt: timePtr(s.LastDeliveryAt), LastSuccessAt: timePtr(s.LastSuccessAt), LastFailureAt: timePtr(s.LastFailureAt),
	}
	if series != nil {
		out.Window, out.Bucket, out.Buckets = q.Get("window"), "1h", toBucketsJSON(series)
	}
	writeJSON(w, http.StatusOK, out)
}
