package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/systemprompt-io/webhooks/internal/manage"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// object is a decoded JSON object whose members are decoded one by one, so
// that an absent member, an explicit null and a value can be told apart (PATCH
// is a JSON merge patch) and every error names its field exactly.
type object map[string]json.RawMessage

// decodeObject reads the request body as one JSON object whose member names
// are all in allowed (matched exactly: encoding/json alone would also accept
// "NAME" for "name").
func decodeObject(w http.ResponseWriter, r *http.Request, allowed []string) (object, error) {
	raw, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	return parseObject("", raw, allowed)
}

// parseObject decodes raw as an object with members from allowed; prefix is
// the path of raw for error fields ("" at the top, "retry." inside).
func parseObject(prefix string, raw json.RawMessage, allowed []string) (object, error) {
	var o object
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return nil, webhook.Invalid(fieldName(prefix), "%s must be a JSON object", describe(prefix))
	}
	for k := range o {
		if !slices.Contains(allowed, k) {
			return nil, webhook.Invalid(prefix+k, "unknown field %q", prefix+k)
		}
	}
	return o, nil
}

func fieldName(prefix string) string { return prefix[:max(0, len(prefix)-1)] }

func describe(prefix string) string {
	if prefix == "" {
		return "request body"
	}
	return fieldName(prefix)
}

// present reports whether member k was sent (null included).
func (o object) present(k string) bool { _, ok := o[k]; return ok }

// null reports whether member k was sent as an explicit null.
func (o object) null(k string) bool {
	v, ok := o[k]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// decode decodes member k into v; field is k's full path for errors.
func (o object) decode(field, k string, v any) error {
	return manage.DecodeValue(field, o[k], v)
}
