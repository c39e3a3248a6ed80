package httpapi

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// strictFieldInputs are webhook fields that read other than they are, or that
// no resolver or receiver could use: each is a 400 validation_failed naming
// the field, on create and on patch.
func strictFieldInputs() []struct{ name, member, field string } {
	label64 := strings.Repeat("a", 64)
	host254 := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("a", 62)
	return []struct{ name, member, field string }{
		{"name with RLO", `"name":"invoice\u202Efdp.exe"`, "name"},
		{"name with LRI", `"name":"a\u2066b"`, "name"},
		{"name with PDI", `"name":"a\u2069b"`, "name"},
		{"name with zero-width space", `"name":"a\u200Bb"`, "name"},
		{"name with BOM", `"name":"\uFEFFname"`, "name"},
		{"name with line separator", `"name":"a\u2028b"`, "name"},
		{"name with paragraph separator", `"name":"a\u2029b"`, "name"},
		{"name with TAB", `"name":"a\tb"`, "name"},
		{"name with C1 control", `"name":"a\u0085b"`, "name"},
		{"header value with TAB", `"headers":{"X-A":"a\tb"}`, "headers"},
		{"header value with ESC", `"headers":{"X-A":"\u001b[2J"}`, "headers"},
		{"header value with DEL", `"headers":{"X-A":"a\u007fb"}`, "headers"},
		{"header value with C1 control", `"headers":{"X-A":"a\u0085b"}`, "headers"},
		{"header name with TAB", `"headers":{"X-A\tB":"v"}`, "headers"},
		{"header name with RLO", `"headers":{"X-\u202EA":"v"}`, "headers"},
		{"url label over 63", `"url":"https://` + label64 + `.example.com/"`, "url"},
		{"url host over 253", `"url":"https://` + host254 + `/"`, "url"},
		{"url Teredo", `"url":"http://[2001::1]/"`, "url"},
		{"url local-use NAT64", `"url":"http://[64:ff9b:1::1]/"`, "url"},
	}
}

func TestCreateStrictFields(t *testing.T) {
	for _, tt := range strictFieldInputs() {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			body := map[string]string{"name": `"name":"n"`, "url": `"url":"https://example.com/"`, "headers": `"headers":{}`}
			body[tt.field] = tt.member
			rec := e.do("POST", "/webhooks", "{"+body["name"]+","+body["url"]+","+body["headers"]+`,"events":["custom"]}`)
			assertError(t, rec, 400, webhook.EInvalid, tt.field)
			assert.Equal(t, 0, e.store.Len(), "nothing was stored")
			assert.Equal(t, 0, e.secrets.Seals(), "nothing was sealed")
		})
	}
}

func TestPatchStrictFields(t *testing.T) {
	for _, tt := range strictFieldInputs() {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			got := e.create(`{"name":"n","url":"https://example.com/","events":["custom"]}`)
			snap := e.store.Snapshot()
			rec := e.do("PATCH", "/webhooks/"+got.ID, "{"+tt.member+"}")
			assertError(t, rec, 400, webhook.EInvalid, tt.field)
			assert.Equal(t, snap, e.store.Snapshot(), "nothing changed")
		})
	}
}
