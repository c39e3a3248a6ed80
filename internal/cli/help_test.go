package cli

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every command with required flags, run without them, names them all in
// one line that ends with where its flags are described, and sends nothing
// (TestUsageErrors has the wording for some; this keeps a new command or
// flag from escaping the rule).
func TestRequiredFlagErrorsNameTheHelp(t *testing.T) {
	checked := 0
	for _, cmd := range commands() {
		var required []string
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if slices.Contains(f.Annotations[cobra.BashCompOneRequiredFlag], "true") {
				required = append(required, `"`+f.Name+`"`)
			}
		})
		if len(required) == 0 {
			continue
		}
		checked++
		slices.Sort(required)
		path := cmd.CommandPath()
		t.Run(path, func(t *testing.T) {
			api := newFakeAPI(t, nil)
			args := strings.Fields(path)[1:]
			// Positional ids in the usage line are given, so the flags are what is missing.
			for _, w := range strings.Fields(cmd.Use)[1:] {
				if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") {
					break
				}
				args = append(args, "wh_0192f0c4b4f27a9e8d3c2b1a09f8e7d6")
			}
			got := runCLI(t, api.srv.URL, runOpts{}, args...)
			assert.Equal(t, ExitUsage, got.code, got.stderr)
			assert.Equal(t, "error: required flag(s) "+strings.Join(required, ", ")+" not set (see '"+path+" --help')\n", got.stderr)
			assert.Empty(t, got.stdout)
			assert.Empty(t, api.requests(), "nothing is sent")
		})
	}
	require.GreaterOrEqual(t, checked, 3, "create, trigger and retry have required flags")
}

// Every --help, of every command, shows flags with one-word value types
// (never a quoted phrase such as "--events webhooks events") and update
// shows no default it does not apply: checked on the text itself, for
// every command, next to TestFlagHelpValueTypes and
// TestUpdateHelpShowsNoCreateDefaults.
func TestEveryHelpShowsPlainValueTypes(t *testing.T) {
	// A flag, what help shows as its value type (up to the two spaces before
	// the usage), the usage.
	flagLine := regexp.MustCompile(`^\s+(?:-\w, )?--[\w-]+((?: \S+)*?)\s{2,}\S`)
	for _, cmd := range commands() {
		path := cmd.CommandPath()
		t.Run(path, func(t *testing.T) {
			help := helpOf(t, strings.Fields(path)[1:]...)
			flags := 0
			for _, l := range strings.Split(help, "\n") {
				m := flagLine.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				flags++
				assert.Regexp(t, `^( [a-z]+)?$`, m[1], "%s --help: %q", path, l)
			}
			assert.Positive(t, flags, "%s --help shows its flags (--help at least)", path)
		})
	}
}
