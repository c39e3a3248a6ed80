package filter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// FuzzParseMatch: parsing never panics and refuses with a validation error
// naming a path under "filter"; an accepted filter matches without panicking,
// gives the same answer every time and through a decoded document, its
// canonical form parses to a filter with the same form and answers, and
// {"$not": F} answers the opposite of F.
func FuzzParseMatch(f *testing.F) {
	seeds := []struct{ filter, event, data, metadata string }{
		{`{}`, "order.paid", `{}`, ``},
		{`{"data": {"amount": {"$gt": 100}}}`, "order.paid", `{"amount": 150}`, ``},
		{`{"data": {"amount": {"$gt": 100}}}`, "order.paid", `{"amount": 50}`, `{"source": "api"}`},
		{`{"data": {"amount": {"$gte": "x", "$bogus": 1}}}`, "e", `{"amount": "y"}`, ``},
		{`{"$or": [{"event": {"$startsWith": "user."}}, {"metadata": {"region": {"$in": ["eu", "us"]}}}]}`, "user.created", `{}`, `{"region": "eu"}`},
		{`{"data": {"tags": {"$contains": "vip"}, "email": {"$endsWith": "@x.io"}}}`, "e", `{"tags": ["vip"], "email": "a@x.io"}`, ``},
		{`{"data": {"items": {"$contains": {"qty": {"$lte": 2}}}}}`, "e", `{"items": [{"qty": 3}, {"qty": 2}]}`, ``},
		{`{"$not": {"data": {"deleted_at": {"$exists": true}}}}`, "e", `{"deleted_at": null}`, ``},
		{`{"data": {"n": {"$eq": 1e400}}}`, "e", `{"n": 10e399}`, ``},
		{`{"data": {"o": {"$eq": {"b": [1, {"c": null}], "a": "\u00e9"}}}}`, "e", `{"o": {"a": "é", "b": [1, {"c": null}]}}`, ``},
		{`{"data": {"a": {"$neq": null, "$nin": [1, "1", true]}}}`, "e", `[1, 2]`, `null`},
		{`{"data": {"s": {"$lt": "b", "$gte": "a"}}}`, "e", `{"s": "a\u0000"}`, ``},
		{nest(MaxDepth, `{"$eq": 1}`), "e", `{}`, ``},
		{`{"data": {"x": 1}}`, "e", `{"x": NaN}`, ``},
		{`{"data": {"x": 1}}`, "e", `{"x": `, ``},
	}
	for _, s := range seeds {
		f.Add(s.filter, s.event, s.data, s.metadata)
	}
	f.Fuzz(func(t *testing.T, raw, event, data, metadata string) {
		flt, err := Parse(json.RawMessage(raw))
		if err != nil {
			var we *webhook.Error
			if !errors.As(err, &we) || we.Code != webhook.EInvalid || !strings.HasPrefix(we.Field, "filter") {
				t.Fatalf("Parse(%q): %v is not a validation error under filter", raw, err)
			}
			return
		}
		if flt == nil { // no filter: every event matches, decoded or not
			if ok, err := flt.Match(event, json.RawMessage(data), json.RawMessage(metadata)); !ok || err != nil {
				t.Fatalf("no filter answered %v, %v", ok, err)
			}
			return
		}
		canonical := flt.String()
		if len(canonical) > MaxSize {
			t.Fatalf("accepted filter of %d bytes", len(canonical))
		}

		got, err := flt.Match(event, json.RawMessage(data), json.RawMessage(metadata))
		if err != nil {
			return // the event is not JSON; the filter is not to blame
		}
		d, err := NewDocument(event, json.RawMessage(data), json.RawMessage(metadata))
		if err != nil {
			t.Fatalf("Match decoded the event, NewDocument did not: %v", err)
		}
		for range 2 {
			if again := flt.MatchDocument(d); again != got {
				t.Fatalf("filter %s on %s: Match %v, MatchDocument %v", canonical, data, got, again)
			}
		}

		again, err := Parse(json.RawMessage(canonical))
		if err != nil {
			t.Fatalf("canonical form %s of %q does not parse: %v", canonical, raw, err)
		}
		if again.String() != canonical {
			t.Fatalf("canonical form is not stable: %s, then %s", canonical, again)
		}
		if m := again.MatchDocument(d); m != got {
			t.Fatalf("canonical form %s answers %v, the filter %v", canonical, m, got)
		}

		if not, err := Parse(json.RawMessage(`{"$not":` + canonical + `}`)); err == nil {
			if m := not.MatchDocument(d); m == got {
				t.Fatalf("{\"$not\": %s} answers %v like the filter", canonical, m)
			}
		}
	})
}
