package api_test

import (
	"encoding/json"
	"strings"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// filterWalk checks payload filters against the document: a webhook created
// and patched with one, refusals, POST /webhooks/{id}/filter/test, and a
// trigger's deliveries leaving out the event the filter does not pass. Its
// webhooks subscribe only to task.executed, which the rest of the walk does
// not trigger.
func (c *conformance) filterWalk(missingWebhook string) {
	t := c.t
	t.Helper()
	rcv := receiver(t)
	_, body := c.do(call{method: "POST", path: "/webhooks", body: `{"name":"filtered","url":"` + rcv + `/ok","events":["task.executed"],"filter":{"data":{"amount":{"$gt":100}}}}`}, 201)
	hook := "/webhooks/" + field(t, body, "id")
	var w struct {
		Filter json.RawMessage `json:"filter"`
	}
	require.NoError(t, json.Unmarshal(body, &w))
	assert.Equal(t, `{"data":{"amount":{"$gt":100}}}`, string(w.Filter))

	for _, bad := range []string{
		`{"data": {"amount": {"$gte": "x", "$bogus": 1}}}`,
		`{"data":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}}`,
		`{"data":{"k":"` + strings.Repeat("x", 5000) + `"}}`,
	} {
		// The document cannot express the language; the handler refuses.
		_, body = c.do(call{method: "POST", path: "/webhooks", body: `{"name":"x","url":"https://example.com","events":["custom"],"filter":` + bad + `}`}, 400)
		assert.True(t, strings.HasPrefix(errorField(t, body), "filter"), string(body))
		_, body = c.do(call{method: "PATCH", path: hook, body: `{"filter":` + bad + `}`}, 400)
		assert.True(t, strings.HasPrefix(errorField(t, body), "filter"), string(body))
	}
	c.do(call{method: "POST", path: "/webhooks", body: `{"name":"x","url":"https://example.com","events":["custom"],"filter":[1]}`, badRequest: true}, 400)

	test := hook + "/filter/test"
	_, body = c.do(call{method: "POST", path: test, body: `{"event":"task.executed","data":{"amount":150}}`}, 200)
	assert.JSONEq(t, `{"matches":true}`, string(body))
	_, body = c.do(call{method: "POST", path: test, body: `{"event":"task.executed","data":{"amount":50},"metadata":null}`}, 200)
	assert.JSONEq(t, `{"matches":false}`, string(body))
	for _, bad := range []string{`{"data":{}}`, `{"event":"nope"}`, `{"event":"custom","data":[1]}`, `{"event":"custom","colour":1}`, `[]`} {
		c.do(call{method: "POST", path: test, body: bad, badRequest: true}, 400)
	}
	c.do(call{method: "POST", path: missingWebhook + "/filter/test", body: `{"event":"custom"}`}, 404)
	c.do(call{method: "POST", path: "/webhooks/nope/filter/test", body: `{"event":"custom"}`, badRequest: true}, 404)

	_, body = c.do(call{method: "POST", path: "/events", body: `{"event":"task.executed","data":{"amount":150}}`}, 202)
	assert.Equal(t, "1", field(t, body, "deliveries"))
	_, body = c.do(call{method: "POST", path: "/events", body: `{"event":"task.executed","data":{"amount":50}}`}, 202)
	assert.Equal(t, "0", field(t, body, "deliveries"), "the filter leaves the event out")

	_, body = c.do(call{method: "PATCH", path: hook, body: `{"filter":null}`}, 200)
	require.NoError(t, json.Unmarshal(body, &w))
	assert.Equal(t, "null", string(w.Filter))
	_, body = c.do(call{method: "POST", path: test, body: `{"event":"task.executed","data":{"amount":50}}`}, 200)
	assert.JSONEq(t, `{"matches":true}`, string(body), "no filter matches everything")
}
