package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	`{"name":"n","count":2,"tags":["a"],"inner":{"key":"k","Value":1.5},"items":[{"key":"i"}],"attrs":{"X":{"key":"v"}},"raw":{"a":1},"any":[1,{"b":null}],"when":"2024-01-01T00:00:00Z","Plain":"p","extra":true}`,
	`{"name":"nope","Name":"custom"}`,
	`{"name":"a","name":"b"}`,
	`{"a":1,"\u0061":2}`,
	`{"inner":{"\u212aey":"k"}}`,
	`{"items":[{"key":"a"},{"KEY":"b"}]}`,
	`{"raw":{"x":1,"x":2}}`,
	`{"name":"\ud800"}`,
	`{"name":"\udc00"}`,
	`{"name":"\ud800\u0041"}`,
	`{"name":"\ud83d\ude00\uFFFD"}`,
	`{"name":"\\ud800"}`,
	"{\"name\":\"a\xffb\"}",
	"{\"name\":\"\xed\xa0\x80\"}",
	"{\"name\":\"\xef\xbf\xbd\"}",
	`[{"k":1},{"k":1,"k":1}]`,
	`"x"`,
	`12`,
	`{"count":"2"}`,
	`{"name":1}{}`,
	`{`,
	``,
}

// reference is an independent answer to "does Check accept data": valid
// syntax and UTF-8, no duplicate names (on encoding/json's own tokens) and no
// U+FFFD that the text does not spell (encoding/json makes one of every bad
// surrogate escape).
func reference(data []byte) bool {
	if !json.Valid(data) || !utf8.Valid(data) {
		return false
	}
	type frame struct {
		object, key bool
		seen        map[string]bool
	}
	var stack []*frame
	decoded := 0
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a number too big for float64 is still valid JSON
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		} else if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.key
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				stack = append(stack, &frame{object: v == '{', key: true, seen: map[string]bool{}})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			decoded += strings.Count(v, "\uFFFD")
			if isKey {
				if top.seen[v] {
					return false
				}
				top.seen[v] = true
				top.key = false
				continue
			}
		}
		// A value ended: the object it is in expects a name next.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
	return decoded == strings.Count(string(data), "\uFFFD")+spelledFFFD(data)
}

// spelledFFFD counts the \ufffd escapes of a JSON text.
func spelledFFFD(data []byte) int {
	n := 0
	for i := 0; i+1 < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		if data[i+1] == 'u' && i+6 <= len(data) && strings.EqualFold(string(data[i+2:i+6]), "fffd") {
			n++
		}
		i++ // skip the escaped character (a backslash included)
	}
	return n
}

func FuzzCheck(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data)
		if want := reference(data); (err == nil) != want {
			t.Fatalf("Check(%q) = %v, reference accepts: %v", data, err, want)
		}
		var syn *json.SyntaxError
		if err != nil && !errors.As(err, &syn) {
			var e *Error
			if !errors.As(err, &e) || !json.Valid(data) {
				t.Fatalf("Check(%q) = %v (%T): want *Error on valid syntax", data, err, err)
			}
		}
		if again := Check(data); (again == nil) != (err == nil) {
			t.Fatalf("Check(%q) is not deterministic", data)
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got sample
		if err := Unmarshal(data, &got); err != nil {
			return
		}
		// encoding/json reads it the same way.
		var want sample
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
		}
		g, err1 := json.Marshal(got)
		w, err2 := json.Marshal(want)
		if err1 != nil || err2 != nil || !bytes.Equal(g, w) {
			t.Fatalf("%q decodes to %s, encoding/json to %s", data, g, w)
		}
		if !reference(data) {
			t.Fatalf("accepted %q: invalid UTF-8, a lone surrogate or a duplicate name", data)
		}
		var generic any
		if err := json.Unmarshal(data, &generic); err != nil {
			t.Fatal(err)
		}
		if name, ok := exactNames(generic, sampleSchema); !ok {
			t.Fatalf("accepted %q with member %q, not a field name", data, name)
		}
	})
}

// schema is the member names of sample's objects, written out by hand.
type schema struct {
	names    []string
	children map[string]*schema // a member's object (or its elements' objects)
	each     *schema            // every member's object (a map's values)
}

var innerSchema = &schema{names: []string{"key", "Value"}}

var sampleSchema = &schema{
	names: []string{"name", "count", "tags", "inner", "items", "attrs", "raw", "any", "when", "Plain", "extra"},
	children: map[string]*schema{
		"inner": innerSchema,
		"items": innerSchema,
		"attrs": {each: innerSchema},
	},
}

// exactNames checks v's member names against s; it returns the first stray.
func exactNames(v any, s *schema) (string, bool) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if name, ok := exactNames(e, s); !ok {
				return name, false
			}
		}
	case map[string]any:
		for k, e := range v {
			child := s.each
			if s.each == nil {
				if !slices.Contains(s.names, k) {
					return k, false
				}
				child = s.children[k]
			}
			if child == nil {
				continue // opaque or a scalar
			}
			if name, ok := exactNames(e, child); !ok {
				return name, false
			}
		}
	}
	return "", true
}
