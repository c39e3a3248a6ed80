package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// cursor is what an opaque list cursor holds: the id of the last item
// returned, which is the range key of every listing's key (by_kind and
// by_status sort by id, a subscription partition by webhook id), and a
// fingerprint of the filter that produced it.
//
// The next page is queried with the key condition "id > after" rather than
// with ExclusiveStartKey: it resumes exactly after the last returned item even
// when that item was deleted in between (kumo restarts from the first item
// when the start key's item is gone), and the cursor needs no table keys.
type cursor struct {
	After  string `json:"a"`
	Filter string `json:"f"`
}

// fingerprint identifies the listing a cursor belongs to (its filters,
// never the page size: a client may change limit between pages).
func fingerprint(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("v1"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

func webhookFilter(f webhook.ListFilter) string { return fingerprint(string(f.Status), f.Event) }

func encodeCursor(filter, lastID string) string {
	b, err := json.Marshal(cursor{After: lastID, Filter: filter})
	if err != nil {
		// Two strings always marshal.
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the id to resume after ("" for the first page): raw
// must have been issued for filter, and hold an id with idPrefix.
func decodeCursor(raw, filter, idPrefix string) (string, error) {
	if raw == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", webhook.Invalid("cursor", "cursor is malformed")
	}
	var c cursor
	if err := jsonx.Unmarshal(b, &c); err != nil || !webhook.ValidID(idPrefix, c.After) {
		return "", webhook.Invalid("cursor", "cursor is malformed")
	}
	if c.Filter != filter {
		return "", webhook.Invalid("cursor", "cursor belongs to a listing with other filters")
	}
	return c.After, nil
}
