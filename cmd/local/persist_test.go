package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asMain makes the test binary the local command: the emulator reads its
// data directory once per process, so a restart is a new process.
const asMain = "WEBHOOKS_LOCAL_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		// The test binary's own flags stay in os.Args (Persist re-executes
		// with them); the command's arguments come from the environment.
		if err := localMain(strings.Fields(os.Getenv(asMain+"_ARGS")), os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "local:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is the local command running in a child process.
type process struct {
	cmd    *exec.Cmd
	url    string
	banner string
	stderr *syncBuffer
	exited chan error
}

var apiLine = regexp.MustCompile(`(?m)^  API +(http://127\.0\.0\.1:\d+) `)

// startProcess runs `local` (make run) in a child process keeping its data
// in dir, and waits until it serves.
func startProcess(t *testing.T, dir string) *process {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), asMain+"=1", "PORT=0", "WEBHOOKS_DATA_DIR="+dir, "LOG_LEVEL=debug")
	p := &process{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	banner := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if !sent && strings.HasPrefix(sc.Text(), "Ctrl-C stops it.") {
				banner <- b.String()
				sent = true
			}
		}
		p.exited <- cmd.Wait()
	}()
	select {
	case p.banner = <-banner:
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("local stopped before serving: %v\n%s", err, p.stderr.String())
	case <-time.After(bound):
		t.Fatalf("local not serving\n%s", p.stderr.String())
	}
	m := apiLine.FindStringSubmatch(p.banner)
	require.NotNil(t, m, p.banner)
	p.url = m[1]
	return p
}

// stop sends SIGTERM, as Ctrl-C or a supervisor would, and waits for a clean
// exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exited:
		require.NoError(t, err, "a graceful stop exits 0\n%s", p.stderr.String())
	case <-time.After(bound):
		t.Fatalf("local did not stop\n%s", p.stderr.String())
	}
}

func (p *process) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	return (&server{url: p.url}).call(t, method, path, body)
}

// hit is one request the receiver answered.
type hit struct {
	delivery, attempt string
	status            int
}

// The local stack keeps its state in WEBHOOKS_DATA_DIR: a webhook whose
// receiver fails has a retry pending when the process is stopped; after a
// restart on the same directory the webhook is there and the retry is
// delivered once the receiver works again.
func TestLocalStackKeepsStateAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var status atomic.Int32
	status.Store(http.StatusInternalServerError)
	var mu sync.Mutex
	var hits []hit
	got := make(chan hit, 64)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h := hit{delivery: r.Header.Get("X-Webhook-Delivery"), attempt: r.Header.Get("X-Webhook-Attempt"), status: int(status.Load())}
		mu.Lock()
		hits = append(hits, h)
		mu.Unlock()
		w.WriteHeader(h.status)
		got <- h
	}))
	defer rcv.Close()

	first := startProcess(t, dir)
	assert.Contains(t, first.banner, "data             "+dir+" (kept across restarts")
	code, body := first.call(t, "POST", "/webhooks", `{"name":"kept","url":"`+rcv.URL+`/hook","events":["custom"],`+
		`"retry":{"strategy":"fixed","max_attempts":20,"initial_delay_ms":1000,"max_delay_ms":1000}}`)
	require.Equal(t, 201, code, body)
	id := body["id"].(string)
	code, body = first.call(t, "POST", "/events", `{"event":"custom","data":{"n":1}}`)
	require.Equal(t, 202, code, body)
	require.EqualValues(t, 1, body["deliveries"])

	// The first attempt fails; stopping now, while its batch may still be
	// in flight, leaves a retry queued (each failed attempt queues the next
	// one: 20 attempts are far more than this test makes).
	var failed hit
	select {
	case failed = <-got:
	case <-time.After(bound):
		t.Fatalf("no attempt reached the receiver\n%s", first.stderr.String())
	}
	require.Equal(t, 500, failed.status)
	require.NotEmpty(t, failed.delivery)
	first.stop(t)
	assert.Contains(t, first.stderr.String(), `"msg":"shutting down"`)
	for _, f := range []string{"dynamodb.json", "sqs.json", "kms.json"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}

	// Fixed receiver, same directory: the webhook is there, and the pending
	// retry of the same delivery arrives.
	status.Store(http.StatusOK)
	second := startProcess(t, dir)
	code, body = second.call(t, "GET", "/webhooks/"+id, "")
	require.Equal(t, 200, code, body)
	assert.Equal(t, "kept", body["name"])
	var ok hit
	deadline := time.After(bound)
	for ok.status != http.StatusOK {
		select {
		case ok = <-got:
		case <-deadline:
			t.Fatalf("the pending retry was not delivered after the restart\n%s", second.stderr.String())
		}
	}
	assert.Equal(t, failed.delivery, ok.delivery, "the retry of the same delivery")
	assert.NotEqual(t, "1", ok.attempt, "a retry, not a first attempt")

	// Recorded as succeeded (written just after the receiver answered).
	var status2 string
	for range 100 {
		code, body = second.call(t, "GET", "/webhooks/"+id+"/deliveries/"+ok.delivery, "")
		require.Equal(t, 200, code, body)
		if status2, _ = body["status"].(string); status2 == "succeeded" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, "succeeded", status2, body)
	second.stop(t)

	mu.Lock()
	defer mu.Unlock()
	for _, h := range hits {
		assert.Equal(t, failed.delivery, h.delivery, "one event, one delivery: %+v", hits)
	}
	raw, _ := json.Marshal(body["attempts"])
	t.Logf("attempts: %s", raw)
}
