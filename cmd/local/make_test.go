package main

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The first `make run` compiles for a minute or two: it says so before the
// build starts, instead of leaving a new user looking at nothing.
func TestMakeRunSaysItBuilds(t *testing.T) {
	out, err := exec.Command("make", "-C", repoRoot, "-n", "run").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `(?m)^echo "make run: building \./cmd/local \(the first build .* a minute or two; later ones take seconds\)"\n.*go build -o \.cache/bin/local \./cmd/local\n`, string(out),
		"the message comes before the build")
}
