// Package receivers_test runs the example receivers (python/, node/, go/)
// against deliveries from the local stack and against requests signed by
// hand with the delivery function's own signing code.
//
// Each example's dependencies are installed from its own lockfile into
// .cache/receivers/ and reused while the lockfile is unchanged. Without
// python3, node or npm, or when an install fails, the example's test skips;
// under `make test` (WEBHOOKS_TEST_STRICT=1) it fails instead.
package receivers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/app"
	"github.com/systemprompt-io/webhooks/internal/config"
	"github.com/systemprompt-io/webhooks/internal/devtools/localaws"
	"github.com/systemprompt-io/webhooks/internal/devtools/testenv"
	"github.com/systemprompt-io/webhooks/internal/httpapi"
	"github.com/systemprompt-io/webhooks/internal/signing"
	"github.com/systemprompt-io/webhooks/internal/store"
)

// command is how to run one example receiver.
type command struct {
	argv []string
	env  []string // added to the environment
}

var examples = []struct {
	name    string
	prepare func(t *testing.T) command // installs what the example needs
}{
	{"python", preparePython},
	{"node", prepareNode},
	{"go", prepareGo},
}

// TestReceivers runs each example twice, with a generated whsec_ secret and
// with a raw one (all three examples support both), as the endpoint of hmac
// webhooks on the local stack, plus a webhook whose secret the receiver does
// not hold; then sends each receiver requests signed by hand.
func TestReceivers(t *testing.T) {
	if testing.Short() {
		t.Skip("installs the examples' dependencies and runs them")
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			cmd := ex.prepare(t)
			api := newStack(t, nil)

			// The service generates the whsec_ secret; the webhook gets the
			// receiver's URL once the receiver is up with that secret.
			whsecID, secret := api.createHMAC(t, "http://127.0.0.1:9/", "", "inactive")
			require.True(t, strings.HasPrefix(secret, "whsec_"), "generated secret %q", secret)
			whsecRcv := startReceiver(t, cmd, secret)
			code, out := api.do(t, "PATCH", "/webhooks/"+whsecID, map[string]any{"url": whsecRcv.url + "/hook", "status": "active"})
			require.Equal(t, http.StatusOK, code, "%v", out)

			// Non-ASCII, so a receiver that does not use the UTF-8 bytes fails.
			raw := "raw sëcret ✓ " + randHex(t)
			rawRcv := startReceiver(t, cmd, raw)
			rawID, _ := api.createHMAC(t, rawRcv.url+"/hook", raw, "active")

			// Another generated secret, delivered to the whsec_ receiver.
			wrongID, wrong := api.createHMAC(t, whsecRcv.url+"/wrong", "", "active")
			require.NotEqual(t, secret, wrong)

			for i := range 2 {
				code, out := api.do(t, "POST", "/events", map[string]any{
					"event": "custom", "data": map[string]any{"message": "héllo <&> ✓", "n": i},
				})
				require.Equal(t, http.StatusAccepted, code, "%v", out)
				require.EqualValues(t, 3, out["deliveries"])
			}

			for _, w := range []struct {
				name, id string
				rcv      *receiver
				status   string
				code     int
				line     string // the receiver's line, after the status and delivery id
			}{
				{"whsec_ secret", whsecID, whsecRcv, "succeeded", http.StatusNoContent, ` custom: verified`},
				{"raw secret", rawID, rawRcv, "succeeded", http.StatusNoContent, ` custom: verified`},
				{"secret the receiver does not hold", wrongID, whsecRcv, "failed", http.StatusUnauthorized, `: X-Webhook-Signature does not match`},
			} {
				t.Run(w.name, func(t *testing.T) {
					ds := api.waitFinal(t, w.id, 2)
					for _, d := range ds {
						assert.Equal(t, w.status, d.Status, "delivery %s", d.ID)
						if assert.Len(t, d.Attempts, 1, "delivery %s", d.ID) {
							assert.Equal(t, w.code, d.Attempts[0].StatusCode, "delivery %s: %+v", d.ID, d.Attempts[0])
						}
						w.rcv.waitLine(t, fmt.Sprintf("%d %s%s", w.code, d.ID, w.line))
					}
				})
			}

			t.Run("hand-built", func(t *testing.T) {
				for _, r := range []struct {
					name   string
					rcv    *receiver
					secret string
				}{{"whsec_ secret", whsecRcv, secret}, {"raw secret", rawRcv, raw}} {
					t.Run(r.name, func(t *testing.T) { handBuilt(t, r.rcv, r.secret) })
				}
			})
		})
	}
}

// handBuilt sends a receiver requests signed with internal/signing: two v1
// signatures of which one matches (as during a secret rotation) verify; a
// failure of either signature is a 401 that names it.
func handBuilt(t *testing.T, rcv *receiver, secret string) {
	key, err := signing.Key(secret)
	require.NoError(t, err)
	other, err := signing.Key("whsec_" + base64.StdEncoding.EncodeToString([]byte("another key "+randHex(t))))
	require.NoError(t, err)
	body := []byte(`{"webhook_id":"wh_0123456789abcdef0123456789abcdef","event":"custom","timestamp":"2026-01-02T03:04:05.678Z","data":{"n":1,"s":"héllo"},"metadata":{}}`)
	now := time.Now()
	const (
		verified = `custom: verified`
		seedFail = `X-Webhook-Signature does not match`
		swFail   = `webhook-signature: .+`
	)
	tests := []struct {
		name string
		// edit changes the correctly signed request: its headers (webhook-id
		// is id), or the body it returns.
		edit func(h http.Header, id string) []byte
		code int
		why  string
	}{
		{"second of two v1 signatures matches", func(h http.Header, id string) []byte {
			h.Set("webhook-signature", signing.StandardWebhooks(other, id, now, body)+" "+signing.StandardWebhooks(key, id, now, body))
			return body
		}, http.StatusNoContent, verified},
		{"first of two v1 signatures matches", func(h http.Header, id string) []byte {
			h.Set("webhook-signature", signing.StandardWebhooks(key, id, now, body)+" "+signing.StandardWebhooks(other, id, now, body))
			return body
		}, http.StatusNoContent, verified},
		{"no v1 signature matches", func(h http.Header, id string) []byte {
			h.Set("webhook-signature", signing.StandardWebhooks(other, id, now, body)+" "+signing.StandardWebhooks(key, id+"x", now, body))
			return body
		}, http.StatusUnauthorized, swFail},
		{"matching signature under another version", func(h http.Header, id string) []byte {
			h.Set("webhook-signature", "v2,"+strings.TrimPrefix(signing.StandardWebhooks(key, id, now, body), "v1,"))
			return body
		}, http.StatusUnauthorized, swFail},
		{"X-Webhook-Signature of another key", func(h http.Header, id string) []byte {
			h.Set("X-Webhook-Signature", signing.Seed(other, body))
			return body
		}, http.StatusUnauthorized, seedFail},
		{"X-Webhook-Signature of another key, X-Webhook-Signature-Next matches (a rotation)", func(h http.Header, id string) []byte {
			h.Set("X-Webhook-Signature", signing.Seed(other, body))
			h.Set("X-Webhook-Signature-Next", signing.Seed(key, body))
			return body
		}, http.StatusNoContent, verified},
		{"X-Webhook-Signature-Next of another key", func(h http.Header, id string) []byte {
			h.Set("X-Webhook-Signature-Next", signing.Seed(other, body))
			return body
		}, http.StatusNoContent, verified},
		{"neither seed header matches", func(h http.Header, id string) []byte {
			h.Set("X-Webhook-Signature", signing.Seed(other, body))
			h.Set("X-Webhook-Signature-Next", signing.Seed(other, append(body, ' ')))
			return body
		}, http.StatusUnauthorized, seedFail},
		{"X-Webhook-Signature missing", func(h http.Header, id string) []byte {
			h.Del("X-Webhook-Signature")
			return body
		}, http.StatusUnauthorized, seedFail},
		{"Standard Webhooks signature missing", func(h http.Header, id string) []byte {
			h.Del("webhook-signature")
			return body
		}, http.StatusUnauthorized, swFail},
		{"body changed after signing", func(h http.Header, id string) []byte {
			return bytes.Replace(body, []byte(`"n":1`), []byte(`"n":2`), 1)
		}, http.StatusUnauthorized, seedFail},
		{"body changed, X-Webhook-Signature signed again", func(h http.Header, id string) []byte {
			b := bytes.Replace(body, []byte(`"n":1`), []byte(`"n":2`), 1)
			h.Set("X-Webhook-Signature", signing.Seed(key, b))
			return b
		}, http.StatusUnauthorized, swFail},
		{"webhook-timestamp 10 minutes old", func(h http.Header, id string) []byte {
			old := now.Add(-10 * time.Minute)
			h.Set("webhook-timestamp", fmt.Sprint(old.Unix()))
			h.Set("webhook-signature", signing.StandardWebhooks(key, id, old, body))
			return body
		}, http.StatusUnauthorized, swFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "msg_" + randHex(t)
			h := http.Header{}
			h.Set("Content-Type", "application/json")
			h.Set("X-Webhook-Event", "custom")
			h.Set("X-Webhook-Signature", signing.Seed(key, body))
			h.Set("webhook-id", id)
			h.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
			h.Set("webhook-signature", signing.StandardWebhooks(key, id, now, body))
			b := tt.edit(h, id)

			req, err := http.NewRequest("POST", rcv.url+"/hook", bytes.NewReader(b))
			require.NoError(t, err)
			req.Header = h
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Equal(t, tt.code, resp.StatusCode)
			sep := ": "
			if tt.code == http.StatusNoContent {
				sep = " "
			}
			rcv.waitLine(t, regexp.QuoteMeta(fmt.Sprintf("%d %s%s", tt.code, id, sep))+tt.why)
		})
	}
}

// The examples' installs.

func preparePython(t *testing.T) command {
	python := lookPath(t, "python3")
	venv := filepath.Join(cacheDir(t), "python")
	req := absPath(t, "python", "requirements.txt")
	cached(t, venv, []string{req}, filepath.Join(venv, "bin", "python"), func() error {
		if err := run(t, "", python, "-m", "venv", venv); err != nil {
			return err
		}
		return run(t, "", filepath.Join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
			"--no-input", "--require-hashes", "-r", req)
	})
	return command{argv: []string{filepath.Join(venv, "bin", "python"), absPath(t, "python", "receiver.py")}}
}

// prepareNode runs `npm ci` on a copy of the example's package files in the
// cache, so the example's directory stays as committed, and runs the
// receiver from the example's directory with NODE_PATH pointing there.
func prepareNode(t *testing.T) command {
	node, npm := lookPath(t, "node"), lookPath(t, "npm")
	dir := filepath.Join(cacheDir(t), "node")
	files := []string{absPath(t, "node", "package.json"), absPath(t, "node", "package-lock.json")}
	cached(t, dir, files, filepath.Join(dir, "node_modules", "standardwebhooks", "package.json"), func() error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
				return err
			}
		}
		return run(t, dir, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	})
	return command{
		argv: []string{node, absPath(t, "node", "receiver.js")},
		env:  []string{"NODE_PATH=" + filepath.Join(dir, "node_modules")},
	}
}

func prepareGo(t *testing.T) command {
	bin := filepath.Join(t.TempDir(), "receiver")
	out, err := exec.Command("go", "build", "-o", bin, "./go").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return command{argv: []string{bin}}
}

// missing skips the test, or fails it under `make test`.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if testenv.Strict() {
		t.Fatalf(format+" (make test runs every example)", args...)
	}
	t.Skipf(format, args...)
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "%s is needed to run this example: %v", name, err)
	}
	return p
}

// cacheDir is .cache/receivers at the repository's root.
func cacheDir(t *testing.T) string {
	t.Helper()
	root := absPath(t, "..", "..")
	_, err := os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "repository root not found")
	return filepath.Join(root, ".cache", "receivers")
}

func absPath(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(elem...))
	require.NoError(t, err)
	return p
}

// cached runs install to fill dir, unless dir already holds an install of
// the same inputs: its .key file is their hash, written last, so an
// interrupted install is redone; present is a file a finished install
// leaves. Concurrent test runs take turns on a lock file beside dir.
func cached(t *testing.T, dir string, inputs []string, present string, install func() error) {
	t.Helper()
	h := sha256.New()
	for _, f := range inputs {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		h.Write(b)
	}
	key := hex.EncodeToString(h.Sum(nil))

	require.NoError(t, os.MkdirAll(filepath.Dir(dir), 0o755))
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	keyFile := filepath.Join(dir, ".key")
	if b, err := os.ReadFile(keyFile); err == nil && string(b) == key {
		if _, err := os.Stat(present); err == nil {
			return
		}
	}
	start := time.Now()
	require.NoError(t, os.RemoveAll(dir))
	if err := install(); err != nil {
		missing(t, "installing into %s: %v", dir, err)
	}
	require.NoError(t, os.WriteFile(keyFile, []byte(key), 0o644))
	t.Logf("installed %s in %s", dir, time.Since(start).Round(time.Millisecond))
}

// run runs a command in dir ("" for the current one); its output is in the
// error.
func run(t *testing.T, dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return nil
}

// A running receiver.

type receiver struct {
	url string

	mu        sync.Mutex
	lines     []string
	buf       []byte
	listening bool        // the first line, "listening on URL", was seen
	ready     chan string // gets that URL
}

// startReceiver starts an example with WEBHOOK_SECRET=secret on a free
// loopback port (PORT=0; the receiver prints the one it got) and stops it
// when the test ends.
func startReceiver(t *testing.T, c command, secret string) *receiver {
	t.Helper()
	r := &receiver{ready: make(chan string, 1)}
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = append(append(os.Environ(), c.env...), "WEBHOOK_SECRET="+secret, "PORT=0", "HOST=127.0.0.1")
	cmd.Stdout = r
	cmd.Stderr = tWriter{t}
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("receiver %s printed:\n%s", c.argv[len(c.argv)-1], strings.Join(r.got(), "\n"))
		}
	})
	select {
	case r.url = <-r.ready:
	case err := <-exited:
		exited <- err
		t.Fatalf("receiver %v exited before listening: %v", c.argv, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("receiver %v did not print its address within 60s", c.argv)
	}
	return r
}

var listeningLine = regexp.MustCompile(`^listening on (http://127\.0\.0\.1:\d+)$`)

// Write collects the receiver's stdout line by line.
func (r *receiver) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(r.buf[:i])
		r.buf = r.buf[i+1:]
		if m := listeningLine.FindStringSubmatch(line); m != nil && !r.listening {
			r.listening = true
			r.ready <- m[1]
			continue
		}
		r.lines = append(r.lines, line)
	}
}

func (r *receiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// waitLine waits until the receiver printed a line matching pattern (the
// receivers print before they answer, but the line may still be in the
// pipe), and that exactly one.
func (r *receiver) waitLine(t *testing.T, pattern string) {
	t.Helper()
	re := regexp.MustCompile("^" + pattern + "$")
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		for _, l := range r.got() {
			if re.MatchString(l) {
				n++
			}
		}
		if n > 0 || time.Now().After(deadline) {
			assert.Equal(t, 1, n, "lines matching %s among:\n%s", re, strings.Join(r.got(), "\n"))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The local stack.

type stack struct{ api http.Handler }

// newStack starts the service on the shared embedded emulator with its own
// tables, queues and key, and the delivery function polling the queues, as
// the local server runs it. now is the delivery function's clock (nil:
// time.Now).
func newStack(t *testing.T, now func() time.Time) *stack {
	t.Helper()
	sfx := randHex(t)
	s, err := localaws.Start(context.Background(), localaws.Options{
		Endpoint: testenv.KumoURL(),
		Tables:   store.Tables{Webhooks: "rcv-webhooks-" + sfx, Deliveries: "rcv-deliveries-" + sfx},
		KeyAlias: "alias/rcv-" + sfx, QueuePrefix: "rcv-" + sfx + "-",
	})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	cfg := s.Config(config.Config{AllowPrivate: true, DefaultTimeout: 10 * time.Second, RetentionDays: 30})
	log := slog.New(slog.NewTextHandler(tWriter{t}, nil))
	p, err := app.NewPipeline(cfg, s.Clients, log, now)
	require.NoError(t, err)
	bg, err := s.StartBackground(localaws.Functions{Delivery: p.SQSHandler(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(bg.Stop)
	opts, err := app.APIOptions(cfg, p, log)
	require.NoError(t, err)
	h, err := httpapi.New(opts)
	require.NoError(t, err)
	return &stack{api: h}
}

// do calls the API.
func (s *stack) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, httptest.NewRequest(method, path, rd))
	var out map[string]any
	if rec.Body.Len() > 0 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	}
	return rec.Code, out
}

// createHMAC creates an hmac webhook for the custom event with one attempt
// per delivery, and returns its id and, when the service generated the
// secret (secret ""), that secret.
func (s *stack) createHMAC(t *testing.T, url, secret, status string) (id, generated string) {
	t.Helper()
	creds := map[string]any{}
	if secret != "" {
		creds["secret"] = secret
	}
	code, out := s.do(t, "POST", "/webhooks", map[string]any{
		"name": "example receiver", "url": url, "events": []string{"custom"}, "status": status,
		"auth_type": "hmac", "auth_credentials": creds, "retry": map[string]any{"max_attempts": 1},
	})
	require.Equal(t, http.StatusCreated, code, "%v", out)
	if secret == "" {
		generated, _ = out["auth_credentials"].(map[string]any)["secret"].(string)
	}
	return out["id"].(string), generated
}

type delivery struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Attempts []struct {
		StatusCode int    `json:"status_code"`
		Error      string `json:"error"`
	} `json:"attempts"`
}

// waitFinal waits until a webhook has n deliveries in a final status
// (succeeded or failed) and returns them.
func (s *stack) waitFinal(t *testing.T, webhookID string, n int) []delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec := httptest.NewRecorder()
		s.api.ServeHTTP(rec, httptest.NewRequest("GET", "/webhooks/"+webhookID+"/deliveries", nil))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var page struct{ Items []delivery }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
		final := 0
		for _, d := range page.Items {
			if d.Status == "succeeded" || d.Status == "failed" {
				final++
			}
		}
		if final >= n {
			require.Len(t, page.Items, n)
			return page.Items
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %s: %d of %d deliveries final after 30s: %+v", webhookID, final, n, page.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func randHex(t *testing.T) string {
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

// tWriter sends what it gets to the test log (seen on failure or with -v).
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
