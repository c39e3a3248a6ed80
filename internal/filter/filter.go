// Package filter is the payload filter language of webhooks: a JSON object
// that an event must match to be delivered, evaluated against the document
// {"event": ..., "data": ..., "metadata": ...} of the event.
//
//	{"data": {"amount": {"$gte": 100}, "currency": "usd"}}
//	{"$or": [{"event": "user.created"}, {"metadata": {"source": {"$startsWith": "api"}}}]}
//
// Parse validates a filter once, when a webhook is created or changed, and
// compiles it into an evaluation tree, so matching an event does no parsing of
// the filter. An event is decoded once (NewDocument) and matched against every
// subscriber's filter (MatchDocument). The language (grammar, operators, the
// treatment of types, missing fields and null, the bounds) is specified in
// docs/filters.md.
package filter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// Bounds on a filter. They keep it small enough to store with its webhook and
// cheap enough to evaluate against every event it subscribes to.
const (
	// MaxSize is the most bytes a filter's canonical form may have (compact,
	// members sorted); white space a client adds does not count.
	MaxSize = 4096
	// MaxDepth is the deepest nesting of objects and arrays in a filter, the
	// filter object itself being depth 1: {"data": {"amount": {"$in": [1]}}}
	// has depth 4.
	MaxDepth = 8
	// maxRawSize bounds the input before it is decoded at all, generous for
	// indentation around a filter of MaxSize.
	maxRawSize = 16 * MaxSize
)

// field is the input field errors name: "filter", and the JSON path of the
// offending member below it ("filter.data.amount.$gte").
const field = "filter"

// Filter is a parsed, validated filter. It is immutable and safe for
// concurrent use. A nil *Filter matches every event: it is a webhook without a
// filter.
type Filter struct {
	root      node
	canonical []byte
}

// Parse validates raw and compiles it. An empty raw or JSON null gives a nil
// *Filter (no filter) and no error. Every problem is an *webhook.Error with
// code EInvalid whose Field is "filter" followed by the JSON path of the bad
// member ("filter.data.amount.$gte", "filter.$or[1]"); when a filter has
// several problems the first in sorted member order is reported, so the
// answer does not depend on how the client ordered its keys.
func Parse(raw json.RawMessage) (*Filter, error) {
	trimmed := strings.TrimSpace(string(raw))
	if trimmed == "" || trimmed == "null" {
		return nil, nil
	}
	if len(raw) > maxRawSize {
		return nil, webhook.Invalid(field, "filter is %d bytes; at most %d are allowed", len(raw), MaxSize)
	}
	if !utf8.Valid(raw) {
		return nil, webhook.Invalid(field, "filter is not valid UTF-8")
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, webhook.Invalid(field, "filter is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if v.kind != kindObject {
		return nil, webhook.Invalid(field, "filter must be a JSON object")
	}
	canonical := appendCanonical(nil, v)
	if len(canonical) > MaxSize {
		return nil, webhook.Invalid(field, "filter is %d bytes (compact); at most %d are allowed", len(canonical), MaxSize)
	}
	root, err := compile(v, field, 1, ctxTop)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root, canonical: canonical}, nil
}

// MarshalJSON returns the filter's canonical form: compact JSON with object
// members in sorted order and numbers as written. Parsing it gives an
// equivalent filter with the same canonical form.
func (f *Filter) MarshalJSON() ([]byte, error) {
	if f == nil {
		return []byte("null"), nil
	}
	return append([]byte(nil), f.canonical...), nil
}

// UnmarshalJSON parses b into f (see Parse). JSON null leaves f unchanged; a
// *Filter field decoded from null stays nil.
func (f *Filter) UnmarshalJSON(b []byte) error {
	g, err := Parse(b)
	if err != nil {
		return err
	}
	if g != nil {
		*f = *g
	}
	return nil
}

// String returns the canonical form.
func (f *Filter) String() string {
	b, _ := f.MarshalJSON()
	return string(b)
}

// Match reports whether the event matches f. It decodes the event on every
// call; to match one event against many filters, decode it once with
// NewDocument and call MatchDocument.
func (f *Filter) Match(event string, data, metadata json.RawMessage) (bool, error) {
	if f == nil {
		return true, nil
	}
	d := documents.Get().(*Document)
	defer documents.Put(d)
	if err := d.Reset(event, data, metadata); err != nil {
		return false, err
	}
	return f.MatchDocument(d), nil
}

// MatchDocument reports whether the decoded event d matches f.
func (f *Filter) MatchDocument(d *Document) bool {
	if f == nil {
		return true
	}
	return f.root.match(d, d.root)
}

// Operators, by the role they play in a condition object.
var (
	combinators = map[string]bool{"$and": true, "$or": true, "$not": true}
	comparisons = map[string]bool{
		"$eq": true, "$neq": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true,
		"$in": true, "$nin": true, "$exists": true,
		"$startsWith": true, "$endsWith": true, "$contains": true,
	}
	operatorList = "$eq, $neq, $gt, $gte, $lt, $lte, $in, $nin, $exists, $startsWith, $endsWith, $contains, $and, $or, $not"
	// rootFields are the members of the document a filter is evaluated on.
	rootFields = map[string]bool{"event": true, "data": true, "metadata": true}
)

// position says where a condition stands: at the document (whose members are
// known, and which no comparison can apply to), and whether it is the filter
// object itself (the only place an empty object, meaning "every event", is
// allowed).
type position uint8

const (
	ctxValue position = iota // a condition on a value inside the document
	ctxRoot                  // a condition on the document itself
	ctxTop                   // the filter object
)

// compile turns the condition v at path p (depth: its nesting, if it is an
// object or array) into an evaluation node.
func compile(v value, p string, depth int, ctx position) (node, error) {
	if (v.kind == kindObject || v.kind == kindArray) && depth > MaxDepth {
		return nil, webhook.Invalid(p, "filter nests deeper than %d levels of objects and arrays", MaxDepth)
	}
	if v.kind != kindObject {
		if ctx != ctxValue {
			return nil, webhook.Invalid(p, "a condition on the whole event must be an object naming event, data or metadata")
		}
		lit, err := literalOf(v, p, depth)
		if err != nil {
			return nil, err
		}
		return &eqNode{lit}, nil // a bare value means $eq
	}
	if len(v.obj) == 0 {
		if ctx == ctxTop {
			return all(nil), nil
		}
		return nil, webhook.Invalid(p, "empty condition object; use $exists to test that a field is present")
	}
	var nodes []node
	var firstField, firstOp string
	for i, m := range v.obj {
		mp := p + "." + m.name
		if i > 0 && v.obj[i-1].name == m.name {
			return nil, webhook.Invalid(mp, "member %q appears twice", m.name)
		}
		var n node
		var err error
		switch {
		case combinators[m.name]:
			inner := ctx
			if inner == ctxTop {
				inner = ctxRoot
			}
			n, err = compileCombinator(m.name, m.val, mp, depth, inner)
		case comparisons[m.name]:
			if ctx != ctxValue {
				return nil, webhook.Invalid(mp, "operator %s needs a field to apply to; name event, data or metadata first", m.name)
			}
			if firstOp == "" {
				firstOp = m.name
			}
			n, err = compileOperator(m.name, m.val, mp, depth)
		case strings.HasPrefix(m.name, "$"):
			return nil, webhook.Invalid(mp, "unknown operator %s; use one of %s", m.name, operatorList)
		default:
			if ctx != ctxValue && !rootFields[m.name] {
				return nil, webhook.Invalid(mp, "unknown field %q; a filter tests event, data and metadata", m.name)
			}
			if firstField == "" {
				firstField = m.name
			}
			var inner node
			inner, err = compile(m.val, mp, depth+1, ctxValue)
			n = &fieldNode{name: m.name, cond: inner}
		}
		if err != nil {
			return nil, err
		}
		if firstField != "" && firstOp != "" {
			return nil, webhook.Invalid(p, "a condition object holds either field names or operators, not both (%q and %s); combine them with $and", firstField, firstOp)
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return all(nodes), nil
}

func compileCombinator(op string, v value, p string, depth int, ctx position) (node, error) {
	if op == "$not" {
		if v.kind == kindArray {
			return nil, webhook.Invalid(p, "$not takes one condition, not an array; to negate several, use {\"$not\": {\"$or\": [...]}}")
		}
		n, err := compile(v, p, depth+1, ctx)
		if err != nil {
			return nil, err
		}
		return &notNode{n}, nil
	}
	if v.kind != kindArray {
		return nil, webhook.Invalid(p, "%s takes an array of conditions", op)
	}
	if depth+1 > MaxDepth {
		return nil, webhook.Invalid(p, "filter nests deeper than %d levels of objects and arrays", MaxDepth)
	}
	if len(v.arr) == 0 {
		return nil, webhook.Invalid(p, "%s needs at least one condition", op)
	}
	nodes := make([]node, len(v.arr))
	for i, el := range v.arr {
		n, err := compile(el, p+"["+strconv.Itoa(i)+"]", depth+2, ctx)
		if err != nil {
			return nil, err
		}
		nodes[i] = n
	}
	if op == "$or" {
		return anyOf(nodes), nil
	}
	return all(nodes), nil
}

func compileOperator(op string, v value, p string, depth int) (node, error) {
	switch op {
	case "$eq", "$neq":
		lit, err := literalOf(v, p, depth+1)
		if err != nil {
			return nil, err
		}
		if op == "$neq" {
			return &notNode{&eqNode{lit}}, nil
		}
		return &eqNode{lit}, nil
	case "$gt", "$gte", "$lt", "$lte":
		n := &cmpNode{op: cmpOps[op]}
		switch v.kind {
		case kindNumber:
			d, err := numberOf(v.s, p)
			if err != nil {
				return nil, err
			}
			n.num, n.isNum = d, true
		case kindString:
			n.str = []byte(v.s)
		default:
			return nil, webhook.Invalid(p, "%s takes a number or a string", op)
		}
		return n, nil
	case "$in", "$nin":
		if v.kind != kindArray {
			return nil, webhook.Invalid(p, "%s takes an array of values", op)
		}
		if len(v.arr) == 0 {
			return nil, webhook.Invalid(p, "%s needs at least one value", op)
		}
		lit, err := literalOf(v, p, depth+1)
		if err != nil {
			return nil, err
		}
		n := &inNode{lit.arr}
		if op == "$nin" {
			return &notNode{n}, nil
		}
		return n, nil
	case "$exists":
		if v.kind != kindBool {
			return nil, webhook.Invalid(p, "$exists takes true or false")
		}
		return existsNode(v.b), nil
	case "$startsWith", "$endsWith":
		if v.kind != kindString {
			return nil, webhook.Invalid(p, "%s takes a string", op)
		}
		if op == "$startsWith" {
			return prefixNode([]byte(v.s)), nil
		}
		return suffixNode([]byte(v.s)), nil
	case "$contains":
		if v.kind == kindArray {
			return nil, webhook.Invalid(p, "$contains takes one value or condition, not an array; to require several elements, use $and")
		}
		elem, err := compile(v, p, depth+1, ctxValue)
		if err != nil {
			return nil, err
		}
		n := &containsNode{elem: elem}
		if v.kind == kindString {
			n.sub, n.isString = []byte(v.s), true
		}
		return n, nil
	}
	return nil, fmt.Errorf("filter: operator %s has no compiler", op) // unreachable: comparisons lists them
}

// literalOf converts v (at depth, if it is an object or array) to a literal
// for equality, refusing what the language refuses everywhere: nesting past
// MaxDepth, duplicate members and numbers out of range.
func literalOf(v value, p string, depth int) (literal, error) {
	switch v.kind {
	case kindNull:
		return literal{kind: kindNull}, nil
	case kindBool:
		return literal{kind: kindBool, b: v.b}, nil
	case kindString:
		return literal{kind: kindString, s: v.s}, nil
	case kindNumber:
		d, err := numberOf(v.s, p)
		return literal{kind: kindNumber, num: d}, err
	}
	if depth > MaxDepth {
		return literal{}, webhook.Invalid(p, "filter nests deeper than %d levels of objects and arrays", MaxDepth)
	}
	if v.kind == kindArray {
		l := literal{kind: kindArray, arr: make([]literal, len(v.arr))}
		for i, el := range v.arr {
			var err error
			if l.arr[i], err = literalOf(el, p+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return literal{}, err
			}
		}
		return l, nil
	}
	l := literal{kind: kindObject, obj: make([]litMember, len(v.obj))}
	for i, m := range v.obj {
		mp := p + "." + m.name
		if i > 0 && v.obj[i-1].name == m.name {
			return literal{}, webhook.Invalid(mp, "member %q appears twice", m.name)
		}
		el, err := literalOf(m.val, mp, depth+1)
		if err != nil {
			return literal{}, err
		}
		l.obj[i] = litMember{name: m.name, val: el}
	}
	return l, nil
}

func numberOf(text, p string) (decimal, error) {
	d, _, ok := parseDecimal([]byte(text), nil)
	if !ok || d.exp > maxExp || d.exp < -maxExp {
		return decimal{}, webhook.Invalid(p, "number %s is out of range", text)
	}
	return d, nil
}
