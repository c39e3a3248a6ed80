// Package functions_test checks what the Lambda binaries are made of.
package functions_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/systemprompt-io/webhooks/"

// devPackages are the trees that hold development and test tooling: nothing
// under them may be linked into a Lambda binary.
var devPackages = []string{
	module + "internal/devtools",
	module + "cmd/",
	module + "infra/",
	module + "examples/",
}

// TestFunctionsLinkNoDevelopmentPackage lists every Lambda main's
// dependencies as the Lambda build sees them (linux/arm64, lambda.norpc) and
// fails on any development package among them.
func TestFunctionsLinkNoDevelopmentPackage(t *testing.T) {
	mains, err := filepath.Glob("*/main.go")
	require.NoError(t, err)
	require.NotEmpty(t, mains, "no functions/*/main.go found")
	for _, m := range mains {
		fn := filepath.Dir(m)
		t.Run(fn, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "./"+fn)
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "go list: %s", out)
			deps := strings.Fields(string(out))
			require.Contains(t, deps, module+"functions/"+fn, "go list did not list the main itself")
			for _, d := range deps {
				for _, dev := range devPackages {
					require.False(t, d == dev || strings.HasPrefix(d, strings.TrimSuffix(dev, "/")+"/"),
						"%s links development package %s", fn, d)
				}
			}
		})
	}
}

// TestDevPrefixMatchesAPackage keeps the prefixes above honest: a renamed
// tooling tree must not turn the check into one that can never fail.
func TestDevPrefixMatchesAPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "../...").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	all := strings.Fields(string(out))
	for _, dev := range devPackages {
		found := false
		for _, p := range all {
			if strings.HasPrefix(p, strings.TrimSuffix(dev, "/")) {
				found = true
				break
			}
		}
		require.True(t, found, "no package under %s: update devPackages", dev)
	}
}
