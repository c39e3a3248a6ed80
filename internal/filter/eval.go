package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"

	"github.com/valyala/fastjson"
)

// Document is an event decoded for matching: {"event", "data", "metadata"}.
// Decode an event once and match it against every subscriber's filter.
//
// The event's JSON is parsed with fastjson, which is over ten times faster
// than encoding/json into any and, reused, allocates nothing
// (BenchmarkDecode). It reads lazily (string escapes are undone on first
// use), so a Document is not safe for concurrent use: give each goroutine its
// own.
//
// data and metadata must be valid JSON; the service checks a payload once,
// before it is matched, and a Document does not check it again. Input that is
// not JSON gives an error, except for a few forms fastjson tolerates (NaN,
// for one), which then match nothing a filter can say about numbers. Of
// duplicate member names (which the service refuses), the first counts.
type Document struct {
	data, meta fastjson.Parser
	arena      fastjson.Arena
	root       *fastjson.Value
	raw, dig   []byte // scratch for a number's text and its digits
}

// A Document's errors do not wrap fastjson's, which quote the input: the
// subscriber's payload.
var (
	errDataNotJSON     = errors.New("filter: data is not valid JSON")
	errMetadataNotJSON = errors.New("filter: metadata is not valid JSON")
)

// NewDocument decodes an event for matching. data and metadata are JSON; an
// empty one (nil) is a missing member, which a filter can test with
// {"$exists": false}.
func NewDocument(event string, data, metadata json.RawMessage) (*Document, error) {
	d := new(Document)
	if err := d.Reset(event, data, metadata); err != nil {
		return nil, err
	}
	return d, nil
}

// Reset decodes another event into d, reusing its memory; what d held
// before is gone (after an error, d holds no event). A trigger that decodes event after event into one Document
// allocates nothing once the Document has grown to their size.
func (d *Document) Reset(event string, data, metadata json.RawMessage) error {
	d.root = nil
	d.arena.Reset()
	root := d.arena.NewObject()
	root.Set("event", d.arena.NewString(event))
	if len(data) > 0 {
		v, err := d.data.ParseBytes(data)
		if err != nil {
			return errDataNotJSON
		}
		root.Set("data", v)
	}
	if len(metadata) > 0 {
		v, err := d.meta.ParseBytes(metadata)
		if err != nil {
			return errMetadataNotJSON
		}
		root.Set("metadata", v)
	}
	d.root = root
	return nil
}

// documents are reused by Match, which decodes an event for one filter.
var documents = sync.Pool{New: func() any { return new(Document) }}

// number reads v (a JSON number) as a decimal whose digits live in d's
// scratch space until the next call.
func (d *Document) number(v *fastjson.Value) (decimal, bool) {
	d.raw = v.MarshalTo(d.raw[:0]) // a number marshals as its text
	dec, dig, ok := parseDecimal(d.raw, d.dig[:0])
	d.dig = dig
	return dec, ok
}

// node is a compiled condition. v is the value it applies to, nil when the
// member it names is missing.
type node interface {
	match(d *Document, v *fastjson.Value) bool
}

// all is a conjunction; the empty one is true.
type all []node

func (n all) match(d *Document, v *fastjson.Value) bool {
	for _, c := range n {
		if !c.match(d, v) {
			return false
		}
	}
	return true
}

// anyOf is a disjunction of at least one condition.
type anyOf []node

func (n anyOf) match(d *Document, v *fastjson.Value) bool {
	for _, c := range n {
		if c.match(d, v) {
			return true
		}
	}
	return false
}

type notNode struct{ n node }

func (n *notNode) match(d *Document, v *fastjson.Value) bool { return !n.n.match(d, v) }

// fieldNode applies cond to a member of an object. The member of anything
// that is not an object, or is missing, is missing.
type fieldNode struct {
	name string
	cond node
}

func (n *fieldNode) match(d *Document, v *fastjson.Value) bool {
	var m *fastjson.Value
	if v != nil && v.Type() == fastjson.TypeObject {
		o, _ := v.Object()
		m = o.Get(n.name)
	}
	return n.cond.match(d, m)
}

type eqNode struct{ lit literal }

func (n *eqNode) match(d *Document, v *fastjson.Value) bool { return v != nil && n.lit.equal(d, v) }

type inNode struct{ lits []literal }

func (n *inNode) match(d *Document, v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	for i := range n.lits {
		if n.lits[i].equal(d, v) {
			return true
		}
	}
	return false
}

type cmpOp uint8

const (
	opGT cmpOp = iota
	opGTE
	opLT
	opLTE
)

var cmpOps = map[string]cmpOp{"$gt": opGT, "$gte": opGTE, "$lt": opLT, "$lte": opLTE}

// cmpNode orders a number against a number or a string against a string;
// any other pairing, and a missing value, does not match.
type cmpNode struct {
	op    cmpOp
	isNum bool
	num   decimal
	str   []byte
}

func (n *cmpNode) match(d *Document, v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	var c int
	switch t := v.Type(); {
	case n.isNum && t == fastjson.TypeNumber:
		x, ok := d.number(v)
		if !ok {
			return false
		}
		c = cmpDecimal(x, n.num)
	case !n.isNum && t == fastjson.TypeString:
		b, _ := v.StringBytes()
		c = bytes.Compare(b, n.str)
	default:
		return false
	}
	switch n.op {
	case opGT:
		return c > 0
	case opGTE:
		return c >= 0
	case opLT:
		return c < 0
	}
	return c <= 0
}

type existsNode bool

func (n existsNode) match(_ *Document, v *fastjson.Value) bool { return (v != nil) == bool(n) }

type prefixNode []byte

func (n prefixNode) match(_ *Document, v *fastjson.Value) bool {
	if v == nil || v.Type() != fastjson.TypeString {
		return false
	}
	b, _ := v.StringBytes()
	return bytes.HasPrefix(b, n)
}

type suffixNode []byte

func (n suffixNode) match(_ *Document, v *fastjson.Value) bool {
	if v == nil || v.Type() != fastjson.TypeString {
		return false
	}
	b, _ := v.StringBytes()
	return bytes.HasSuffix(b, n)
}

// containsNode: a string contains a substring; an array contains an element
// matching elem. The operand "x" is both: substring of a string, element
// equal to "x" of an array.
type containsNode struct {
	isString bool
	sub      []byte
	elem     node
}

func (n *containsNode) match(d *Document, v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeString:
		if !n.isString {
			return false
		}
		b, _ := v.StringBytes()
		return bytes.Contains(b, n.sub)
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, el := range a {
			if n.elem.match(d, el) {
				return true
			}
		}
	}
	return false
}

// literal is a JSON value of a filter, compared for equality: same type and
// value, numbers as exact decimals, arrays element by element in order,
// objects member by member in any order.
type literal struct {
	kind kind
	b    bool
	s    string
	num  decimal
	arr  []literal
	obj  []litMember // sorted, no duplicates
}

type litMember struct {
	name string
	val  literal
}

func (l *literal) equal(d *Document, v *fastjson.Value) bool {
	t := v.Type()
	switch l.kind {
	case kindNull:
		return t == fastjson.TypeNull
	case kindBool:
		return l.b && t == fastjson.TypeTrue || !l.b && t == fastjson.TypeFalse
	case kindString:
		if t != fastjson.TypeString {
			return false
		}
		b, _ := v.StringBytes()
		return string(b) == l.s
	case kindNumber:
		if t != fastjson.TypeNumber {
			return false
		}
		x, ok := d.number(v)
		return ok && cmpDecimal(x, l.num) == 0
	case kindArray:
		if t != fastjson.TypeArray {
			return false
		}
		a, _ := v.Array()
		if len(a) != len(l.arr) {
			return false
		}
		for i := range l.arr {
			if !l.arr[i].equal(d, a[i]) {
				return false
			}
		}
		return true
	default:
		if t != fastjson.TypeObject {
			return false
		}
		o, _ := v.Object()
		if o.Len() != len(l.obj) {
			return false
		}
		for i := range l.obj {
			m := o.Get(l.obj[i].name)
			if m == nil || !l.obj[i].val.equal(d, m) {
				return false
			}
		}
		return true
	}
}
