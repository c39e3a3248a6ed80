package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rcvID = "rcv_0192f0c4a1b27c3d8e9f00112233cccc"

func recoveryJSON(status string, scanned, queued int, since string) string {
	done := "null"
	if status == "done" {
		done = `"2026-11-28T16:00:09.412Z"`
	}
	return `{"id":"` + rcvID + `","webhook_id":"` + whID + `","status":"` + status + `","since":"` + since + `",` +
		`"requested_since":"2026-11-27T16:04:05.000Z","until":"2026-11-28T16:04:05.000Z","scanned":` + strconv.Itoa(scanned) +
		`,"queued":` + strconv.Itoa(queued) + `,"skipped":0,"created_at":"2026-11-28T16:04:05.000Z","updated_at":"2026-11-28T16:04:05.000Z","completed_at":` + done + `}`
}

// progressAPI answers the recover call, then each GET with the next of its
// progress replies (the last one repeats).
type progressAPI struct {
	mu       sync.Mutex
	srv      *httptest.Server
	start    reply
	progress []string
	bodies   []string
	paths    []string
}

func newProgressAPI(t *testing.T, start reply, progress ...string) *progressAPI {
	p := &progressAPI{start: start, progress: progress}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.paths = append(p.paths, r.Method+" "+r.URL.Path)
		p.bodies = append(p.bodies, string(body))
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(p.start.status)
			io.WriteString(w, p.start.body)
			return
		}
		next := p.progress[0]
		if len(p.progress) > 1 {
			p.progress = p.progress[1:]
		}
		io.WriteString(w, next)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func TestRecoverCommand(t *testing.T) {
	start := reply{202, recoveryJSON("running", 0, 0, "2026-11-27T16:04:05.000Z")}
	api := newProgressAPI(t, start,
		recoveryJSON("running", 100, 80, "2026-11-27T16:04:05.000Z"),
		recoveryJSON("running", 100, 80, "2026-11-27T16:04:05.000Z"),
		recoveryJSON("running", 200, 150, "2026-11-27T16:04:05.000Z"),
		recoveryJSON("done", 250, 190, "2026-11-27T16:04:05.000Z"))
	got := runCLI(t, api.srv.URL, runOpts{}, "recover", whID, "--since", "24h", "--interval", "1ms")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Equal(t, "Recovery "+rcvID+" of webhook "+whID+": failed deliveries from 2026-11-27T16:04:05Z to 2026-11-28T16:04:05Z\n"+
		"running: 100 scanned, 80 queued, 0 skipped\n"+
		"running: 200 scanned, 150 queued, 0 skipped\n"+
		"done: 250 scanned, 190 queued, 0 skipped\n", got.stdout)
	require.GreaterOrEqual(t, len(api.paths), 5)
	assert.Equal(t, "POST /webhooks/"+whID+"/recover", api.paths[0])
	assert.JSONEq(t, `{"since":"`+now.Add(-24*60*60e9).UTC().Format(time.RFC3339Nano)+`"}`, api.bodies[0])
	assert.Equal(t, "GET /webhooks/"+whID+"/recoveries/"+rcvID, api.paths[1])
}

func TestRecoverCommandClampedAndJSON(t *testing.T) {
	done := recoveryJSON("done", 3, 3, "2026-11-28T00:00:00.000Z")
	api := newProgressAPI(t, reply{202, recoveryJSON("running", 0, 0, "2026-11-28T00:00:00.000Z")}, done)
	got := runCLI(t, api.srv.URL, runOpts{}, "recover", whID, "--since", "2020-01-01T00:00:00Z", "--until", "1h", "--interval", "1ms")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Contains(t, got.stdout, "(--since moved from 2026-11-27T16:04:05Z: nothing older is kept)\n")
	assert.JSONEq(t, `{"since":"2020-01-01T00:00:00Z","until":"`+now.Add(-60*60e9).UTC().Format(time.RFC3339Nano)+`"}`, api.bodies[0])

	api = newProgressAPI(t, reply{202, recoveryJSON("running", 0, 0, "2026-11-28T00:00:00.000Z")}, done)
	got = runCLI(t, api.srv.URL, runOpts{}, "recover", whID, "--since", "1h", "--interval", "1ms", "--format", "json")
	require.Equal(t, 0, got.code, got.stderr)
	assert.JSONEq(t, done, got.stdout)

	api = newProgressAPI(t, reply{202, recoveryJSON("running", 0, 0, "2026-11-28T00:00:00.000Z")}, done)
	got = runCLI(t, api.srv.URL, runOpts{}, "recover", whID, "--since", "1h", "--no-wait")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Len(t, api.paths, 1, "only started")
	assert.Contains(t, got.stdout, "running: follow it with GET /webhooks/"+whID+"/recoveries/"+rcvID)
}

func TestRecoverCommandErrors(t *testing.T) {
	api := newProgressAPI(t, reply{400, `{"error":{"code":"validation_failed","message":"since must not be after until","field":"since"}}`})
	got := runCLI(t, api.srv.URL, runOpts{}, "recover", whID, "--since", "1h", "--until", "2h")
	assert.Equal(t, ExitAPIError, got.code)
	assert.Equal(t, "error: validation_failed: since must not be after until (field since)\n", got.stderr)

	for _, args := range [][]string{
		{"recover", whID},
		{"recover"},
		{"recover", whID, "--since", "yesterday"},
		{"recover", whID, "--since", "-1h"},
		{"recover", whID, "--since", "1h", "--until", "soon"},
		{"recover", whID, "--since", "1h", "--interval", "0s"},
	} {
		api := newProgressAPI(t, reply{500, `{}`})
		got := runCLI(t, api.srv.URL, runOpts{}, args...)
		assert.Equal(t, ExitUsage, got.code, "%v: %s", args, got.stderr)
		assert.Empty(t, api.paths, "%v: nothing is sent", args)
	}
}
