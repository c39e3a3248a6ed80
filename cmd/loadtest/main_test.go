package main

import (
	"io"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is where the Makefile is.
const repoRoot = "../.."

// make loadtest hands its variables to the command: a fresh cmd/local, built
// as make run builds it, or the running stack given.
func TestMakeLoadtest(t *testing.T) {
	out, err := exec.Command("make", "-C", repoRoot, "-n", "loadtest", "LOADTEST_N=7", "LOADTEST_C=3", "LOADTEST_SUBS=2", "LOADTEST_RUNS=1").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "build -o .cache/bin/local ./cmd/local")
	assert.Regexp(t, `-n 7 -c 3 --subscribers 2 --runs 1\s+\\?\s*--bin .cache/bin/local`, string(out))

	out, err = exec.Command("make", "-C", repoRoot, "-n", "loadtest", "LOADTEST_URL=http://127.0.0.1:3000").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.NotContains(t, string(out), "./cmd/local", "nothing to build for a running stack")
	assert.Contains(t, string(out), "-n 5000 -c 16 --subscribers 1 --runs 3")
	assert.Contains(t, string(out), "--url http://127.0.0.1:3000 --pid 0")
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--bin", "x", "--url", "http://127.0.0.1:1"},
		{"--url", "http://example.com"},
		{},
		{"extra"},
	} {
		cmd := command()
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		assert.Error(t, cmd.Execute(), "%v", args)
	}
}
