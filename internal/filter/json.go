package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
)

// value is a filter's JSON as written, with object members in sorted order
// and duplicates kept (so the compiler can refuse them at their path).
// encoding/json's own decoding into any would fold duplicates (the last
// wins) and lose the number text.
type value struct {
	kind kind
	b    bool
	s    string // a string's contents or a number's text
	arr  []value
	obj  []member // sorted by name, stable
}

type member struct {
	name string
	val  value
}

type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

var errTrailing = errors.New("data after the JSON value")

// decodeValue decodes exactly one JSON value from raw.
func decodeValue(raw []byte) (value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeNext(dec)
	if err != nil {
		return value{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return value{}, errTrailing
	}
	return v, nil
}

func decodeNext(dec *json.Decoder) (value, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		return value{}, io.ErrUnexpectedEOF
	} else if err != nil {
		return value{}, err
	}
	switch t := tok.(type) {
	case nil:
		return value{kind: kindNull}, nil
	case bool:
		return value{kind: kindBool, b: t}, nil
	case json.Number:
		return value{kind: kindNumber, s: t.String()}, nil
	case string:
		return value{kind: kindString, s: t}, nil
	case json.Delim:
		switch t {
		case '[':
			v := value{kind: kindArray, arr: []value{}}
			for dec.More() {
				el, err := decodeNext(dec)
				if err != nil {
					return value{}, err
				}
				v.arr = append(v.arr, el)
			}
			_, err := dec.Token() // ']'
			return v, err
		case '{':
			v := value{kind: kindObject, obj: []member{}}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return value{}, err
				}
				el, err := decodeNext(dec)
				if err != nil {
					return value{}, err
				}
				v.obj = append(v.obj, member{name: k.(string), val: el})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return value{}, err
			}
			slices.SortStableFunc(v.obj, func(a, b member) int { return strings.Compare(a.name, b.name) })
			return v, nil
		}
	}
	return value{}, errors.New("unexpected JSON token")
}

// appendCanonical appends v as compact JSON with members in sorted order and
// numbers as written: the form a filter is stored and shown in.
func appendCanonical(dst []byte, v value) []byte {
	switch v.kind {
	case kindNull:
		return append(dst, "null"...)
	case kindBool:
		if v.b {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case kindNumber:
		return append(dst, v.s...)
	case kindString:
		return appendString(dst, v.s)
	case kindArray:
		dst = append(dst, '[')
		for i, el := range v.arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCanonical(dst, el)
		}
		return append(dst, ']')
	default:
		dst = append(dst, '{')
		for i, m := range v.obj {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, m.name)
			dst = append(dst, ':')
			dst = appendCanonical(dst, m.val)
		}
		return append(dst, '}')
	}
}

// appendString appends s as a JSON string, without the HTML escaping of
// encoding/json's Marshal (a filter on "<b>" stays readable).
func appendString(dst []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}
