package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

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

// filterFingerprint identifies the filter a cursor belongs to. The page size
// is not part of it: a client may change limit between pages.
func filterFingerprint(f webhook.ListFilter) string {
	h := sha256.Sum256([]byte("v1\x00" + string(f.Status) + "\x00" + f.Event))
	return base64.RawURLEncoding.EncodeToString(h[:9])
}

func encodeCursor(f webhook.ListFilter, lastID string) string {
	b, err := json.Marshal(cursor{After: lastID, Filter: filterFingerprint(f)})
	if err != nil {
		// Two strings always marshal.
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the id to resume after ("" for the first page).
func decodeCursor(f webhook.ListFilter) (string, error) {
	if f.Cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
	if err != nil {
		return "", webhook.Invalid("cursor", "cursor is malformed")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || !webhook.ValidID(webhook.WebhookIDPrefix, c.After) {
		return "", webhook.Invalid("cursor", "cursor is malformed")
	}
	if c.Filter != filterFingerprint(f) {
		return "", webhook.Invalid("cursor", "cursor belongs to a listing with other filters")
	}
	return c.After, nil
}
