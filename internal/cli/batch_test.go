package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchAPI answers POST /events/batch item by item: "nope" events are
// refused (field events[i].event), the others accepted with 2 deliveries.
type batchAPI struct {
	mu    sync.Mutex
	sizes []int // events per request
	bytes []int
	ids   int
}

func (b *batchAPI) serve(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "POST /events/batch", r.Method+" "+r.URL.Path)
		var in struct {
			Events []struct {
				Event string `json:"event"`
			} `json:"events"`
		}
		var raw json.RawMessage
		require.NoError(t, json.NewDecoder(r.Body).Decode(&raw))
		require.NoError(t, json.Unmarshal(raw, &in))
		b.mu.Lock()
		defer b.mu.Unlock()
		b.sizes = append(b.sizes, len(in.Events))
		b.bytes = append(b.bytes, len(raw))
		var items []string
		for i, e := range in.Events {
			if e.Event == "nope" {
				items = append(items, fmt.Sprintf(`{"error":{"code":"validation_failed","message":"unknown event \"nope\"","field":"events[%d].event"}}`, i))
				continue
			}
			items = append(items, fmt.Sprintf(`{"event_id":"evt_%032d","deliveries":2}`, b.ids))
			b.ids++
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(202)
		fmt.Fprintf(w, `{"items":[%s]}`, strings.Join(items, ","))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func writeLines(t *testing.T, lines []string) string {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return path
}

func TestTriggerFile(t *testing.T) {
	var lines []string
	for i := range 250 {
		switch i {
		case 10:
			lines = append(lines, `{"event":"nope"}`)
		case 20:
			lines = append(lines, `not json`)
		case 30:
			lines = append(lines, ``)
		default:
			lines = append(lines, fmt.Sprintf(`{"event":"custom","data":{"n":%d},"idempotency_key":"k%d"}`, i, i))
		}
	}
	path := writeLines(t, lines)

	api := &batchAPI{}
	url := api.serve(t)
	r := runCLI(t, url, runOpts{}, "trigger", "--file", path)
	assert.Equal(t, ExitAPIError, r.code, "a refused line fails the run: %s", r.stderr)
	assert.Equal(t, []int{100, 100, 48}, api.sizes, "248 events in batches of up to 100")
	assert.Equal(t, "Triggered 247 of 249 events: 494 deliveries queued\n", r.stdout)
	assert.Contains(t, r.stderr, "line 21: not a JSON object (one event per line)\n")
	assert.Contains(t, r.stderr, "line 11: validation_failed: unknown event \"nope\" (field event)\n")
	assert.Contains(t, r.stderr, "101 of 249 lines done: 99 accepted (198 deliveries queued), 2 refused\n")
	assert.Contains(t, r.stderr, "249 of 249 lines done: 247 accepted (494 deliveries queued), 2 refused\n")
	assert.Contains(t, r.stderr, "error: 2 of 249 lines refused (listed above)\n")

	// --format json: a line per line of the file; stdin.
	api2 := &batchAPI{}
	r = runCLI(t, api2.serve(t), runOpts{stdin: "{\"event\":\"custom\"}\n\n{\"event\":\"nope\"}\n"}, "trigger", "--file", "-", "--format", "json")
	assert.Equal(t, ExitAPIError, r.code)
	assert.Equal(t, `{"line":1,"event_id":"evt_00000000000000000000000000000000","deliveries":2}`+"\n"+
		`{"line":3,"error":{"code":"validation_failed","message":"unknown event \"nope\"","field":"event"}}`+"\n", r.stdout)

	// All accepted: exit 0.
	api3 := &batchAPI{}
	r = runCLI(t, api3.serve(t), runOpts{stdin: `{"event":"custom"}`}, "trigger", "--file", "-")
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, "Triggered 1 of 1 events: 2 deliveries queued\n", r.stdout)
}

func TestTriggerFileCutsBatchesUnder1MiB(t *testing.T) {
	big := strings.Repeat("x", 300<<10)
	var lines []string
	for range 7 {
		lines = append(lines, `{"event":"custom","data":{"s":"`+big+`"}}`)
	}
	api := &batchAPI{}
	r := runCLI(t, api.serve(t), runOpts{}, "trigger", "--file", writeLines(t, lines))
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, []int{3, 3, 1}, api.sizes)
	for _, n := range api.bytes {
		assert.LessOrEqual(t, n, batchMaxBytes)
	}
}

func TestTriggerFileUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"file and event", []string{"trigger", "--file", "x.jsonl", "--event", "custom"}, "none of the others can be"},
		{"file and key", []string{"trigger", "--file", "x.jsonl", "--idempotency-key", "k"}, "none of the others can be"},
		{"empty file", []string{"trigger", "--file", "-"}, "--file: no events in -"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "http://127.0.0.1:1", runOpts{}, tc.args...)
			assert.Equal(t, ExitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
		})
	}
	r := runCLI(t, "http://127.0.0.1:1", runOpts{}, "trigger", "--file", filepath.Join(t.TempDir(), "missing.jsonl"))
	assert.Equal(t, ExitAPIError, r.code)
	assert.Contains(t, r.stderr, "no such file")
}
