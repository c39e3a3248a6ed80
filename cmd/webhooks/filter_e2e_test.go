package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCLIFilter drives the built binary through a webhook's payload filter
// on a real local server: --filter on create and update, filter-test, and
// a trigger that counts only the subscriber whose filter the event passes.
func TestCLIFilter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	c := runner{t: t, bin: buildCLI(t), url: localServer(t)}
	rcv := receiver(t)

	created := c.ok("create", "--name", "Big orders", "--url", rcv+"/ok", "--events", "task.executed",
		"--filter", `{"data": {"amount": {"$gt": 100}}}`)
	id := createdID(t, created)
	assert.Equal(t, `{"data":{"amount":{"$gt":100}}}`, row(t, created, "Filter"))

	assert.Equal(t, "The event matches the filter of "+id+"\n",
		c.ok("filter-test", id, "--event", "task.executed", "--data", `{"amount":150}`))
	assert.Equal(t, "The event does not match the filter of "+id+"\n",
		c.ok("filter-test", id, "--event", "task.executed", "--data", `{"amount":50}`, "--metadata", `{"source":"cli"}`))
	assert.Regexp(t, `: 1 delivery queued\n$`, c.ok("trigger", "--event", "task.executed", "--data", `{"amount":150}`))
	assert.Regexp(t, `: 0 deliveries queued\n$`, c.ok("trigger", "--event", "task.executed", "--data", `{"amount":50}`))

	c.fails(1, `error: validation_failed: unknown operator \$bogus; .* \(field filter\.data\.amount\.\$bogus\)`,
		"update", id, "--filter", `{"data": {"amount": {"$gte": "x", "$bogus": 1}}}`)
	c.fails(2, `error: --filter: malformed JSON: .*`, "update", id, "--filter", `{"data":`)

	updated := c.ok("update", id, "--filter", "null")
	assert.NotContains(t, updated, "Filter")
	assert.Equal(t, "The event matches the filter of "+id+"\n",
		c.ok("filter-test", id, "--event", "task.executed", "--data", `{"amount":50}`))
}
