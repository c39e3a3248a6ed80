package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// updateRetries bounds how often a PATCH without a version, a pause or a
// resume is re-applied after losing a race with another writer.
const updateRetries = 3

// webhookJSON is a webhook as the API shows it. auth_credentials holds the
// masked credentials; a generated HMAC secret is shown in full once, in the
// response of the call that generated it.
type webhookJSON struct {
	ID              string              `json:"id"`
	Name            string              `json:"name"`
	URL             string              `json:"url"`
	Method          string              `json:"method"`
	Headers         map[string]string   `json:"headers"`
	Events          []string            `json:"events"`
	Status          webhook.Status      `json:"status"`
	AuthType        webhook.AuthType    `json:"auth_type"`
	AuthCredentials map[string]string   `json:"auth_credentials"`
	Retry           webhook.RetryPolicy `json:"retry"`
	TimeoutMS       int64               `json:"timeout_ms"`
	Version         int64               `json:"version"`
	CreatedAt       time.Time           `json:"created_at"`
	UpdatedAt       time.Time           `json:"updated_at"`
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
	return webhookJSON{
		ID: w.ID, Name: w.Name, URL: w.URL, Method: w.Method, Headers: headers, Events: events,
		Status: w.Status, AuthType: w.AuthType, AuthCredentials: creds, Retry: w.Retry,
		TimeoutMS: w.TimeoutMS, Version: w.Version, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(),
	}
}

// etag is a webhook version as an entity tag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func writeWebhook(w http.ResponseWriter, status int, wh *webhook.Webhook, reveal map[string]string) {
	w.Header().Set("ETag", etag(wh.Version))
	writeJSON(w, status, toJSON(wh, reveal))
}

// Members a client may send for a webhook, and inside "retry".
var (
	mutableFields = []string{"name", "url", "method", "headers", "events", "status", "auth_type", "auth_credentials", "retry", "timeout_ms"}
	patchFields   = append(slices.Clone(mutableFields), "version")
	retryFields   = []string{"strategy", "max_attempts", "initial_delay_ms", "max_delay_ms"}
)

// now is the clock in milliseconds, the precision the API shows.
func (a *server) now() time.Time { return a.Clock().UTC().Truncate(time.Millisecond) }

func (a *server) defaults() *webhook.Webhook {
	return &webhook.Webhook{
		Method:    webhook.DefaultMethod,
		Headers:   map[string]string{},
		Status:    webhook.StatusActive,
		AuthType:  webhook.AuthNone,
		Retry:     webhook.DefaultRetryPolicy(),
		TimeoutMS: a.DefaultTimeout.Milliseconds(),
	}
}

func (a *server) createWebhook(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(w, r, mutableFields)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	wh := a.defaults()
	if err := a.apply(o, wh, false); err != nil {
		a.writeError(w, r, err)
		return
	}
	creds, _, err := credentials(o)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	wh.ID = webhook.NewID(webhook.WebhookIDPrefix)
	reveal, err := a.completeCredentials(wh, creds)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := wh.Validate(a.AllowPrivate); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.seal(r.Context(), wh); err != nil {
		a.writeError(w, r, err)
		return
	}
	wh.Credentials = nil // sealed now; plaintext goes no further
	wh.CreatedAt = a.now()
	wh.UpdatedAt = wh.CreatedAt
	if err := a.Store.CreateWebhook(r.Context(), wh); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/webhooks/"+wh.ID)
	writeWebhook(w, http.StatusCreated, wh, reveal)
}

// completeCredentials sets wh.Credentials to creds, generating an HMAC secret
// when hmac has none; the generated secret is returned to be shown once.
func (a *server) completeCredentials(wh *webhook.Webhook, creds map[string]string) (reveal map[string]string, err error) {
	if creds == nil {
		creds = map[string]string{}
	}
	if _, has := creds["secret"]; wh.AuthType == webhook.AuthHMAC && !has {
		s, err := a.GenerateSecret(a.Rand)
		if err != nil {
			return nil, fmt.Errorf("generate hmac secret: %w", err)
		}
		creds["secret"] = s
		reveal = map[string]string{"secret": s}
	}
	wh.Credentials = creds
	return reveal, nil
}

// seal encrypts wh.Credentials into SealedCredentials and sets the masked
// form; no credentials seal to nothing.
func (a *server) seal(ctx context.Context, wh *webhook.Webhook) error {
	if len(wh.Credentials) == 0 {
		wh.SealedCredentials, wh.MaskedCredentials = nil, map[string]string{}
		return nil
	}
	sealed, err := a.Secrets.Seal(ctx, wh.ID, wh.Credentials)
	if err != nil {
		return fmt.Errorf("seal credentials of %s: %w", wh.ID, err)
	}
	wh.SealedCredentials, wh.MaskedCredentials = sealed, a.Mask(wh.Credentials)
	return nil
}

// apply sets the members of o, except auth_credentials, on wh. On create
// (patch false) a null member means "not given". On patch a null member is a
// JSON merge patch removal: the optional fields return to their defaults and
// the required ones (name, url, events, status, auth_type) refuse it.
func (a *server) apply(o object, wh *webhook.Webhook, patch bool) error {
	def := a.defaults()
	for _, k := range mutableFields {
		if !o.present(k) || k == "auth_credentials" {
			continue
		}
		if o.null(k) {
			if !patch {
				continue
			}
			switch k {
			case "method":
				wh.Method = def.Method
			case "headers":
				wh.Headers = def.Headers
			case "retry":
				wh.Retry = def.Retry
			case "timeout_ms":
				wh.TimeoutMS = def.TimeoutMS
			default:
				return webhook.Invalid(k, "%s cannot be removed; give a value", k)
			}
			continue
		}
		var err error
		switch k {
		case "name":
			err = o.decode(k, k, &wh.Name)
		case "url":
			err = o.decode(k, k, &wh.URL)
		case "method":
			err = o.decode(k, k, &wh.Method)
		case "events":
			err = o.decode(k, k, &wh.Events)
		case "status":
			err = o.decode(k, k, &wh.Status)
		case "auth_type":
			err = o.decode(k, k, &wh.AuthType)
		case "timeout_ms":
			err = o.decode(k, k, &wh.TimeoutMS)
		case "headers":
			wh.Headers, err = stringMap(o, k)
		case "retry":
			err = applyRetry(o[k], &wh.Retry, def.Retry)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyRetry merges a retry object into p member by member; null resets a
// member to its default.
func applyRetry(raw []byte, p *webhook.RetryPolicy, def webhook.RetryPolicy) error {
	o, err := parseObject("retry.", raw, retryFields)
	if err != nil {
		return err
	}
	for _, k := range retryFields {
		if !o.present(k) {
			continue
		}
		f := "retry." + k
		null := o.null(k)
		switch k {
		case "strategy":
			if p.Strategy = def.Strategy; !null {
				err = o.decode(f, k, &p.Strategy)
			}
		case "max_attempts":
			if p.MaxAttempts = def.MaxAttempts; !null {
				err = o.decode(f, k, &p.MaxAttempts)
			}
		case "initial_delay_ms":
			if p.InitialDelayMS = def.InitialDelayMS; !null {
				err = o.decode(f, k, &p.InitialDelayMS)
			}
		case "max_delay_ms":
			if p.MaxDelayMS = def.MaxDelayMS; !null {
				err = o.decode(f, k, &p.MaxDelayMS)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stringMap decodes member k as an object of strings (no nulls, numbers...).
// An error names the member: "headers" for headers (as validation does),
// "auth_credentials.<name>" for credentials.
func stringMap(o object, k string) (map[string]string, error) {
	var m map[string]json.RawMessage
	if err := o.decode(k, k, &m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for name, raw := range m {
		field := k
		if k == "auth_credentials" {
			field = k + "." + name
		}
		var v *string
		if err := json.Unmarshal(raw, &v); err != nil || v == nil {
			return nil, webhook.Invalid(field, "%s.%s must be a string", k, truncate(name, 64))
		}
		out[name] = *v
	}
	return out, nil
}

// credentials returns the auth_credentials member: given reports whether it
// was sent at all (null counts, as "no credentials").
func credentials(o object) (creds map[string]string, given bool, err error) {
	const k = "auth_credentials"
	if !o.present(k) {
		return nil, false, nil
	}
	if o.null(k) {
		return map[string]string{}, true, nil
	}
	creds, err = stringMap(o, k)
	return creds, true, err
}

func (a *server) getWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := a.load(r.Context(), r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeWebhook(w, http.StatusOK, wh, nil)
}

// load reads a webhook, answering a malformed id with ENotFound without
// asking the store.
func (a *server) load(ctx context.Context, id string) (*webhook.Webhook, error) {
	if !webhook.ValidID(webhook.WebhookIDPrefix, id) {
		return nil, notFound(id)
	}
	return a.Store.GetWebhook(ctx, id)
}

func (a *server) patchWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !webhook.ValidID(webhook.WebhookIDPrefix, id) {
		a.writeError(w, r, notFound(id))
		return
	}
	o, err := decodeObject(w, r, patchFields)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	want, hasWant, err := expectedVersion(r, o)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	for attempt := 1; ; attempt++ {
		wh, reveal, err := a.patchOnce(r.Context(), id, o, want, hasWant)
		if webhook.ErrorCode(err) == webhook.EConflict && !hasWant && attempt < updateRetries {
			continue // lost a race without asking for a version: re-apply to the new state
		}
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		writeWebhook(w, http.StatusOK, wh, reveal)
		return
	}
}

// patchOnce reads the webhook, merges the patch, validates and writes it.
func (a *server) patchOnce(ctx context.Context, id string, o object, want int64, hasWant bool) (*webhook.Webhook, map[string]string, error) {
	cur, err := a.Store.GetWebhook(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if hasWant && cur.Version != want {
		return nil, nil, webhook.Errorf(webhook.EConflict,
			"webhook %s is at version %d, not %d; read it again and retry", id, cur.Version, want)
	}
	next := clone(cur)
	if err := a.apply(o, next, true); err != nil {
		return nil, nil, err
	}
	creds, given, err := credentials(o)
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
			if creds, err = a.Secrets.Open(ctx, id, cur.SealedCredentials); err != nil {
				return nil, nil, fmt.Errorf("open credentials of %s: %w", id, err)
			}
		}
	case next.AuthType == webhook.AuthNone, next.AuthType == webhook.AuthHMAC:
		credsChanged = true // none needs nothing; hmac gets a new secret
	default:
		return nil, nil, webhook.Invalid("auth_credentials",
			"changing auth_type to %s needs its auth_credentials", next.AuthType)
	}
	var reveal map[string]string
	if credsChanged {
		if reveal, err = a.completeCredentials(next, creds); err != nil {
			return nil, nil, err
		}
	} else {
		next.Credentials = creds
	}
	if err := next.Validate(a.AllowPrivate); err != nil {
		return nil, nil, err
	}
	if !credsChanged && unchanged(cur, next) {
		return cur, nil, nil // nothing to write: same version, same answer
	}
	if credsChanged {
		if err := a.seal(ctx, next); err != nil {
			return nil, nil, err
		}
	}
	next.Credentials = nil
	next.UpdatedAt = a.now()
	if err := a.Store.UpdateWebhook(ctx, next); err != nil {
		return nil, nil, err
	}
	return next, reveal, nil
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

func clone(w *webhook.Webhook) *webhook.Webhook {
	c := *w
	c.Headers = maps.Clone(w.Headers)
	c.Events = slices.Clone(w.Events)
	c.MaskedCredentials = maps.Clone(w.MaskedCredentials)
	c.SealedCredentials = slices.Clone(w.SealedCredentials)
	return &c
}

// unchanged reports whether a patch left every stored field as it was.
func unchanged(a, b *webhook.Webhook) bool {
	return a.Name == b.Name && a.URL == b.URL && a.Method == b.Method &&
		maps.Equal(a.Headers, b.Headers) && slices.Equal(a.Events, b.Events) &&
		a.Status == b.Status && a.AuthType == b.AuthType && a.Retry == b.Retry && a.TimeoutMS == b.TimeoutMS
}

func (a *server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !webhook.ValidID(webhook.WebhookIDPrefix, id) {
		a.writeError(w, r, notFound(id))
		return
	}
	if want, hasWant, err := expectedVersion(r, object{}); err != nil {
		a.writeError(w, r, err)
		return
	} else if hasWant {
		cur, err := a.Store.GetWebhook(r.Context(), id)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if cur.Version != want {
			a.writeError(w, r, webhook.Errorf(webhook.EConflict,
				"webhook %s is at version %d, not %d; read it again and retry", id, cur.Version, want))
			return
		}
	}
	if err := a.Store.DeleteWebhook(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// setStatus pauses or resumes a webhook. Both are idempotent: a webhook that
// already has the status is answered as it is, unchanged.
func (a *server) setStatus(s webhook.Status) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		for attempt := 1; ; attempt++ {
			wh, err := a.load(r.Context(), id)
			if err == nil && wh.Status != s {
				wh.Status = s
				wh.UpdatedAt = a.now()
				err = a.Store.UpdateWebhook(r.Context(), wh)
				if webhook.ErrorCode(err) == webhook.EConflict && attempt < updateRetries {
					continue
				}
			}
			if err != nil {
				a.writeError(w, r, err)
				return
			}
			writeWebhook(w, http.StatusOK, wh, nil)
			return
		}
	}
}

func (a *server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	f, err := listFilter(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := a.Store.ListWebhooks(r.Context(), f)
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
			return f, webhook.Invalid("event", "unknown event %q (see GET /events/types)", truncate(e, 64))
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
			return webhook.Invalid(k, "unknown query parameter %q; use %s", truncate(k, 64), orList(allowed))
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
	WebhookID       string     `json:"webhook_id"`
	TotalDeliveries int64      `json:"total_deliveries"`
	Successful      int64      `json:"successful"`
	Failed          int64      `json:"failed"`
	SuccessRate     float64    `json:"success_rate"`
	AvgResponseMS   float64    `json:"avg_response_ms"`
	LastDeliveryAt  *time.Time `json:"last_delivery_at"`
	LastSuccessAt   *time.Time `json:"last_success_at"`
	LastFailureAt   *time.Time `json:"last_failure_at"`
}

func (a *server) stats(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.load(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	s, err := a.Store.GetStats(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statsJSON{
		WebhookID: id, TotalDeliveries: s.TotalDeliveries, Successful: s.Successful, Failed: s.Failed,
		SuccessRate: s.SuccessRate(), AvgResponseMS: s.AvgResponseMS(),
		LastDeliveryAt: s.LastDeliveryAt, LastSuccessAt: s.LastSuccessAt, LastFailureAt: s.LastFailureAt,
	})
}
