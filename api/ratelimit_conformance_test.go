package api_test

import (
	"encoding/json"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rateLimitWalk checks rate limits against the document: set on create,
// shown in reads, changed and removed (null) by PATCH; refusals the document
// states (out of range, not an object, not a whole number, unknown member)
// are 400s naming the member and change nothing.
func (c *conformance) rateLimitWalk() {
	t := c.t
	t.Helper()
	type rl struct {
		RateLimit *struct {
			PerSecond int `json:"per_second"`
		} `json:"rate_limit"`
		Version int `json:"version"`
	}
	rcv := receiver(t)
	_, body := c.do(call{method: "POST", path: "/webhooks", body: `{"name":"limited","url":"` + rcv + `/ok","events":["task.executed"],"rate_limit":{"per_second":5}}`}, 201)
	hook := "/webhooks/" + field(t, body, "id")
	var w rl
	require.NoError(t, json.Unmarshal(body, &w))
	require.NotNil(t, w.RateLimit)
	assert.Equal(t, 5, w.RateLimit.PerSecond)

	for _, bad := range []struct{ body, field string }{
		{`{"rate_limit":{"per_second":0}}`, "rate_limit.per_second"},
		{`{"rate_limit":{"per_second":10001}}`, "rate_limit.per_second"},
		{`{"rate_limit":{"per_second":2.5}}`, "rate_limit.per_second"},
		{`{"rate_limit":{"per_second":"5"}}`, "rate_limit.per_second"},
		{`{"rate_limit":{}}`, "rate_limit.per_second"},
		{`{"rate_limit":5}`, "rate_limit"},
		{`{"rate_limit":[5]}`, "rate_limit"},
		{`{"rate_limit":{"per_second":5,"burst":9}}`, "rate_limit.burst"},
	} {
		_, body = c.do(call{method: "PATCH", path: hook, body: bad.body, badRequest: true}, 400)
		assert.Equal(t, bad.field, errorField(t, body), bad.body)
		_, body = c.do(call{method: "POST", path: "/webhooks", body: `{"name":"x","url":"https://example.com","events":["custom"],` + bad.body[1:], badRequest: true}, 400)
		assert.Equal(t, bad.field, errorField(t, body), bad.body)
	}
	_, body = c.do(call{method: "GET", path: hook}, 200)
	var same rl
	require.NoError(t, json.Unmarshal(body, &same))
	assert.Equal(t, w, same, "a refused change writes nothing")

	_, body = c.do(call{method: "PATCH", path: hook, body: `{"rate_limit":{"per_second":10000}}`}, 200)
	require.NoError(t, json.Unmarshal(body, &w))
	assert.Equal(t, 10000, w.RateLimit.PerSecond)
	_, body = c.do(call{method: "PATCH", path: hook, body: `{"rate_limit":null}`}, 200)
	require.NoError(t, json.Unmarshal(body, &w))
	assert.Nil(t, w.RateLimit, "null removes the limit")
	c.do(call{method: "DELETE", path: hook}, 204)
}
