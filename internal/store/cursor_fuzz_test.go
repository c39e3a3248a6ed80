package store

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// listings are the filters a cursor can be made for: every webhook listing
// and a few deliveries listings.
func listings() []string {
	var out []string
	for _, s := range []webhook.Status{"", webhook.StatusActive, webhook.StatusInactive} {
		for _, e := range []string{"", webhook.EventCustom, "agent.started"} {
			out = append(out, webhookFilter(webhook.ListFilter{Status: s, Event: e}))
		}
	}
	for _, wh := range []string{"wh_0192f0c4a1b27c3d8e9f001122334455", "wh_0192f0c4a1b27c3d8e9f001122334466"} {
		for _, s := range []webhook.DeliveryStatus{"", webhook.DeliveryFailed, webhook.DeliverySucceeded} {
			out = append(out, fingerprint("deliveries", wh, string(s)))
		}
	}
	return out
}

func cursorOf(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }

func FuzzDecodeCursor(f *testing.F) {
	all := listings()
	id := "wh_0192f0c4a1b27c3d8e9f001122334455"
	f.Add(encodeCursor(all[0], id), uint8(0), []byte{1, 2})
	f.Add(encodeCursor(all[4], "dlv_0192f0c4a1b27c3d8e9f001122334455"), uint8(4), []byte{})
	f.Add(cursorOf(`{"a":"`+id+`","f":"`+all[1]+`"}`), uint8(2), []byte{0xff})
	f.Add(cursorOf(`{"a":"`+id+`","f":"x","F":"`+all[3]+`"}`), uint8(3), []byte{})
	f.Add(cursorOf(`{"a":"`+id+`","f":"x","f":"`+all[5]+`"}`), uint8(5), []byte{})
	f.Add(cursorOf(`{"A":"`+id+`","f":"`+all[0]+`"}`), uint8(0), []byte{})
	f.Add(cursorOf(`{"a":"`+id+`","f":"`+all[0]+`","x":1}`), uint8(0), []byte{})
	f.Add(cursorOf(`{"a":"`+id+`","f":"`+all[0]+`"}`)+"=", uint8(0), []byte{})
	f.Add("", uint8(0), []byte{})
	f.Add("zzz", uint8(7), []byte{9})
	f.Fuzz(func(t *testing.T, raw string, pick uint8, idBytes []byte) {
		filter := all[int(pick)%len(all)]

		// A cursor decodes, for the listing it was made for, to the id it
		// holds, and is refused by every other listing.
		id := webhook.WebhookIDPrefix + (hex.EncodeToString(idBytes) + strings.Repeat("0", 32))[:32]
		made := encodeCursor(filter, id)
		if got, err := decodeCursor(made, filter, webhook.WebhookIDPrefix); err != nil || got != id {
			t.Fatalf("cursor for %s after %s decodes to %q, %v", filter, id, got, err)
		}
		if _, err := decodeCursor(made, filter, webhook.DeliveryIDPrefix); err == nil {
			t.Fatalf("a webhook cursor decodes as a deliveries one")
		}
		for _, other := range all {
			if other == filter {
				continue
			}
			if _, err := decodeCursor(made, other, webhook.WebhookIDPrefix); webhook.ErrorField(err) != "cursor" {
				t.Fatalf("cursor for %s is taken by %s: %v", filter, other, err)
			}
		}

		// Arbitrary text decodes for at most one listing, to a well-formed
		// id; what it decodes to is what a cursor made for that listing
		// holds.
		for _, prefix := range []string{webhook.WebhookIDPrefix, webhook.DeliveryIDPrefix} {
			after, err := decodeCursor(raw, filter, prefix)
			if err != nil {
				if webhook.ErrorCode(err) != webhook.EInvalid || webhook.ErrorField(err) != "cursor" {
					t.Fatalf("cursor %q refused with %v, want EInvalid on cursor", raw, err)
				}
				continue
			}
			if raw == "" {
				if after != "" {
					t.Fatalf("no cursor decodes to %q", after)
				}
				continue
			}
			if !webhook.ValidID(prefix, after) {
				t.Fatalf("cursor %q decodes to %q, not a %s id", raw, after, prefix)
			}
			for _, other := range all {
				if _, err := decodeCursor(raw, other, prefix); other != filter && err == nil {
					t.Fatalf("cursor %q decodes for %s and for %s", raw, filter, other)
				}
			}
			if again, err := decodeCursor(encodeCursor(filter, after), filter, prefix); err != nil || again != after {
				t.Fatalf("re-made cursor after %s decodes to %q, %v", after, again, err)
			}
		}
	})
}

// A cursor is strict JSON: a second or case-folded "f" cannot carry another
// listing's fingerprint past the check, nor can members it does not have.
func TestDecodeCursorIsStrict(t *testing.T) {
	filter := webhookFilter(webhook.ListFilter{Event: webhook.EventCustom})
	id := "wh_0192f0c4a1b27c3d8e9f001122334455"
	for _, json := range []string{
		`{"a":"` + id + `","f":"x","F":"` + filter + `"}`,
		`{"a":"` + id + `","f":"x","f":"` + filter + `"}`,
		`{"A":"` + id + `","f":"` + filter + `"}`,
		`{"a":"` + id + `","f":"` + filter + `","n":1}`,
		`{"a":"` + id + `\ud800","f":"` + filter + `"}`,
	} {
		_, err := decodeCursor(cursorOf(json), filter, webhook.WebhookIDPrefix)
		if webhook.ErrorField(err) != "cursor" {
			t.Errorf("cursor %s: %v, want refused", json, err)
		}
	}
	got, err := decodeCursor(cursorOf(`{"a":"`+id+`","f":"`+filter+`"}`), filter, webhook.WebhookIDPrefix)
	if err != nil || got != id {
		t.Fatalf("well-formed cursor: %q, %v", got, err)
	}
}
