package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listening is a `webhooks listen` process.
type listening struct {
	t       *testing.T
	cmd     *exec.Cmd
	base    string      // http://127.0.0.1:port
	created string      // the webhook --create made
	lines   chan string // stdout, one request a line
	mu      sync.Mutex
	stderr  []string
	errDone chan struct{}
}

var (
	listeningRE = regexp.MustCompile(`^Listening on (http://127\.0\.0\.1:\d+), `)
	createdRE   = regexp.MustCompile(`^Created webhook (wh_[0-9a-f]{32}) `)
)

// listen starts `webhooks listen --port 0 args...` and returns once it
// listens.
func (c runner) listen(args ...string) *listening {
	c.t.Helper()
	l := &listening{t: c.t, lines: make(chan string, 100), errDone: make(chan struct{})}
	l.cmd = exec.Command(c.bin, append([]string{"listen", "--port", "0"}, args...)...)
	l.cmd.Env = append(os.Environ(), "WEBHOOKS_ENDPOINT="+c.url)
	stdout, err := l.cmd.StdoutPipe()
	require.NoError(c.t, err)
	stderr, err := l.cmd.StderrPipe()
	require.NoError(c.t, err)
	require.NoError(c.t, l.cmd.Start())
	c.t.Cleanup(func() {
		if l.cmd.ProcessState == nil {
			_ = l.cmd.Process.Kill()
			_ = l.cmd.Wait()
		}
	})
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			l.lines <- s.Text()
		}
		close(l.lines)
	}()
	ready := make(chan string, 1)
	go func() {
		defer close(l.errDone)
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			l.mu.Lock()
			l.stderr = append(l.stderr, s.Text())
			l.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(s.Text()); m != nil {
				ready <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case l.base = <-ready:
	case <-l.errDone:
		c.t.Fatalf("listen ended before listening: %s", l.stderrText())
	case <-time.After(60 * time.Second):
		c.t.Fatalf("listen did not start: %s", l.stderrText())
	}
	for _, s := range l.stderrLines() {
		if m := createdRE.FindStringSubmatch(s); m != nil {
			l.created = m[1]
		}
	}
	return l
}

func (l *listening) stderrLines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.stderr...)
}

func (l *listening) stderrText() string { return strings.Join(l.stderrLines(), "\n") }

// line waits for the next request line. The pollers deliver within moments
// and a retry after about a second; the bound only stops a broken pipeline
// from hanging the test.
func (l *listening) line() string {
	l.t.Helper()
	select {
	case s, ok := <-l.lines:
		require.True(l.t, ok, "listen ended: %s", l.stderrText())
		return s
	case <-time.After(60 * time.Second):
		l.t.Fatalf("no request line; stderr: %s", l.stderrText())
		return ""
	}
}

// stop sends sig and returns the exit status and the whole of stderr.
func (l *listening) stop(sig os.Signal) (int, string) {
	l.t.Helper()
	require.NoError(l.t, l.cmd.Process.Signal(sig))
	done := make(chan error, 1)
	go func() {
		<-l.errDone // Wait closes the pipes: read them to the end first
		done <- l.cmd.Wait()
	}()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), l.stderrText()
		}
		require.NoError(l.t, err)
		return 0, l.stderrText()
	case <-time.After(30 * time.Second):
		l.t.Fatalf("listen did not stop on %v: %s", sig, l.stderrText())
		return 0, ""
	}
}

const lineTimeRE = `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z`

// TestListenAgainstLocalServer: the built binary's `listen --create` on a
// real local server with the delivery pollers: the webhook it creates
// delivers here, both signatures verify, --status 500 brings the retries,
// and SIGTERM or Ctrl-C deletes the webhook.
func TestListenAgainstLocalServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	c := runner{t: t, bin: buildCLI(t), url: localServer(t)}

	l := c.listen("--create", "--events", "custom")
	require.NotEmpty(t, l.created, "stderr: %s", l.stderrText())
	assert.Regexp(t, `(?m)^Signing secret: whsec_\S+$`, l.stderrText())
	info := c.ok("info", l.created)
	assert.Equal(t, l.base+"/", row(t, info, "URL"))
	assert.Equal(t, "custom", row(t, info, "Events"))
	assert.Regexp(t, `^hmac \(secret=\*\*\*\*\S{4}\)$`, row(t, info, "Auth"))

	trig := c.ok("trigger", "--event", "custom", "--data", `{"message":"hello"}`)
	assert.Regexp(t, `: 1 delivery queued\n$`, trig)
	got := l.line()
	assert.Regexp(t, `^`+lineTimeRE+`  custom  (dlv_[0-9a-f]{32})  attempt 1  X-Webhook-Signature: verified  webhook-signature: verified  answered 200$`, got)
	c.waitDeliveries(l.created, "succeeded", 1)

	code, stderr := l.stop(syscall.SIGTERM)
	assert.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasSuffix(stderr, "Deleted webhook "+l.created), stderr)
	c.fails(1, `error: not_found: webhook `+l.created+` not found`, "info", l.created)

	// --status 500: the service retries, under the same delivery id.
	l = c.listen("--create", "--events", "custom", "--status", "500")
	c.ok("trigger", "--event", "custom")
	first, second := l.line(), l.line()
	m := regexp.MustCompile(`^` + lineTimeRE + `  custom  (dlv_[0-9a-f]{32})  attempt 1  X-Webhook-Signature: verified  webhook-signature: verified  answered 500$`).FindStringSubmatch(first)
	require.NotNil(t, m, first)
	assert.Regexp(t, `^`+lineTimeRE+`  custom  `+m[1]+`  attempt 2  X-Webhook-Signature: verified  webhook-signature: verified  answered 500$`, second)
	code, stderr = l.stop(os.Interrupt)
	assert.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasSuffix(stderr, "Deleted webhook "+l.created), stderr)
	assert.NotContains(t, c.ok("list"), l.created)
}
