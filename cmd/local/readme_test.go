package main

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is where the README and the Makefile are.
const repoRoot = "../.."

// block is one fenced block of the README: its language and its lines.
type block struct {
	lang  string
	lines []string
}

// readmeBlocks returns the fenced blocks of the README section that starts
// with the heading line title and ends at the next heading of its level.
func readmeBlocks(t *testing.T, title string) []block {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	level := title[:strings.IndexByte(title, ' ')+1]
	var (
		out     []block
		in, cur bool
	)
	for _, l := range strings.Split(string(raw), "\n") {
		switch {
		case !in && l == title:
			in = true
		case in && !cur && strings.HasPrefix(l, level):
			return out
		case in && !cur && strings.HasPrefix(l, "```"):
			cur = true
			out = append(out, block{lang: strings.TrimPrefix(l, "```")})
		case in && cur && l == "```":
			cur = false
		case in && cur:
			out[len(out)-1].lines = append(out[len(out)-1].lines, l)
		}
	}
	require.True(t, in, "README has no %q", title)
	return out
}

// commands joins a shell block's continued lines and drops blank ones.
func commands(b block) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(strings.Join(b.lines, "\n"), "\\\n", " "), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// shell runs one README command with bash in the repository root.
func shell(ctx context.Context, line string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// consoleLine is a line of shown output as a pattern: ids, secrets, times
// and the receiver's port stand for any.
func consoleLine(l string) *regexp.Regexp {
	p := regexp.QuoteMeta(l)
	for _, r := range []struct{ re, with string }{
		{`(wh|dlv|evt)_[0-9a-f]{32}`, `${1}_[0-9a-f]{32}`},
		{`whsec_\S+`, `whsec_[A-Za-z0-9+/]+=*`},
		{`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\\\.\d{3}Z`, `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z`},
		{`127\\\.0\\\.0\\\.1:9000`, `127\.0\.0\.1:\d+`},
	} {
		p = regexp.MustCompile(r.re).ReplaceAllString(p, r.with)
	}
	return regexp.MustCompile(`(?m)^` + p + `$`)
}

// TestReadmeQuickStart runs the README's quick start as written, against a
// local stack, and fails when a command of it breaks or its output is no
// longer what the README shows. What it substitutes, and why:
//
//   - `make run` is this package's command started in a child process (as
//     TestLocalStackKeepsStateAcrossRestarts does) with PORT=0 and
//     WEBHOOKS_DATA_DIR=memory, so it runs next to other tests and a real
//     `make run`; the CLI reaches it through WEBHOOKS_ENDPOINT instead of
//     its default 127.0.0.1:3000;
//   - `make cli` runs as written, with CLI_BIN in the environment (make's
//     `CLI_BIN ?=`) pointing into a temporary directory, and `bin/webhooks`
//     in the later commands names that binary: parallel runs share no file;
//   - `listen` gets `--port 0` (a free port) instead of its default 9000,
//     which the shown output's 9000 then stands for.
//
// The other commands run as written, with bash in the repository root. Then
// the same for the curl examples of "Running locally".
func TestReadmeQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and starts the local stack")
	}
	for _, tool := range []string{"bash", "make", "curl"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the README's commands need %s", tool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*bound)
	defer cancel()

	blocks := readmeBlocks(t, "## Quick start")
	var sh []block
	var shown *block
	for i, b := range blocks {
		switch b.lang {
		case "sh":
			sh = append(sh, b)
		case "console":
			shown = &blocks[i]
		}
	}
	require.Len(t, sh, 3, "the quick start has three terminals' commands: the test knows each")
	require.NotNil(t, shown, "the quick start shows the receiver's output")
	require.Equal(t, []string{"make run"}, commands(sh[0]), "the first terminal: make run")
	receiver := commands(sh[1])
	require.Len(t, receiver, 2, "the second terminal: make cli, then listen")
	require.Equal(t, "make cli", receiver[0])
	require.Contains(t, receiver[1], "bin/webhooks listen ")

	// The first terminal.
	stack := startProcess(t, "memory")
	cli := filepath.Join(t.TempDir(), "bin", "webhooks")
	env := []string{"CLI_BIN=" + cli, "WEBHOOKS_ENDPOINT=" + stack.url}
	named := func(line string) string { return strings.ReplaceAll(line, "bin/webhooks", cli) }

	// The second: build the CLI, start the receiver.
	out, err := shell(ctx, receiver[0], env...).CombinedOutput()
	require.NoError(t, err, "%s: %s", receiver[0], out)
	require.FileExists(t, cli, "make cli builds CLI_BIN")
	listen := shell(ctx, "exec "+named(receiver[1])+" --port 0", env...)
	term := &syncBuffer{} // one terminal: stdout and stderr interleaved, as shown
	listen.Stdout, listen.Stderr = term, term
	require.NoError(t, listen.Start())
	exited := make(chan error, 1)
	go func() { exited <- listen.Wait() }()
	t.Cleanup(func() {
		if listen.ProcessState == nil {
			_ = listen.Process.Kill()
			<-exited
		}
	})
	listening := regexp.MustCompile(`(?m)^Listening on http://127\.0\.0\.1:\d+`)
	waitFor(t, func() bool { return listening.MatchString(term.String()) }, exited, "listen to listen: %s", term)

	// The third: trigger the event.
	for _, line := range commands(sh[2]) {
		out, err := shell(ctx, named(line), env...).CombinedOutput()
		require.NoError(t, err, "%s: %s", line, out)
	}

	// Once the delivery arrived, the second terminal shows what the README
	// shows, the delivery with both signatures verified included.
	delivered := regexp.MustCompile(`(?m)^.* dlv_[0-9a-f]{32} .*$`)
	waitFor(t, func() bool { return delivered.MatchString(term.String()) }, exited, "the delivery to reach listen; it shows:\n%s", term)
	for _, l := range shown.lines {
		assert.Regexp(t, consoleLine(l), term.String(), "listen shows the README's line %q", l)
	}

	// Ctrl-C: listen deletes the webhook it created and exits 0.
	require.NoError(t, listen.Process.Signal(syscall.SIGINT))
	select {
	case err := <-exited:
		require.NoError(t, err, "listen stops cleanly on Ctrl-C:\n%s", term)
	case <-time.After(bound):
		t.Fatalf("listen did not stop on Ctrl-C:\n%s", term)
	}
	code, body := stack.call(t, "GET", "/webhooks", "")
	require.Equal(t, 200, code, body)
	assert.Empty(t, body["items"], "the webhook listen created is gone")

	readmeRunningLocally(t, ctx, stack)
}

// readmeRunningLocally runs the curl examples of "Running locally" on the
// stack (their `make run &` is the stack already running; localhost:3000 is
// its address) and checks each answer against the comment beside it, where
// "..." stands for anything.
func readmeRunningLocally(t *testing.T, ctx context.Context, stack *process) {
	var curls []string
	for _, b := range readmeBlocks(t, "## Running locally") {
		if b.lang == "sh" {
			curls = append(curls, commands(b)...)
		}
	}
	require.NotEmpty(t, curls)
	require.Equal(t, "make run &", curls[0], "the example starts the stack first")
	u, err := url.Parse(stack.url)
	require.NoError(t, err)
	for _, line := range curls[1:] {
		cmd, want, _ := strings.Cut(line, " # ")
		cmd = strings.ReplaceAll(cmd, "localhost:3000", u.Host)
		out, err := shell(ctx, cmd).Output()
		require.NoError(t, err, "%s: %s", line, out)
		want = strings.TrimSpace(want)
		if want == "" {
			continue
		}
		re := regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(want), `\.\.\.`, `.*`))
		assert.Regexp(t, re, string(out), "%s", cmd)
	}
}

// waitFor polls done until it holds, listen ended or bound passed.
func waitFor(t *testing.T, done func() bool, exited chan error, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !done() {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("listen ended (%v); waiting for "+format, append([]any{err}, args...)...)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for "+format, append([]any{bound}, args...)...)
		}
	}
}
