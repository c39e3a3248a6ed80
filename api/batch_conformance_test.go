package api_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchWalk is TestConformance's part for POST /events/batch, with an event
// nobody subscribes to (the walk's delivery counts stay its own): accepted
// events, a key twice, a bad event among good ones, and the refusals of
// the whole request.
func batchWalk(c *conformance) {
	t := c.t
	t.Helper()
	key := "conf-batch-" + randHex(t)
	_, body := c.do(call{method: "POST", path: "/events/batch", body: `{"events":[
		{"event":"agent.stopped","data":{"n":1},"metadata":{"m":1},"idempotency_key":"` + key + `"},
		{"event":"agent.stopped","data":null},
		{"event":"agent.stopped","data":{"n":1},"metadata":{"m":1},"idempotency_key":"` + key + `"}]}`}, 202)
	var out struct {
		Items []struct {
			EventID    string `json:"event_id"`
			Deliveries *int   `json:"deliveries"`
			Error      *struct {
				Code, Field string
			} `json:"error"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	require.Len(t, out.Items, 3)
	assert.Equal(t, out.Items[0].EventID, out.Items[2].EventID, "a key twice in one batch is one event")
	assert.NotEqual(t, out.Items[0].EventID, out.Items[1].EventID)

	// One bad event among good ones: the document refuses the request, the
	// handler answers the bad event alone.
	_, body = c.do(call{method: "POST", path: "/events/batch", badRequest: true, body: `{"events":[
		{"event":"agent.stopped"},{"event":"agent.exploded"},{"event":"agent.stopped","data":[1]}]}`}, 202)
	require.NoError(t, json.Unmarshal(body, &out))
	require.Len(t, out.Items, 3)
	assert.Nil(t, out.Items[0].Error)
	require.NotNil(t, out.Items[1].Error)
	assert.Equal(t, "events[1].event", out.Items[1].Error.Field)
	require.NotNil(t, out.Items[2].Error)
	assert.Equal(t, "events[2].data", out.Items[2].Error.Field)

	many := strings.TrimSuffix(strings.Repeat(`{"event":"agent.stopped"},`, 101), ",")
	for _, bad := range []string{`{"events":[]}`, `{"events":[` + many + `]}`, `{}`, `[]`, `{"events":{}}`} {
		c.do(call{method: "POST", path: "/events/batch", body: bad, badRequest: true}, 400)
	}
	// Over 1 MiB: a size the document states in words (and x-max-body-bytes).
	c.do(call{method: "POST", path: "/events/batch", body: fmt.Sprintf(`{"events":[{"event":"agent.stopped","data":{"a":"%s"}}]}`, strings.Repeat("a", 1<<20))}, 413)
}
