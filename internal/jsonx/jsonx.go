// Package jsonx is encoding/json held to the rules the service applies to
// JSON from outside: what encoding/json would read by guessing is refused.
//
// encoding/json replaces invalid UTF-8 and an escaped lone surrogate
// ("\ud800") with U+FFFD, keeps the last of two members with one name, and
// matches a member to a struct field ignoring case, so {"event":"a",
// "Event":"b"} reads as "b". Receivers' parsers differ on each of these
// (some keep the first member, some refuse), so the same text could mean one
// thing here and another to a subscriber. Check refuses such text at any
// depth, opaque values (json.RawMessage, any) included; Unmarshal also
// requires every member name of an object decoded into a struct to be one of
// its fields' JSON names exactly.
//
// Marshal and NewEncoder write without HTML escaping, Compact normalises a
// raw value.
package jsonx

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The reasons an *Error gives.
var (
	ErrInvalidUTF8   = errors.New("jsonx: invalid UTF-8")
	ErrLoneSurrogate = errors.New("jsonx: escaped lone surrogate")
	ErrDuplicateName = errors.New("jsonx: duplicate member name")
	ErrUnknownName   = errors.New("jsonx: unknown member name")
)

// An Error is text that Check or Unmarshal refuse although encoding/json
// would read it.
type Error struct {
	Err    error  // ErrInvalidUTF8, ErrLoneSurrogate, ErrDuplicateName or ErrUnknownName
	Path   string // the member concerned: "name", "retry.strategy", "items[2].id"; "" for the top level
	Offset int64  // where in the input it was found
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%v at byte %d", e.Err, e.Offset)
	}
	return fmt.Sprintf("%v at %s (byte %d)", e.Err, e.Path, e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }

// Check reports whether data is one JSON value that is valid UTF-8 with no
// escaped lone surrogate and no object that has a member name twice (names
// compared after unescaping: "a" and "\u0061" are the same). Bad syntax is
// encoding/json's *json.SyntaxError; everything else an *Error.
func Check(data []byte) error {
	return check(data, nil, false)
}

// Unmarshal decodes data into v as json.Unmarshal does, but strictly: data
// must pass Check, and every member of an object decoded into a struct
// (at any depth of v's type: through pointers, structs, maps, slices and
// arrays) must be named exactly as one of the struct's fields (case
// matters; an unknown name is an *Error with ErrUnknownName). Values decoded
// into json.RawMessage, an interface or another type with its own
// UnmarshalJSON or UnmarshalText are opaque: only Check applies inside them.
func Unmarshal(data []byte, v any) error { return unmarshal(data, v, false) }

// UnmarshalOpen is Unmarshal for an open object, one that may carry members
// v does not name (an envelope of another service): those are skipped, as
// json.Unmarshal skips them, but a name that matches a field only when case
// is ignored is still refused with ErrUnknownName, since json.Unmarshal would
// take it for that field.
func UnmarshalOpen(data []byte, v any) error { return unmarshal(data, v, true) }

func unmarshal(data []byte, v any, open bool) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &json.InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	if err := check(data, rv.Type(), open); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if !open {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

// Marshal is json.Marshal without HTML escaping: "<", ">" and "&" are written
// as they are, where encoding/json writes six bytes for each. Nothing the
// service writes is read as HTML, and a URL keeps its '&'.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// NewEncoder returns a json.Encoder writing to w without HTML escaping.
func NewEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// Compact returns raw without insignificant white space, and nil for no
// value or JSON null, so that an absent value and null are the same. raw that
// is not valid JSON is returned as it is: callers pass values a decoder
// produced.
func Compact(raw []byte) []byte {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	var buf bytes.Buffer
	buf.Grow(len(t))
	if err := json.Compact(&buf, t); err != nil {
		return raw
	}
	return buf.Bytes()
}

// check validates data and, when t is not nil, its member names against the
// type t (a pointer to the decoding target).
func check(data []byte, t reflect.Type, open bool) error {
	if !json.Valid(data) {
		// The scanner's own error, with its offset.
		var v json.RawMessage
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		return errors.New("jsonx: not valid JSON")
	}
	c := checker{data: data, open: open}
	return c.value(t)
}

// checker walks a syntactically valid JSON text (json.Valid said so, which
// also bounds its nesting depth), so it only looks for what the syntax
// allows and encoding/json would silently accept.
type checker struct {
	data []byte
	i    int
	open bool
	path []step // where the walk is, for errors
}

// step is a member name, or an array index when index >= 0.
type step struct {
	name  string
	index int
}

func (c *checker) fail(err error, at int, path string) error {
	return &Error{Err: err, Path: path, Offset: int64(at)}
}

// where is the current path, with name appended when it is not "".
func (c *checker) where(name string) string {
	var b strings.Builder
	for _, s := range c.path {
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	if name != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(name)
	}
	return b.String()
}

func (c *checker) space() {
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// value checks the value at c.i; t is the type it decodes into (nil:
// opaque, only Check applies).
func (c *checker) value(t reflect.Type) error {
	c.space()
	switch c.data[c.i] {
	case '{':
		return c.object(t)
	case '[':
		return c.array(elem(t))
	case '"':
		_, err := c.str(false)
		return err
	}
	// A number, true, false or null.
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return nil
		}
		c.i++
	}
	return nil
}

func (c *checker) object(t reflect.Type) error {
	var fields *structFields
	var values reflect.Type // a map's element type
	switch t = target(t); {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = fieldsOf(t)
	case t.Kind() == reflect.Map:
		values = t.Elem()
	}
	c.i++ // '{'
	c.space()
	if c.data[c.i] == '}' {
		c.i++
		return nil
	}
	var seen map[string]struct{}
	for {
		c.space()
		at := c.i
		name, err := c.str(true)
		if err != nil {
			return err
		}
		if _, dup := seen[name]; dup {
			return c.fail(ErrDuplicateName, at, c.where(name))
		}
		if seen == nil {
			seen = make(map[string]struct{})
		}
		seen[name] = struct{}{}
		member := values
		if fields != nil {
			ft, ok := fields.exact[name]
			if !ok && (!c.open || fields.folds(name)) {
				return c.fail(ErrUnknownName, at, c.where(name))
			}
			member = ft
		}
		c.space()
		c.i++ // ':'
		c.path = append(c.path, step{name: name, index: -1})
		if err := c.value(member); err != nil {
			return err
		}
		c.path = c.path[:len(c.path)-1]
		c.space()
		if c.data[c.i] == '}' {
			c.i++
			return nil
		}
		c.i++ // ','
	}
}

func (c *checker) array(t reflect.Type) error {
	c.i++ // '['
	c.space()
	if c.data[c.i] == ']' {
		c.i++
		return nil
	}
	for n := 0; ; n++ {
		c.path = append(c.path, step{index: n})
		if err := c.value(t); err != nil {
			return err
		}
		c.path = c.path[:len(c.path)-1]
		c.space()
		if c.data[c.i] == ']' {
			c.i++
			return nil
		}
		c.i++ // ','
	}
}

// str checks the string at c.i and moves past it. For a member name (key)
// it returns the name unescaped. An error names the member the string is
// (or, for a member name, the object it is in).
func (c *checker) str(key bool) (string, error) {
	c.i++ // '"'
	start, escaped := c.i, false
	for {
		b := c.data[c.i]
		switch {
		case b == '"':
			raw := c.data[start:c.i]
			c.i++
			if !key {
				return "", nil
			}
			if !escaped {
				return string(raw), nil
			}
			var s string
			// Valid escapes and UTF-8 (checked above) unescape faithfully.
			err := json.Unmarshal(c.data[start-1:c.i], &s)
			return s, err
		case b == '\\':
			escaped = true
			if c.data[c.i+1] != 'u' {
				c.i += 2
				continue
			}
			r := hex4(c.data[c.i+2 : c.i+6])
			switch {
			case r >= 0xD800 && r < 0xDC00:
				// A high surrogate must be followed by an escaped low one.
				if c.i+12 > len(c.data) || c.data[c.i+6] != '\\' || c.data[c.i+7] != 'u' {
					return "", c.fail(ErrLoneSurrogate, c.i, c.where(""))
				}
				if lo := hex4(c.data[c.i+8 : c.i+12]); lo < 0xDC00 || lo >= 0xE000 {
					return "", c.fail(ErrLoneSurrogate, c.i, c.where(""))
				}
				c.i += 12
			case r >= 0xDC00 && r < 0xE000:
				return "", c.fail(ErrLoneSurrogate, c.i, c.where(""))
			default:
				c.i += 6
			}
		case b < utf8.RuneSelf:
			c.i++
		default:
			r, n := utf8.DecodeRune(c.data[c.i:])
			if r == utf8.RuneError && n == 1 {
				return "", c.fail(ErrInvalidUTF8, c.i, c.where(""))
			}
			c.i += n
		}
	}
}

// hex4 reads four hex digits (valid: the syntax was checked).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// target is the type whose member names an object decoded into t must
// match: t without pointers, or nil when t decodes itself (json.RawMessage,
// time.Time...) or takes any value (an interface).
func target(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
			t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
			return nil
		}
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
		case reflect.Interface:
			return nil
		default:
			return t
		}
	}
	return nil
}

// elem is the element type of an array decoded into t, nil if none.
func elem(t reflect.Type) reflect.Type {
	if t = target(t); t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}

// structFields are a struct's fields as encoding/json sees them: by JSON
// name, with the names in a list for the case-folding comparison.
type structFields struct {
	exact map[string]reflect.Type
	names []string
}

// folds reports whether encoding/json would take name for one of the fields
// (its name matches when case is ignored).
func (f *structFields) folds(name string) bool {
	for _, n := range f.names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f, _ := fieldCache.LoadOrStore(t, typeFields(t))
	return f.(*structFields)
}

// typeFields follows encoding/json's rules (its typeFields): exported
// fields, the fields of untagged embedded structs promoted, "-" skipped; of
// fields with one name the shallowest wins, a tagged one over untagged ones
// at its depth, and a name still ambiguous is dropped (as is one promoted
// from a struct embedded twice at one depth).
func typeFields(t reflect.Type) *structFields {
	type field struct {
		name   string
		typ    reflect.Type
		depth  int
		tagged bool
	}
	var all []field
	current, next := []reflect.Type{}, []reflect.Type{t}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	for depth := 0; len(next) > 0; depth++ {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, st := range current {
			if visited[st] {
				continue
			}
			visited[st] = true
			for i := range st.NumField() {
				sf := st.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if !validTag(name) {
					name = ""
				}
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := field{name: name, typ: sf.Type, depth: depth, tagged: name != ""}
					if f.name == "" {
						f.name = sf.Name
					}
					all = append(all, f)
					if count[st] > 1 {
						all = append(all, f) // embedded twice: ambiguous
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, ft)
				}
			}
		}
	}
	byName := map[string][]field{}
	var order []string
	for _, f := range all {
		if _, ok := byName[f.name]; !ok {
			order = append(order, f.name)
		}
		byName[f.name] = append(byName[f.name], f)
	}
	out := &structFields{exact: map[string]reflect.Type{}}
	for _, name := range order {
		fs := byName[name]
		best := fs[0].depth
		for _, f := range fs {
			best = min(best, f.depth)
		}
		var top, tagged []field
		for _, f := range fs {
			if f.depth == best {
				top = append(top, f)
				if f.tagged {
					tagged = append(tagged, f)
				}
			}
		}
		switch {
		case len(top) == 1:
		case len(tagged) == 1:
			top = tagged
		default:
			continue // ambiguous: encoding/json drops the name
		}
		out.exact[name] = top[0].typ
		out.names = append(out.names, name)
	}
	return out
}

// validTag is encoding/json's test of a tag name (isValidTag); an invalid
// one is ignored there, and the field keeps its Go name.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
