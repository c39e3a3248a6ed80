package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is where the Makefile is.
const repoRoot = "../.."

// TestMakeCLI: `make cli` builds the CLI into bin/webhooks, which git
// ignores, so no binary is left among the sources.
func TestMakeCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	out, err := exec.Command("make", "-C", repoRoot, "-n", "cli").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "build -o bin/webhooks ./cmd/webhooks")

	// Built for real somewhere else, so parallel runs do not share a file.
	bin := filepath.Join(t.TempDir(), "webhooks")
	out, err = exec.Command("make", "-C", repoRoot, "-s", "cli", "CLI_BIN="+bin).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(bin, "version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.True(t, strings.HasPrefix(string(out), "webhooks "), "%s", out)

	out, err = exec.Command("git", "-C", repoRoot, "check-ignore", "-v", "bin/webhooks").CombinedOutput()
	require.NoError(t, err, "bin/webhooks is not git-ignored: %s", out)
}
