package filter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

func webhookField(err error) string { return webhook.ErrorField(err) }

// nest wraps inner in n objects {"data": {"a": {"a": ...}}}.
func nest(n int, inner string) string {
	s := inner
	for range n - 1 {
		s = `{"a": ` + s + `}`
	}
	return `{"data": ` + s + `}`
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		field  string
		msg    string // a part of the message
	}{
		{"both problems: the first in sorted order", `{"data": {"amount": {"$gte": "x", "$bogus": 1}}}`, "filter.data.amount.$bogus", "unknown operator $bogus"},
		{"unknown operator", `{"data": {"amount": {"$gte": 1, "$gtee": 2}}}`, "filter.data.amount.$gtee", "unknown operator"},
		{"unknown operator in field position", `{"data": {"$where": "1"}}`, "filter.data.$where", "unknown operator"},
		{"Outpost's $exist is not ours", `{"data": {"x": {"$exist": true}}}`, "filter.data.x.$exist", "unknown operator"},
		{"operator at the root", `{"$eq": 1}`, "filter.$eq", "needs a field"},
		{"operator at the root through $or", `{"$or": [{"$exists": true}]}`, "filter.$or[0].$exists", "needs a field"},
		{"unknown root field", `{"topic": "x"}`, "filter.topic", `unknown field "topic"`},
		{"unknown root field through $and", `{"$and": [{"dat": {"a": 1}}]}`, "filter.$and[0].dat", "unknown field"},
		{"scalar at the root through $or", `{"$or": ["x"]}`, "filter.$or[0]", "must be an object"},
		{"not an object", `["data"]`, "filter", "must be a JSON object"},
		{"a string", `"data"`, "filter", "must be a JSON object"},
		{"invalid JSON", `{"data": }`, "filter", "not valid JSON"},
		{"truncated JSON", `{"data": {"a": 1}`, "filter", "not valid JSON"},
		{"trailing data", `{"data": {"a": 1}} {}`, "filter", "not valid JSON"},
		{"invalid UTF-8", "{\"data\": {\"a\": \"\xff\"}}", "filter", "UTF-8"},
		{"mixed fields and operators", `{"data": {"amount": {"$gt": 1, "currency": "usd"}}}`, "filter.data.amount", "either field names or operators"},
		{"duplicate member", `{"data": {"a": 1, "a": 2}}`, "filter.data.a", "appears twice"},
		{"duplicate operator", `{"data": {"a": {"$gt": 1, "$gt": 2}}}`, "filter.data.a.$gt", "appears twice"},
		{"duplicate member in a literal", `{"data": {"a": {"$eq": {"x": 1, "x": 1}}}}`, "filter.data.a.$eq.x", "appears twice"},
		{"empty condition object", `{"data": {}}`, "filter.data", "empty condition"},
		{"empty condition in $or", `{"$or": [{}]}`, "filter.$or[0]", "empty condition"},

		{"$in with a non-array", `{"data": {"a": {"$in": "usd"}}}`, "filter.data.a.$in", "$in takes an array"},
		{"$in with an object", `{"data": {"a": {"$in": {"x": 1}}}}`, "filter.data.a.$in", "$in takes an array"},
		{"$in empty", `{"data": {"a": {"$in": []}}}`, "filter.data.a.$in", "at least one value"},
		{"$nin with a non-array", `{"data": {"a": {"$nin": 1}}}`, "filter.data.a.$nin", "$nin takes an array"},
		{"$and with a non-array", `{"$and": {"data": {"a": 1}}}`, "filter.$and", "$and takes an array"},
		{"$and empty", `{"$and": []}`, "filter.$and", "at least one condition"},
		{"$or with a non-array", `{"data": {"$or": "x"}}`, "filter.data.$or", "$or takes an array"},
		{"$or empty", `{"data": {"a": {"$or": []}}}`, "filter.data.a.$or", "at least one condition"},
		{"$not with an array", `{"$not": [{"event": "x"}]}`, "filter.$not", "not an array"},
		{"$exists with a non-boolean", `{"data": {"a": {"$exists": 1}}}`, "filter.data.a.$exists", "true or false"},
		{"$exists with a string", `{"data": {"a": {"$exists": "true"}}}`, "filter.data.a.$exists", "true or false"},
		{"$gt with a boolean", `{"data": {"a": {"$gt": true}}}`, "filter.data.a.$gt", "a number or a string"},
		{"$lte with null", `{"data": {"a": {"$lte": null}}}`, "filter.data.a.$lte", "a number or a string"},
		{"$lt with an array", `{"data": {"a": {"$lt": [1]}}}`, "filter.data.a.$lt", "a number or a string"},
		{"$startsWith with a number", `{"data": {"a": {"$startsWith": 1}}}`, "filter.data.a.$startsWith", "takes a string"},
		{"$endsWith with an array", `{"data": {"a": {"$endsWith": ["x"]}}}`, "filter.data.a.$endsWith", "takes a string"},
		{"$contains with an array", `{"data": {"a": {"$contains": ["x", "y"]}}}`, "filter.data.a.$contains", "use $and"},
		{"error inside $contains", `{"data": {"a": {"$contains": {"$gt": {}}}}}`, "filter.data.a.$contains.$gt", "a number or a string"},
		{"error inside $or", `{"$or": [{"event": "x"}, {"data": {"a": {"$in": 1}}}]}`, "filter.$or[1].data.a.$in", "takes an array"},
		{"number out of range", `{"data": {"a": {"$gt": 1e9999999999}}}`, "filter.data.a.$gt", "out of range"},
		{"number out of range in $in", `{"data": {"a": {"$in": [1, 1e-9999999999]}}}`, "filter.data.a.$in[1]", "out of range"},

		{"depth over the bound", nest(MaxDepth, `{"$eq": 1}`), "filter.data" + strings.Repeat(".a", MaxDepth-1), "deeper than 8"},
		{"depth over the bound in a literal", `{"data": {"a": {"$eq": [[[[[[1]]]]]]}}}`, "filter.data.a.$eq[0][0][0][0][0]", "deeper than 8"},
		{"depth over the bound in $in", `{"data": {"a": {"b": {"c": {"d": {"e": {"$in": [[1]]}}}}}}}`, "filter.data.a.b.c.d.e.$in[0]", "deeper than 8"},
		{"depth over the bound in $and", `{"data": {"a": {"b": {"c": {"d": {"e": {"f": {"$and": [1]}}}}}}}}`, "filter.data.a.b.c.d.e.f.$and", "deeper than 8"},
		{"size over the bound", `{"data": {"a": "` + strings.Repeat("x", MaxSize) + `"}}`, "filter", "at most 4096"},
		{"raw size over the bound", `{"data": {"a": 1}}` + strings.Repeat(" ", 16*MaxSize), "filter", "at most 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(json.RawMessage(tt.filter))
			require.Error(t, err)
			assert.Nil(t, f)
			var we *webhook.Error
			require.True(t, errors.As(err, &we), "%T is not a *webhook.Error", err)
			assert.Equal(t, webhook.EInvalid, we.Code)
			assert.Equal(t, tt.field, we.Field)
			assert.Contains(t, we.Message, tt.msg)
		})
	}
}

// The first problem reported does not depend on the client's member order.
func TestParseErrorIsDeterministic(t *testing.T) {
	a := `{"data": {"amount": {"$gte": 1, "$bogus": 1, "$zap": 2}, "b": {"$in": 1}}}`
	b := `{"data": {"b": {"$in": 1}, "amount": {"$zap": 2, "$bogus": 1, "$gte": 1}}}`
	_, errA := Parse(json.RawMessage(a))
	_, errB := Parse(json.RawMessage(b))
	require.Error(t, errA)
	assert.Equal(t, errA, errB)
	assert.Equal(t, "filter.data.amount.$bogus", webhookField(errA))
}

func TestParseBounds(t *testing.T) {
	// Exactly at the depth bound is accepted.
	f, err := Parse(json.RawMessage(nest(MaxDepth-1, `{"$eq": 1}`)))
	require.NoError(t, err)
	ok, err := f.Match("e", json.RawMessage(`{"a":{"a":{"a":{"a":{"a":{"a":1}}}}}}`), nil)
	require.NoError(t, err)
	assert.True(t, ok)

	// Exactly at the size bound is accepted; white space does not count.
	prefix, suffix := `{"data":{"a":"`, `"}}`
	exact := prefix + strings.Repeat("x", MaxSize-len(prefix)-len(suffix)) + suffix
	require.Len(t, exact, MaxSize)
	_, err = Parse(json.RawMessage(exact))
	require.NoError(t, err)
	indented := strings.ReplaceAll(strings.ReplaceAll(exact, "{", "{\n    "), ":", " : ")
	require.Greater(t, len(indented), MaxSize)
	_, err = Parse(json.RawMessage(indented))
	require.NoError(t, err)
	_, err = Parse(json.RawMessage(prefix + strings.Repeat("x", MaxSize-len(prefix)-len(suffix)+1) + suffix))
	require.Error(t, err)
}

func TestCanonicalForm(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{}`, `{}`},
		{` { "data" : { "b" : 1 , "a" : [ 1 , 2.50 , 1e3 ] } } `, `{"data":{"a":[1,2.50,1e3],"b":1}}`},
		{`{"metadata": {"x": 1}, "data": {"y": "<&>"}, "event": "e"}`, `{"data":{"y":"<&>"},"event":"e","metadata":{"x":1}}`},
		{`{"data": {"s": "caf\u00e9\n\"\u2028"}}`, `{"data":{"s":"café\n\"\u2028"}}`},
		{`{"$or": [{"data": {"b": 1, "a": 2}}, {"event": "x"}]}`, `{"$or":[{"data":{"a":2,"b":1}},{"event":"x"}]}`},
	}
	for _, tt := range tests {
		f, err := Parse(json.RawMessage(tt.in))
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, f.String())
		b, err := f.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, tt.want, string(b))
	}
}
