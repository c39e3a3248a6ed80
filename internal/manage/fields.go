package manage

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Members are the members of a JSON object as a client sent them, each
// still encoded, so that an absent member, an explicit null and a value can
// be told apart: a create leaves absent members at their defaults, and a
// PATCH is a JSON merge patch (RFC 7396).
type Members map[string]json.RawMessage

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// CredentialsMember is the member holding a webhook's credentials. It is
// not a Field: credentials are sealed, shown masked and replaced whole, so
// the use cases handle them themselves.
const CredentialsMember = "auth_credentials"

// A Field is one member of a webhook that a client sets on create and may
// change with a PATCH. Fields is the one declaration of them: applying a
// create or a patch, copying a webhook (Clone) and telling whether a patch
// changed anything (Unchanged) all derive from it, so a member added there
// is settable, copied and change-detected with no other list to edit.
type Field struct {
	// Name is the member's JSON name.
	Name string
	// Examples are two different valid values of the member, as JSON, the
	// first not the default: documentation, and what tests set it to.
	Examples [2]string

	set      func(w *webhook.Webhook, raw json.RawMessage) error
	reset    func(w, def *webhook.Webhook)
	copy     func(dst, src *webhook.Webhook)
	equal    func(a, b *webhook.Webhook) bool
	value    func(w *webhook.Webhook) any
	required bool
}

// Set decodes raw, a value other than null, into w's member. A wrong type
// is EInvalid naming the member.
func (f Field) Set(w *webhook.Webhook, raw json.RawMessage) error { return f.set(w, raw) }

// Reset answers a null: an optional member returns to its value in def (the
// defaults); a required one is EInvalid.
func (f Field) Reset(w, def *webhook.Webhook) error {
	if f.required {
		return webhook.Invalid(f.Name, "%s cannot be removed; give a value", f.Name)
	}
	f.reset(w, def)
	return nil
}

// Required reports whether the member must have a value (null is refused).
func (f Field) Required() bool { return f.required }

// Copy sets dst's member to a copy of src's that shares no memory with it.
func (f Field) Copy(dst, src *webhook.Webhook) { f.copy(dst, src) }

// Equal reports whether a and b have the same member.
func (f Field) Equal(a, b *webhook.Webhook) bool { return f.equal(a, b) }

// Fields returns the declaration of a webhook's settable members, in the
// order they are applied (and their errors reported).
func Fields() []Field { return slices.Clone(fields) }

var fields = []Field{
	member("name", func(w *webhook.Webhook) *string { return &w.Name }, same, eq,
		`"Deploy notifications"`, `"Incident feed"`).requireValue(),
	member("url", func(w *webhook.Webhook) *string { return &w.URL }, same, eq,
		`"https://example.com/hooks/deploys"`, `"https://example.org/incidents?team=ops&x=1"`).requireValue(),
	member("method", func(w *webhook.Webhook) *string { return &w.Method }, same, eq,
		`"PUT"`, `"PATCH"`),
	member("headers", func(w *webhook.Webhook) *map[string]string { return &w.Headers }, maps.Clone, maps.Equal,
		`{"X-Team":"ops"}`, `{"X-Team":"dev","X-Env":"prod"}`).decodedBy(setHeaders),
	member("events", func(w *webhook.Webhook) *[]string { return &w.Events }, slices.Clone, slices.Equal,
		`["agent.started","custom"]`, `["task.failed"]`).requireValue(),
	member("status", func(w *webhook.Webhook) *webhook.Status { return &w.Status }, same, eq,
		`"inactive"`, `"active"`).requireValue(),
	member("auth_type", func(w *webhook.Webhook) *webhook.AuthType { return &w.AuthType }, same, eq,
		`"hmac"`, `"none"`).requireValue(),
	member("retry", func(w *webhook.Webhook) *webhook.RetryPolicy { return &w.Retry }, same, eq,
		`{"strategy":"linear","max_attempts":5,"initial_delay_ms":500,"max_delay_ms":10000}`,
		`{"strategy":"fixed","max_attempts":2}`).decodedBy(setRetry),
	member("timeout_ms", func(w *webhook.Webhook) *int64 { return &w.TimeoutMS }, same, eq,
		`5000`, `12000`),
	member("filter", func(w *webhook.Webhook) *json.RawMessage { return &w.Filter }, cloneRaw, equalRaw,
		`{"data":{"amount":{"$gt":100}}}`, `{"event":{"$in":["agent.failed","task.failed"]}}`).decodedBy(setFilter),
	member("rate_limit", func(w *webhook.Webhook) **webhook.RateLimit { return &w.RateLimit }, cloneRate, equalRate,
		`{"per_second":5}`, `{"per_second":100}`).decodedBy(setRateLimit),
}

// member declares the member name held at at(w): copied with clone,
// compared with equal, decoded as JSON into a fresh value, reset to a copy of
// the default's.
func member[T any](name string, at func(*webhook.Webhook) *T, clone func(T) T, equal func(a, b T) bool, ex1, ex2 string) Field {
	return Field{
		Name:     name,
		Examples: [2]string{ex1, ex2},
		set: func(w *webhook.Webhook, raw json.RawMessage) error {
			var v T // fresh: decoding into the old value could reuse its memory
			if err := DecodeValue(name, raw, &v); err != nil {
				return err
			}
			*at(w) = v
			return nil
		},
		reset: func(w, def *webhook.Webhook) { *at(w) = clone(*at(def)) },
		copy:  func(dst, src *webhook.Webhook) { *at(dst) = clone(*at(src)) },
		equal: func(a, b *webhook.Webhook) bool { return equal(*at(a), *at(b)) },
		value: func(w *webhook.Webhook) any { return at(w) },
	}
}

func same[T any](v T) T            { return v }
func eq[T comparable](a, b T) bool { return a == b }

// requireValue marks the member as one that null cannot remove.
func (f Field) requireValue() Field { f.required = true; return f }

// decodedBy replaces the member's decoding.
func (f Field) decodedBy(set func(w *webhook.Webhook, raw json.RawMessage) error) Field {
	f.set = set
	return f
}

// Clone returns a copy of w that shares no memory with it: the declared
// members are copied as Fields says, the credentials as well.
func Clone(w *webhook.Webhook) *webhook.Webhook {
	c := *w
	for _, f := range fields {
		f.copy(&c, w)
	}
	c.Credentials = maps.Clone(w.Credentials)
	c.SealedCredentials = slices.Clone(w.SealedCredentials)
	c.MaskedCredentials = maps.Clone(w.MaskedCredentials)
	if w.Previous != nil {
		p := *w.Previous
		p.Sealed = slices.Clone(p.Sealed)
		c.Previous = &p
	}
	return &c
}

// Unchanged reports whether every declared member of a and b is the same:
// a patch that leaves them so (and sends no credentials) writes nothing.
func Unchanged(a, b *webhook.Webhook) bool {
	for _, f := range fields {
		if !f.equal(a, b) {
			return false
		}
	}
	return true
}

// MemberNames returns the names of the members a create takes: the
// declared fields and the credentials.
func MemberNames() []string {
	names := make([]string, 0, len(fields)+1)
	for _, f := range fields {
		names = append(names, f.Name)
	}
	return append(names, CredentialsMember)
}

// setHeaders decodes the headers, an object of strings, replacing them whole.
func setHeaders(w *webhook.Webhook, raw json.RawMessage) error {
	h, err := decodeStrings("headers", raw, func(string) string { return "headers" })
	if err != nil {
		return err
	}
	w.Headers = h
	return nil
}

// retryMember is one member of the retry object, merged on its own: null
// returns it to the default.
type retryMember struct {
	name string
	set  func(p *webhook.RetryPolicy, raw json.RawMessage) error
}

var retryMembers = []retryMember{
	retryField("strategy", func(p *webhook.RetryPolicy) *webhook.Strategy { return &p.Strategy }),
	retryField("max_attempts", func(p *webhook.RetryPolicy) *int { return &p.MaxAttempts }),
	retryField("initial_delay_ms", func(p *webhook.RetryPolicy) *int64 { return &p.InitialDelayMS }),
	retryField("max_delay_ms", func(p *webhook.RetryPolicy) *int64 { return &p.MaxDelayMS }),
}

func retryField[T any](name string, at func(*webhook.RetryPolicy) *T) retryMember {
	return retryMember{name: name, set: func(p *webhook.RetryPolicy, raw json.RawMessage) error {
		if isNull(raw) {
			def := webhook.DefaultRetryPolicy()
			*at(p) = *at(&def)
			return nil
		}
		var v T
		if err := DecodeValue("retry."+name, raw, &v); err != nil {
			return err
		}
		*at(p) = v
		return nil
	}}
}

// setRetry merges a retry object into the policy member by member.
func setRetry(w *webhook.Webhook, raw json.RawMessage) error {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return webhook.Invalid("retry", "retry must be a JSON object")
	}
	for k := range o {
		if !slices.ContainsFunc(retryMembers, func(m retryMember) bool { return m.name == k }) {
			return webhook.Invalid("retry."+k, "unknown field %q", "retry."+k)
		}
	}
	for _, m := range retryMembers {
		if v, ok := o[m.name]; ok {
			if err := m.set(&w.Retry, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeStrings decodes raw as an object of strings (no nulls, numbers...);
// an error names the member as elemField says.
func decodeStrings(field string, raw json.RawMessage, elemField func(name string) string) (map[string]string, error) {
	var m map[string]json.RawMessage
	if err := DecodeValue(field, raw, &m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for name, v := range m {
		var s *string
		if err := json.Unmarshal(v, &s); err != nil || s == nil {
			return nil, webhook.Invalid(elemField(name), "%s.%s must be a string", field, webhook.Clip(name, 64))
		}
		out[name] = *s
	}
	return out, nil
}

// credentials returns the auth_credentials member; given reports whether it
// was sent at all (null counts, as "no credentials").
func credentials(in Members) (creds map[string]string, given bool, err error) {
	raw, ok := in[CredentialsMember]
	if !ok {
		return nil, false, nil
	}
	if isNull(raw) {
		return map[string]string{}, true, nil
	}
	creds, err = decodeStrings(CredentialsMember, raw, func(name string) string { return CredentialsMember + "." + name })
	return creds, true, err
}

// DecodeValue decodes one member's raw JSON into v. An error is EInvalid on
// field and says what was expected: "retry.max_attempts must be a whole
// number, not a JSON string".
func DecodeValue(field string, raw json.RawMessage, v any) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		want := TypeName(typ.Type.Kind().String())
		if typ.Field != "" {
			// Inside a map or array: name the element.
			return webhook.Invalid(field, "%s.%s must be %s, not a JSON %s", field, typ.Field, want, typ.Value)
		}
		return webhook.Invalid(field, "%s must be %s, not a JSON %s", field, want, typ.Value)
	}
	return webhook.Invalid(field, "%s is not valid", field)
}

// TypeName describes a Go kind in JSON terms ("a whole number").
func TypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}
