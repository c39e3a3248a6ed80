// Package lambdatest runs the service's Lambda bootstraps under the AWS Lambda
// Runtime Interface Emulator (aws-lambda-rie, a tool in go.mod): the same
// runtime API `sam local invoke` puts in front of a function, without Docker.
//
//	bin := lambdatest.Build(t, "./functions/cleanup")
//	fn := lambdatest.Start(t, bin, map[string]string{"TABLE_DELIVERIES": "..."})
//	out, err := fn.Invoke(t, event)
//
// Build compiles for the host (the emulator runs the binary here), with the
// flags `sam build` uses through the Makefile. The deployed binary is
// linux/arm64, which an amd64 machine cannot execute; architecture aside it
// is the same program.
package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BuildFlags are the go build flags of a Lambda bootstrap, as in the
// Makefile's build-<Function> targets (with CGO_ENABLED=0).
var BuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// readyWait bounds how long Start waits for the emulator to listen, and
// reportWait how long Invoke waits for the emulator's REPORT line; neither is
// an assertion on speed, only a guard against hanging forever.
const (
	readyWait  = 30 * time.Second
	reportWait = 5 * time.Second
)

// Build compiles the main package pkg ("./functions/api" relative to the
// module root, or a full import path) into a bootstrap for the host and
// returns its path, in a directory removed when the test ends.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	root := moduleRoot(t)
	out := filepath.Join(t.TempDir(), "bootstrap")
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(t.Context(), goTool(), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lambdatest: go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Emulator is one running aws-lambda-rie serving one bootstrap.
type Emulator struct {
	// URL is the emulator's invoke endpoint
	// (http://127.0.0.1:PORT/2015-03-31/functions/function/invocations).
	URL string

	cmd     *exec.Cmd
	out     *outputBuffer
	exited  chan struct{}
	started time.Time

	mu      sync.Mutex // one invoke at a time, as in one Lambda sandbox
	reports []Report
}

// Report is what the emulator printed at the end of one invocation.
type Report struct {
	RequestID string
	// Init is the runtime's initialisation (process start until its first
	// request for work) on the invocation that started it; zero on warm ones.
	Init time.Duration
	// Duration is the invocation itself, as the emulator measured it.
	Duration time.Duration
	// Wall is the time Invoke took from the caller's side, including the
	// emulator's own overhead (and Init on a cold start).
	Wall time.Duration
}

// Start runs bootstrap under the emulator with env as the function's whole
// environment (on top of defaults that a Lambda sandbox has: AWS_REGION,
// dummy credentials, _HANDLER; env wins). The developer's environment is not
// passed on, so a test cannot reach a real AWS account by accident. The
// emulator and the function are killed when the test ends. Only on Linux,
// which is all the emulator supports; elsewhere the test is skipped.
func Start(t testing.TB, bootstrap string, env map[string]string) *Emulator {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("lambdatest: the Lambda runtime interface emulator runs only on Linux, not %s", runtime.GOOS)
	}
	abs, err := filepath.Abs(bootstrap)
	if err != nil {
		t.Fatalf("lambdatest: %v", err)
	}
	rie := emulatorBinaryOrFail(t)
	// A free port can be taken by someone else between our probe and the
	// emulator's listen; then the emulator exits at once and we try again.
	var lastErr error
	for range 3 {
		e, err := start(t, rie, abs, env)
		if err == nil {
			return e
		}
		lastErr = err
	}
	t.Fatalf("lambdatest: start emulator: %v", lastErr)
	return nil
}

func start(t testing.TB, rie, bootstrap string, env map[string]string) (*Emulator, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie,
		"--log-level", "info", // else the function's LOG_LEVEL would set the emulator's too
		"--runtime-interface-emulator-address", addr,
		// Its own runtime API port, so emulators can run side by side
		// (the default is a fixed 9001).
		"--runtime-api-address", apiAddr,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap) // the function's task root, as /var/task
	cmd.Env = functionEnv(env)
	out := newOutputBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	setProcessGroup(cmd)
	e := &Emulator{
		URL:     "http://" + addr + "/2015-03-31/functions/function/invocations",
		cmd:     cmd,
		out:     out,
		exited:  make(chan struct{}),
		started: time.Now(),
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", rie, err)
	}
	go func() { _ = cmd.Wait(); close(e.exited) }()
	if err := e.waitListening(addr); err != nil {
		e.stop()
		return nil, fmt.Errorf("%w\n%s", err, out.String())
	}
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("lambdatest: output of %s:\n%s", filepath.Base(filepath.Dir(bootstrap)), out.String())
		}
	})
	return e, nil
}

func functionEnv(env map[string]string) []string {
	vars := map[string]string{
		"PATH":                        "/usr/local/bin:/usr/bin:/bin",
		"TZ":                          "UTC",
		"_HANDLER":                    "bootstrap",
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "us-east-1",
		"AWS_ACCESS_KEY_ID":           "lambdatest",
		"AWS_SECRET_ACCESS_KEY":       "lambdatest",
		"AWS_LAMBDA_FUNCTION_NAME":    "function",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "60",
	}
	for k, v := range env {
		vars[k] = v
	}
	list := make([]string, 0, len(vars))
	for k, v := range vars {
		list = append(list, k+"="+v)
	}
	return list
}

func (e *Emulator) waitListening(addr string) error {
	deadline := time.Now().Add(readyWait)
	for time.Now().Before(deadline) {
		select {
		case <-e.exited:
			return errors.New("emulator exited before it listened")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("emulator not listening on %s after %s", addr, readyWait)
}

func (e *Emulator) stop() {
	select {
	case <-e.exited:
		return
	default:
	}
	killProcessGroup(e.cmd)
	<-e.exited
}

// FunctionError is the answer to an invocation whose handler returned an
// error (or panicked, or the runtime failed): Lambda's error JSON.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
	// Status is the emulator's HTTP status (200 for a handler's error, as
	// Lambda's Invoke API; 5xx when the runtime itself failed).
	Status int `json:"-"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error (status %d): %s: %s", e.Status, e.Type, e.Message)
}

var requestSeq struct {
	sync.Mutex
	n int
}

func nextRequestID() string {
	requestSeq.Lock()
	defer requestSeq.Unlock()
	requestSeq.n++
	return fmt.Sprintf("lambdatest-%d-%d", os.Getpid(), requestSeq.n)
}

// Invoke sends event to the function and returns its response payload. A
// handler error comes back as a *FunctionError; a transport failure or an
// emulator error as another error.
func (e *Emulator) Invoke(t testing.TB, event []byte) ([]byte, error) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()

	id := nextRequestID()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", id)
	begin := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	wall := time.Since(begin)
	if err != nil {
		return nil, fmt.Errorf("invoke: read response: %w", err)
	}
	r := e.awaitReport(id)
	r.Wall = wall
	e.reports = append(e.reports, r)

	if fe := asFunctionError(resp.StatusCode, body); fe != nil {
		return body, fe
	}
	if resp.StatusCode/100 != 2 {
		return body, fmt.Errorf("invoke: emulator answered %s: %s", resp.Status, body)
	}
	return body, nil
}

// InvokeFile invokes the function with the contents of a file, such as one
// of the repository's events/*.json.
func (e *Emulator) InvokeFile(t testing.TB, path string) ([]byte, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return e.Invoke(t, b)
}

// asFunctionError recognises Lambda's error document: an object whose only
// keys are errorType/errorMessage (and, from some runtimes, stackTrace).
func asFunctionError(status int, body []byte) *FunctionError {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	if _, ok := doc["errorType"]; !ok {
		return nil
	}
	if _, ok := doc["errorMessage"]; !ok {
		return nil
	}
	for k := range doc {
		switch k {
		case "errorType", "errorMessage", "stackTrace":
		default:
			return nil
		}
	}
	fe := &FunctionError{Status: status}
	_ = json.Unmarshal(body, fe)
	return fe
}

// Reports returns the emulator's report of every invocation so far, first
// one first (the cold start).
func (e *Emulator) Reports() []Report {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Report(nil), e.reports...)
}

// Output returns everything the emulator and the function have printed.
func (e *Emulator) Output() string { return e.out.String() }

// The emulator's end-of-invoke line, and its log of the runtime's init. The
// REPORT line's own "Init Duration" only times the emulator handing the init
// to its sandbox, which runs it asynchronously; INIT REPORT times the init.
var (
	reportLine     = regexp.MustCompile(`REPORT RequestId: (\S+)\t(?:Init Duration: [0-9.]+ ms\t)?Duration: ([0-9.]+) ms`)
	initReportLine = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
)

// awaitReport waits for the REPORT line of request id. The emulator prints it
// before it answers, but it reaches us through a pipe, so it may trail the
// response a little.
func (e *Emulator) awaitReport(id string) Report {
	deadline := time.Now().Add(reportWait)
	for {
		out := e.out.String()
		for _, m := range reportLine.FindAllStringSubmatch(out, -1) {
			if m[1] != id {
				continue
			}
			r := Report{RequestID: id, Duration: millis(m[2])}
			// The runtime starts on the first invocation, and only then.
			if len(e.reports) == 0 {
				if im := initReportLine.FindStringSubmatch(out); im != nil {
					r.Init = millis(im[1])
				}
			}
			return r
		}
		if !e.out.waitChange(deadline) {
			return Report{RequestID: id}
		}
	}
}

func millis(s string) time.Duration {
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return time.Duration(f * float64(time.Millisecond))
}

// outputBuffer collects the emulator's output and wakes waiters on writes.
type outputBuffer struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{}
}

func newOutputBuffer() *outputBuffer { return &outputBuffer{changed: make(chan struct{})} }

func (b *outputBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

func (b *outputBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitChange waits for the next write until deadline; false if none came.
func (b *outputBuffer) waitChange(deadline time.Time) bool {
	b.mu.Lock()
	ch := b.changed
	b.mu.Unlock()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-ch:
		return true
	case <-timer.C:
		return false
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// emulatorBinary builds (or finds in the build cache) the aws-lambda-rie tool
// pinned in go.mod, once per test process.
var emulatorBinary = sync.OnceValues(func() (string, error) {
	root, err := findModuleRoot()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "tool", "-n", "aws-lambda-rie")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n aws-lambda-rie: %v\n%s", err, stderr.String())
	}
	path := strings.TrimSpace(string(out))
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("go tool -n aws-lambda-rie printed %q: %w", path, err)
	}
	return path, nil
})

func emulatorBinaryOrFail(t testing.TB) string {
	t.Helper()
	p, err := emulatorBinary()
	if err != nil {
		t.Fatalf("lambdatest: %v", err)
	}
	return p
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	root, err := findModuleRoot()
	if err != nil {
		t.Fatalf("lambdatest: %v", err)
	}
	return root
}

// findModuleRoot walks up from the working directory (a test's package
// directory) to the directory holding go.mod.
func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func goTool() string {
	// The go that runs the tests sets GOROOT for them; prefer its binary.
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
