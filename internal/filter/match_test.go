package filter

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// order is the data of the events the match tests use.
const order = `{
	"id": "ord_1",
	"amount": 150,
	"price": 19.90,
	"big": 12345678901234567891,
	"negative": -3.5,
	"zero": 0,
	"currency": "usd",
	"email": "alice@example.com",
	"created_at": "2025-01-15T10:20:30Z",
	"note": "",
	"unicode": "caf\u00e9 <b>",
	"paid": true,
	"refunded": false,
	"tracking": null,
	"tags": ["urgent", "vip", 7],
	"empty": [],
	"items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1, "gift": true}],
	"matrix": [[1, 2], [3]],
	"customer": {"tier": "gold", "address": {"country": "US", "zip": "12345"}},
	"count_text": "150"
}`

const meta = `{"source": "api", "region": "eu-west-1", "attempt": 1}`

func TestMatch(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		want   bool
	}{
		// The whole filter and the document's members.
		{"empty filter matches every event", `{}`, true},
		{"event bare", `{"event": "order.paid"}`, true},
		{"event other", `{"event": "order.refunded"}`, false},
		{"event prefix", `{"event": {"$startsWith": "order."}}`, true},
		{"metadata member", `{"metadata": {"source": "api"}}`, true},
		{"metadata number", `{"metadata": {"attempt": {"$lte": 1}}}`, true},
		{"fields of one object are ANDed", `{"data": {"currency": "usd", "amount": 150}}`, true},
		{"one false field fails the object", `{"data": {"currency": "usd", "amount": 151}}`, false},
		{"members of the root are ANDed", `{"event": "order.paid", "metadata": {"source": "web"}}`, false},

		// Bare values mean $eq, of any type.
		{"bare string", `{"data": {"currency": "usd"}}`, true},
		{"bare string case-sensitive", `{"data": {"currency": "USD"}}`, false},
		{"bare number", `{"data": {"amount": 150}}`, true},
		{"bare true", `{"data": {"paid": true}}`, true},
		{"bare false", `{"data": {"refunded": false}}`, true},
		{"bare false vs true", `{"data": {"paid": false}}`, false},
		{"bare null matches null", `{"data": {"tracking": null}}`, true},
		{"bare null does not match missing", `{"data": {"nope": null}}`, false},
		{"bare null does not match false", `{"data": {"refunded": null}}`, false},
		{"bare array is exact equality", `{"data": {"tags": ["urgent", "vip", 7]}}`, true},
		{"bare array order matters", `{"data": {"tags": ["vip", "urgent", 7]}}`, false},
		{"bare array subset is not equal", `{"data": {"tags": ["urgent"]}}`, false},
		{"bare scalar does not match array element", `{"data": {"tags": "urgent"}}`, false},
		{"bare empty array", `{"data": {"empty": []}}`, true},
		{"nested arrays", `{"data": {"matrix": [[1, 2], [3]]}}`, true},

		// Nested objects are paths.
		{"nested path", `{"data": {"customer": {"address": {"country": "US"}}}}`, true},
		{"nested path mismatch", `{"data": {"customer": {"address": {"country": "DE"}}}}`, false},
		{"nested object is a subset match", `{"data": {"customer": {"tier": "gold"}}}`, true},
		{"path through a missing member", `{"data": {"nope": {"deeper": 1}}}`, false},
		{"path through a scalar", `{"data": {"currency": {"deeper": 1}}}`, false},
		{"path does not index arrays", `{"data": {"items": {"sku": "a"}}}`, false},

		// $eq / $neq: deep JSON equality.
		{"$eq string", `{"data": {"currency": {"$eq": "usd"}}}`, true},
		{"$eq number exact", `{"data": {"amount": {"$eq": 150}}}`, true},
		{"$eq number other forms", `{"data": {"amount": {"$eq": 1.5e2}}}`, true},
		{"$eq number trailing zeros", `{"data": {"price": {"$eq": 19.9}}}`, true},
		{"$eq big integer exact", `{"data": {"big": {"$eq": 12345678901234567891}}}`, true},
		{"$eq big integer not rounded", `{"data": {"big": {"$eq": 12345678901234567890}}}`, false},
		{"$eq zero and negative zero", `{"data": {"zero": {"$eq": -0.0}}}`, true},
		{"$eq no type coercion", `{"data": {"count_text": {"$eq": 150}}}`, false},
		{"$eq no type coercion reverse", `{"data": {"amount": {"$eq": "150"}}}`, false},
		{"$eq object any member order", `{"data": {"customer": {"$eq": {"address": {"zip": "12345", "country": "US"}, "tier": "gold"}}}}`, true},
		{"$eq object must be whole", `{"data": {"customer": {"$eq": {"tier": "gold"}}}}`, false},
		{"$eq object operand is literal", `{"data": {"items": {"$eq": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1, "gift": true}]}}}`, true},
		{"$eq with $-keys literal", `{"data": {"customer": {"$eq": {"$gt": 1}}}}`, false},
		{"$eq null", `{"data": {"tracking": {"$eq": null}}}`, true},
		{"$eq missing is false", `{"data": {"nope": {"$eq": 1}}}`, false},
		{"$eq unicode after unescaping", `{"data": {"unicode": "café <b>"}}`, true},
		{"$eq escaped in filter", `{"data": {"unicode": "caf\u00e9 \u003cb>"}}`, true},
		{"$neq other", `{"data": {"currency": {"$neq": "eur"}}}`, true},
		{"$neq same", `{"data": {"currency": {"$neq": "usd"}}}`, false},
		{"$neq missing is true", `{"data": {"nope": {"$neq": "usd"}}}`, true},
		{"$neq other type is true", `{"data": {"amount": {"$neq": "150"}}}`, true},

		// $gt $gte $lt $lte: numbers with numbers, strings with strings.
		{"$gt number", `{"data": {"amount": {"$gt": 100}}}`, true},
		{"$gt equal", `{"data": {"amount": {"$gt": 150}}}`, false},
		{"$gte equal", `{"data": {"amount": {"$gte": 150}}}`, true},
		{"$gte equal other form", `{"data": {"amount": {"$gte": 150.000}}}`, true},
		{"$lt", `{"data": {"amount": {"$lt": 150.0001}}}`, true},
		{"$lt equal", `{"data": {"amount": {"$lt": 150}}}`, false},
		{"$lte", `{"data": {"amount": {"$lte": 1.5e2}}}`, true},
		{"range ANDed", `{"data": {"amount": {"$gte": 100, "$lt": 500}}}`, true},
		{"range ANDed outside", `{"data": {"amount": {"$gte": 100, "$lt": 150}}}`, false},
		{"$gt negative", `{"data": {"negative": {"$gt": -4}}}`, true},
		{"$lt negative", `{"data": {"negative": {"$lt": -3.4}}}`, true},
		{"$gt zero vs negative", `{"data": {"zero": {"$gt": -1e-9}}}`, true},
		{"$gt fraction", `{"data": {"price": {"$gt": 19.89999999999999999999}}}`, true},
		{"$lt big integer exact", `{"data": {"big": {"$lt": 12345678901234567892}}}`, true},
		{"$gt big integer exact", `{"data": {"big": {"$gt": 12345678901234567890}}}`, true},
		{"$gt tiny exponent", `{"data": {"amount": {"$gt": 1e-400}}}`, true},
		{"$lt huge exponent", `{"data": {"amount": {"$lt": 1e400}}}`, true},
		{"$gt string number text is not a number", `{"data": {"count_text": {"$gt": 100}}}`, false},
		{"$gt string", `{"data": {"currency": {"$gt": "eur"}}}`, true},
		{"$lt string byte order", `{"data": {"currency": {"$lt": "usd0"}}}`, true},
		{"string uppercase sorts first", `{"data": {"currency": {"$gt": "USD"}}}`, true},
		{"timestamp range", `{"data": {"created_at": {"$gte": "2025-01-01T00:00:00Z", "$lt": "2025-02-01T00:00:00Z"}}}`, true},
		{"timestamp range outside", `{"data": {"created_at": {"$gte": "2025-02-01T00:00:00Z"}}}`, false},
		{"$gt string vs number", `{"data": {"amount": {"$gt": "100"}}}`, false},
		{"$gt on bool", `{"data": {"paid": {"$gt": 0}}}`, false},
		{"$gt on null", `{"data": {"tracking": {"$gt": 0}}}`, false},
		{"$lt on missing", `{"data": {"nope": {"$lt": 1}}}`, false},
		{"$gt on array", `{"data": {"tags": {"$gt": 0}}}`, false},

		// $in / $nin.
		{"$in string", `{"data": {"currency": {"$in": ["eur", "usd"]}}}`, true},
		{"$in absent", `{"data": {"currency": {"$in": ["eur", "gbp"]}}}`, false},
		{"$in number other form", `{"data": {"amount": {"$in": [1, 1.5E+2]}}}`, true},
		{"$in mixed types no coercion", `{"data": {"amount": {"$in": ["150"]}}}`, false},
		{"$in null", `{"data": {"tracking": {"$in": [null]}}}`, true},
		{"$in is not substring", `{"data": {"currency": {"$in": ["us"]}}}`, false},
		{"$in does not unpack arrays", `{"data": {"tags": {"$in": ["urgent"]}}}`, false},
		{"$in array element is equality", `{"data": {"matrix": {"$in": [[[1, 2], [3]]]}}}`, true},
		{"$in object element", `{"data": {"customer": {"$in": [{"tier": "gold", "address": {"country": "US", "zip": "12345"}}]}}}`, true},
		{"$in missing", `{"data": {"nope": {"$in": [null, 1]}}}`, false},
		{"$nin absent", `{"data": {"currency": {"$nin": ["eur", "gbp"]}}}`, true},
		{"$nin present", `{"data": {"currency": {"$nin": ["usd"]}}}`, false},
		{"$nin missing is true", `{"data": {"nope": {"$nin": ["usd"]}}}`, true},

		// $exists.
		{"$exists true present", `{"data": {"currency": {"$exists": true}}}`, true},
		{"$exists true null counts as present", `{"data": {"tracking": {"$exists": true}}}`, true},
		{"$exists true missing", `{"data": {"nope": {"$exists": true}}}`, false},
		{"$exists false missing", `{"data": {"nope": {"$exists": false}}}`, true},
		{"$exists false present", `{"data": {"note": {"$exists": false}}}`, false},
		{"$exists false under missing parent", `{"data": {"nope": {"deeper": {"$exists": false}}}}`, true},
		{"$exists false under scalar", `{"data": {"currency": {"deeper": {"$exists": false}}}}`, true},
		{"$exists on metadata", `{"metadata": {"$exists": true}}`, true},

		// $startsWith / $endsWith.
		{"$startsWith", `{"data": {"email": {"$startsWith": "alice@"}}}`, true},
		{"$startsWith no", `{"data": {"email": {"$startsWith": "bob@"}}}`, false},
		{"$startsWith case-sensitive", `{"data": {"email": {"$startsWith": "Alice"}}}`, false},
		{"$startsWith empty", `{"data": {"note": {"$startsWith": ""}}}`, true},
		{"$endsWith", `{"data": {"email": {"$endsWith": "@example.com"}}}`, true},
		{"$endsWith no", `{"data": {"email": {"$endsWith": "@example.org"}}}`, false},
		{"$endsWith unicode", `{"data": {"unicode": {"$endsWith": "é <b>"}}}`, true},
		{"$startsWith on number", `{"data": {"amount": {"$startsWith": "1"}}}`, false},
		{"$endsWith on array", `{"data": {"tags": {"$endsWith": "vip"}}}`, false},
		{"$startsWith on missing", `{"data": {"nope": {"$startsWith": ""}}}`, false},

		// $contains: substring of a string, element of an array.
		{"$contains substring", `{"data": {"email": {"$contains": "@example"}}}`, true},
		{"$contains substring no", `{"data": {"email": {"$contains": "@examples"}}}`, false},
		{"$contains empty substring", `{"data": {"note": {"$contains": ""}}}`, true},
		{"$contains array string element", `{"data": {"tags": {"$contains": "vip"}}}`, true},
		{"$contains array element not substring", `{"data": {"tags": {"$contains": "vi"}}}`, false},
		{"$contains array number element", `{"data": {"tags": {"$contains": 7.0}}}`, true},
		{"$contains array condition", `{"data": {"items": {"$contains": {"sku": "b", "gift": true}}}}`, true},
		{"$contains array condition one element must hold all", `{"data": {"items": {"$contains": {"sku": "a", "gift": true}}}}`, false},
		{"$contains array operator condition", `{"data": {"items": {"$contains": {"qty": {"$gte": 2}}}}}`, true},
		{"$contains element operators", `{"data": {"tags": {"$contains": {"$startsWith": "urg"}}}}`, true},
		{"$contains exact element", `{"data": {"items": {"$contains": {"$eq": {"sku": "a", "qty": 2}}}}}`, true},
		{"$contains nested array", `{"data": {"matrix": {"$contains": {"$contains": 3}}}}`, true},
		{"$contains empty array", `{"data": {"empty": {"$contains": {"$exists": true}}}}`, false},
		{"$contains number on string", `{"data": {"count_text": {"$contains": 15}}}`, false},
		{"$contains on number", `{"data": {"amount": {"$contains": "15"}}}`, false},
		{"$contains on object", `{"data": {"customer": {"$contains": "gold"}}}`, false},
		{"$contains on missing", `{"data": {"nope": {"$contains": ""}}}`, false},
		{"several elements with $and", `{"data": {"tags": {"$and": [{"$contains": "urgent"}, {"$contains": "vip"}]}}}`, true},

		// $and $or $not, at the root, at a field, inside operators.
		{"$and root", `{"$and": [{"event": "order.paid"}, {"data": {"amount": {"$gt": 100}}}]}`, true},
		{"$and root one false", `{"$and": [{"event": "order.paid"}, {"data": {"amount": {"$gt": 200}}}]}`, false},
		{"$or root", `{"$or": [{"data": {"currency": "eur"}}, {"data": {"currency": "usd"}}]}`, true},
		{"$or root none", `{"$or": [{"data": {"currency": "eur"}}, {"data": {"currency": "gbp"}}]}`, false},
		{"$or inside a field", `{"data": {"$or": [{"currency": "eur"}, {"amount": 150}]}}`, true},
		{"$or of operator objects", `{"data": {"amount": {"$or": [{"$lt": 10}, {"$gt": 100}]}}}`, true},
		{"$or of bare values", `{"data": {"currency": {"$or": ["eur", "usd"]}}}`, true},
		{"$not root", `{"$not": {"event": "order.refunded"}}`, true},
		{"$not of operator", `{"data": {"currency": {"$not": {"$in": ["eur", "gbp"]}}}}`, true},
		{"$not of operator false", `{"data": {"currency": {"$not": {"$in": ["usd"]}}}}`, false},
		{"$not bare value", `{"data": {"currency": {"$not": "usd"}}}`, false},
		{"$not missing", `{"data": {"nope": {"$not": {"$gt": 1}}}}`, true},
		{"$not with sibling fields", `{"data": {"currency": "usd", "$not": {"amount": {"$lt": 100}}}}`, true},
		{"$not with sibling operators", `{"data": {"amount": {"$gt": 100, "$not": {"$eq": 150}}}}`, false},
		{"double negation", `{"$not": {"$not": {"event": "order.paid"}}}`, true},
		{"nested combinators", `{"$or": [{"$and": [{"event": "x"}, {"data": {"amount": 1}}]}, {"$not": {"metadata": {"source": {"$neq": "api"}}}}]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(json.RawMessage(tt.filter))
			require.NoError(t, err)
			got, err := f.Match("order.paid", json.RawMessage(order), json.RawMessage(meta))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			// A decoded document gives the same answer, as many times as asked.
			d, err := NewDocument("order.paid", json.RawMessage(order), json.RawMessage(meta))
			require.NoError(t, err)
			assert.Equal(t, tt.want, f.MatchDocument(d))
			assert.Equal(t, tt.want, f.MatchDocument(d))

			// The canonical form is an equivalent filter.
			g, err := Parse(json.RawMessage(f.String()))
			require.NoError(t, err)
			assert.Equal(t, f.String(), g.String())
			assert.Equal(t, tt.want, g.MatchDocument(d))
		})
	}
}

func TestMatchMissingMembers(t *testing.T) {
	tests := []struct {
		name           string
		filter         string
		data, metadata string
		want           bool
	}{
		{"no metadata, $exists false", `{"metadata": {"$exists": false}}`, `{}`, ``, true},
		{"no metadata, field under it", `{"metadata": {"source": "api"}}`, `{}`, ``, false},
		{"null metadata is present", `{"metadata": {"$exists": true}}`, `{}`, `null`, true},
		{"null metadata, field under it", `{"metadata": {"source": {"$exists": false}}}`, `{}`, `null`, true},
		{"no data", `{"data": {"$exists": false}}`, ``, ``, true},
		{"scalar data", `{"data": {"$gt": 5}}`, `7`, ``, true},
		{"array data", `{"data": {"$contains": {"id": 2}}}`, `[{"id": 1}, {"id": 2}]`, ``, true},
		{"string data", `{"data": {"$endsWith": "lo"}}`, `"hello"`, ``, true},
		{"escaped member name", `{"data": {"a\"b": 1}}`, `{"a\u0022b": 1}`, ``, true},
		{"first of duplicate members counts", `{"data": {"a": 1}}`, `{"a": 1, "a": 2}`, ``, true},
		{"NaN is no number", `{"data": {"x": {"$lt": 1}}}`, `{"x": NaN}`, ``, false},
		{"NaN is not equal", `{"data": {"x": {"$neq": 1}}}`, `{"x": NaN}`, ``, true},
		{"huge exponent in data", `{"data": {"x": {"$gt": 1e1000}}}`, `{"x": 1e99999999999999999999}`, ``, true},
		{"tiny exponent in data", `{"data": {"x": {"$lt": 1e-1000, "$gt": 0}}}`, `{"x": 1e-99999999999999999999}`, ``, true},
		{"negative huge in data", `{"data": {"x": {"$lt": -1e1000}}}`, `{"x": -1e99999999999999999999}`, ``, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(json.RawMessage(tt.filter))
			require.NoError(t, err)
			got, err := f.Match("order.paid", json.RawMessage(tt.data), json.RawMessage(tt.metadata))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNilFilterMatchesEverything(t *testing.T) {
	for _, raw := range []string{``, `null`, ` null `} {
		f, err := Parse(json.RawMessage(raw))
		require.NoError(t, err)
		require.Nil(t, f)
		ok, err := f.Match("order.paid", json.RawMessage(`{}`), nil)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, "null", f.String())
	}
}

func TestDocumentRefusesInvalidJSON(t *testing.T) {
	f, err := Parse(json.RawMessage(`{"data": {"a": 1}}`))
	require.NoError(t, err)
	for _, tt := range []struct{ data, metadata, want string }{
		{`{"a": `, ``, "filter: data is not valid JSON"},
		{`{}`, `{"secret": "s3cr3t"`, "filter: metadata is not valid JSON"},
		{`{} {}`, ``, "filter: data is not valid JSON"},
	} {
		_, err := f.Match("e", json.RawMessage(tt.data), json.RawMessage(tt.metadata))
		require.EqualError(t, err, tt.want)
	}
}

func TestUnmarshalJSON(t *testing.T) {
	var w struct {
		Filter *Filter `json:"filter"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"filter": {"data": {"b": 1, "a": {"$in": [1, 2]}}}}`), &w))
	require.NotNil(t, w.Filter)
	assert.Equal(t, `{"data":{"a":{"$in":[1,2]},"b":1}}`, w.Filter.String())
	out, err := json.Marshal(w)
	require.NoError(t, err)
	assert.JSONEq(t, `{"filter": {"data": {"a": {"$in": [1, 2]}, "b": 1}}}`, string(out))

	w.Filter = nil
	require.NoError(t, json.Unmarshal([]byte(`{"filter": null}`), &w))
	assert.Nil(t, w.Filter)

	err = json.Unmarshal([]byte(`{"filter": {"data": {"$bogus": 1}}}`), &w)
	require.Error(t, err)
	assert.Equal(t, "filter.data.$bogus", webhookField(err))
}
