package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type inner struct {
	Key   string  `json:"key"`
	Value float64 `json:"Value"` // a tag with a capital: matched as written
}

type Embedded struct {
	Extra bool `json:"extra"`
}

// sample has every kind of field the walk follows.
type sample struct {
	Name  string           `json:"name"`
	Count int              `json:"count"`
	Tags  []string         `json:"tags"`
	Inner *inner           `json:"inner"`
	Items []inner          `json:"items"`
	Attrs map[string]inner `json:"attrs"`
	Raw   json.RawMessage  `json:"raw"`
	Any   any              `json:"any"`
	When  time.Time        `json:"when"`
	Plain string           // no tag: named "Plain"
	Skip  string           `json:"-"`
	Embedded
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, in string
		want     error // nil: accepted
		path     string
	}{
		{"object", `{"a":1,"b":[1,2,{"c":"d"}],"e":{"f":null}}`, nil, ""},
		{"scalar", `"x"`, nil, ""},
		{"space around", " \n{\"a\" : [ ] }\t", nil, ""},
		{"same name in two objects", `{"a":{"x":1},"b":{"x":2}}`, nil, ""},
		{"names differing in case", `{"a":1,"A":2}`, nil, ""},
		{"escaped pair", `{"a":"\ud83d\ude00"}`, nil, ""},
		{"escaped BMP", `{"a":"\u00e9\uFFFD"}`, nil, ""},
		{"raw UTF-8", `{"é":"😀"}`, nil, ""},
		{"escaped backslash then u", `{"a":"\\ud800"}`, nil, ""},

		{"duplicate", `{"event":"nope","event":"custom"}`, ErrDuplicateName, "event"},
		{"duplicate after unescaping", `{"a":1,"\u0061":2}`, ErrDuplicateName, "a"},
		{"duplicate nested", `{"data":{"x":{"y":1,"y":2}}}`, ErrDuplicateName, "data.x.y"},
		{"duplicate in array", `{"items":[{},{"k":1,"k":1}]}`, ErrDuplicateName, "items[1].k"},
		{"duplicate at top of array", `[{"k":1,"k":1}]`, ErrDuplicateName, "[0].k"},
		{"invalid UTF-8 value", "{\"name\":\"a\xffb\"}", ErrInvalidUTF8, "name"},
		{"invalid UTF-8 name", "{\"a\":{\"\xc3\":1}}", ErrInvalidUTF8, "a"},
		{"UTF-8 surrogate bytes", "{\"a\":\"\xed\xa0\x80\"}", ErrInvalidUTF8, "a"},
		{"overlong UTF-8", "{\"a\":\"\xc0\xaf\"}", ErrInvalidUTF8, "a"},
		{"lone high surrogate", `{"a":"\ud800"}`, ErrLoneSurrogate, "a"},
		{"lone low surrogate", `{"a":"\udc00"}`, ErrLoneSurrogate, "a"},
		{"high then not low", `{"a":"\ud800\u0041"}`, ErrLoneSurrogate, "a"},
		{"high then text", `{"a":"\ud800x"}`, ErrLoneSurrogate, "a"},
		{"high then high", `{"a":"\uD800\uD800"}`, ErrLoneSurrogate, "a"},
		{"surrogate in name", `{"\udfff":1}`, ErrLoneSurrogate, ""},
		{"surrogate deep", `{"d":[1,{"m":"x\ud800"}]}`, ErrLoneSurrogate, "d[1].m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.in))
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			var e *Error
			require.True(t, errors.As(err, &e), "%T", err)
			assert.Equal(t, tt.path, e.Path)
			assert.True(t, strings.HasPrefix(err.Error(), "jsonx: "), err.Error())
			assert.NoError(t, json.Unmarshal([]byte(tt.in), new(any)), "encoding/json alone takes it")
		})
	}
}

func TestCheckSyntax(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a":}`, `{"a":1}{}`, `{"a":1} x`, `nul`, "\"\x01\""} {
		err := Check([]byte(in))
		var syn *json.SyntaxError
		assert.True(t, errors.As(err, &syn), "%q: %v", in, err)
	}
}

func TestUnmarshal(t *testing.T) {
	in := `{"name":"n","count":2,"tags":["a"],"inner":{"key":"k","Value":1.5},"items":[{"key":"i"}],
		"attrs":{"X":{"key":"v"}},"raw":{"Any":1,"any":2},"any":{"K":[1]},"when":"2024-01-01T00:00:00Z",
		"Plain":"p","extra":true}`
	var got sample
	require.NoError(t, Unmarshal([]byte(in), &got))
	var want sample
	require.NoError(t, json.Unmarshal([]byte(in), &want))
	assert.Equal(t, want, got)
	assert.Equal(t, "n", got.Name)
	assert.True(t, got.Extra)
	assert.JSONEq(t, `{"Any":1,"any":2}`, string(got.Raw), "opaque values keep their names")
}

func TestUnmarshalRefuses(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
		path     string
	}{
		{"case-folded top", `{"name":"nope","Name":"custom"}`, ErrUnknownName, "Name"},
		{"case-folded after exact", `{"name":"a","NAME":"b"}`, ErrUnknownName, "NAME"},
		{"case-folded Kelvin", `{"inner":{"\u212aey":"k"}}`, ErrUnknownName, "inner.\u212aey"},
		{"case-folded tag with capital", `{"inner":{"value":1}}`, ErrUnknownName, "inner.value"},
		{"case-folded in slice", `{"items":[{"key":"a"},{"KEY":"b"}]}`, ErrUnknownName, "items[1].KEY"},
		{"case-folded in map value", `{"attrs":{"a":{"Key":"b"}}}`, ErrUnknownName, "attrs.a.Key"},
		{"case-folded embedded", `{"Extra":true}`, ErrUnknownName, "Extra"},
		{"untagged field by other case", `{"plain":"p"}`, ErrUnknownName, "plain"},
		{"skipped field", `{"Skip":"s"}`, ErrUnknownName, "Skip"},
		{"unknown", `{"colour":"red"}`, ErrUnknownName, "colour"},
		{"duplicate", `{"name":"a","name":"b"}`, ErrDuplicateName, "name"},
		{"duplicate in opaque raw", `{"raw":{"x":1,"x":2}}`, ErrDuplicateName, "raw.x"},
		{"duplicate in opaque any", `{"any":[{"x":1,"x":2}]}`, ErrDuplicateName, "any[0].x"},
		{"lone surrogate in opaque", `{"raw":"\ud800"}`, ErrLoneSurrogate, "raw"},
		{"invalid UTF-8 in map key", "{\"attrs\":{\"\xff\":{}}}", ErrInvalidUTF8, "attrs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v sample
			err := Unmarshal([]byte(tt.in), &v)
			require.ErrorIs(t, err, tt.want)
			var e *Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, tt.path, e.Path)
			assert.Equal(t, sample{}, v, "nothing decoded")
		})
	}
	// encoding/json's own errors come through as they are.
	var v sample
	var typ *json.UnmarshalTypeError
	assert.True(t, errors.As(Unmarshal([]byte(`{"inner":{"key":1}}`), &v), &typ))
	assert.Equal(t, "inner.key", typ.Field)
	var inv *json.InvalidUnmarshalError
	assert.True(t, errors.As(Unmarshal([]byte(`{}`), v), &inv))
}

func TestUnmarshalOpen(t *testing.T) {
	type envelope struct {
		Type    string `json:"Type"`
		Message string `json:"Message"`
	}
	var e envelope
	require.NoError(t, UnmarshalOpen([]byte(`{"Type":"Notification","Message":"m","Signature":"x","Other":{"a":1}}`), &e))
	assert.Equal(t, envelope{Type: "Notification", Message: "m"}, e)
	for in, path := range map[string]string{
		`{"Type":"Notification","type":"SubscriptionConfirmation"}`: "type",
		`{"message":"m"}`: "message",
	} {
		err := UnmarshalOpen([]byte(in), &envelope{})
		require.ErrorIs(t, err, ErrUnknownName, in)
		assert.Equal(t, path, err.(*Error).Path)
	}
	require.ErrorIs(t, UnmarshalOpen([]byte(`{"Other":1,"Other":2}`), &envelope{}), ErrDuplicateName)
}

// A name two embedded structs promote at one depth is dropped by
// encoding/json, and so it is unknown here; the shallower field wins.
func TestUnmarshalEmbeddingRules(t *testing.T) {
	type A struct{ X, Y int }
	type B struct {
		X int
		Z int `json:"y"`
	}
	type both struct {
		A
		B
		Y string // shallower than A.Y
	}
	var v both
	require.ErrorIs(t, Unmarshal([]byte(`{"X":1}`), &v), ErrUnknownName)
	require.NoError(t, Unmarshal([]byte(`{"Y":"s","y":2}`), &v))
	assert.Equal(t, "s", v.Y)
	assert.Equal(t, 2, v.Z)

	type twice struct {
		A
		P struct{ A }
	}
	var w twice
	require.NoError(t, Unmarshal([]byte(`{"X":1,"P":{"Y":2}}`), &w))
	assert.Equal(t, 1, w.X)
	assert.Equal(t, 2, w.P.Y)
}

func TestMarshalKeepsHTMLCharacters(t *testing.T) {
	b, err := Marshal(map[string]string{"url": "https://example.com/?a=1&b=<2>"})
	require.NoError(t, err)
	assert.Equal(t, `{"url":"https://example.com/?a=1&b=<2>"}`, string(b))
	std, _ := json.Marshal(map[string]string{"url": "&"})
	assert.Equal(t, `{"url":"\u0026"}`, string(std), "encoding/json would escape it")

	var buf bytes.Buffer
	require.NoError(t, NewEncoder(&buf).Encode("<&>"))
	assert.Equal(t, "\"<&>\"\n", buf.String())

	_, err = Marshal(func() {})
	assert.Error(t, err)
}

func TestCompact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"null", ""},
		{"  null \n", ""},
		{`{ "a" : [ 1, 2 ] }`, `{"a":[1,2]}`},
		{` "x" `, `"x"`},
		{`{"a":"<&>"}`, `{"a":"<&>"}`},
		{`{bad`, `{bad`},
	}
	for _, tt := range tests {
		got := Compact([]byte(tt.in))
		if tt.want == "" {
			assert.Nil(t, got, "%q", tt.in)
			continue
		}
		assert.Equal(t, tt.want, string(got), "%q", tt.in)
	}
}
