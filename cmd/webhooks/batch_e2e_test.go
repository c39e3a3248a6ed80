package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingReceiver answers 200 and counts each delivery's arrivals by the
// event's data.n.
type countingReceiver struct {
	mu  sync.Mutex
	got map[int]int
}

func (c *countingReceiver) serve(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Data struct {
				N int `json:"n"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &p) == nil {
			c.mu.Lock()
			c.got[p.Data.N]++
			c.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (c *countingReceiver) snapshot() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for k, v := range c.got {
		out[k] = v
	}
	return out
}

// TestTriggerFileAgainstLocalServer sends a JSON Lines file of 250 events
// through `webhooks trigger --file` (POST /events/batch, 3 requests) to a
// real local server: every accepted event is delivered exactly once, the
// refused lines are reported by number and deliver nothing, and a key given
// twice is one delivery.
func TestTriggerFileAgainstLocalServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	rcv := &countingReceiver{got: map[int]int{}}
	c := runner{t: t, bin: buildCLI(t), url: localServer(t)}
	createdID(t, c.ok("create", "--name", "Batch", "--url", rcv.serve(t)+"/hook", "--events", "agent.started"))

	var lines []string
	want := map[int]int{}
	for n := range 250 {
		switch n {
		case 17:
			lines = append(lines, `{"event":"agent.started","data":{"n":17}`) // not JSON
		case 120:
			lines = append(lines, `{"event":"agent.exploded","data":{"n":120}}`)
		case 121:
			lines = append(lines, `{"event":"agent.started","data":{"n":121},"idempotency_key":"dup"}`)
			want[n] = 1
		case 122:
			lines = append(lines, `{"event":"agent.started","data":{"n":121},"idempotency_key":"dup"}`) // the same event again
		case 123:
			lines = append(lines, `{"event":"agent.started","data":[123]}`)
		default:
			lines = append(lines, fmt.Sprintf(`{"event":"agent.started","data":{"n":%d}}`, n))
			want[n] = 1
		}
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	r := c.run("trigger", "--file", path)
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, "Triggered 247 of 250 events: 246 deliveries queued\n", r.stdout)
	assert.Contains(t, r.stderr, "line 18: not a JSON object (one event per line)\n")
	assert.Contains(t, r.stderr, `line 121: validation_failed: unknown event "agent.exploded"; GET /events/types lists the supported events (field event)`+"\n")
	assert.Contains(t, r.stderr, "line 124: validation_failed: data must be a JSON object (field data)\n")
	assert.Contains(t, r.stderr, "250 of 250 lines done: 247 accepted (246 deliveries queued), 3 refused\n")
	assert.Equal(t, 3, strings.Count(r.stderr, " lines done: "), "a progress line per request: %s", r.stderr)

	c.waitFor(func() (bool, string) {
		got := rcv.snapshot()
		return len(got) >= len(want), fmt.Sprintf("%d of %d events arrived", len(got), len(want))
	}, "the batch's deliveries")
	// Late duplicates would show within moments.
	time.Sleep(500 * time.Millisecond)
	assert.Equal(t, want, rcv.snapshot(), "every accepted event once, the refused ones never")
}
