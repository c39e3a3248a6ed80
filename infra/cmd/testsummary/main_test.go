package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The testdata/*.jsonl files are real `go test -json` output of small scratch
// packages: okp (a test with two parallel subtests, and a plain test), failp
// (one failing subtest), skipp (a t.Skip), brokenp (a compile error), vetp (a
// vet error), panicp (a panicking test), mainp (TestMain exits 3 after its
// tests passed), hangp (-timeout hit while a test ran), notests (no test files).
func fixture(t *testing.T, names ...string) string {
	t.Helper()
	var b strings.Builder
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join("testdata", n+".jsonl"))
		require.NoError(t, err)
		b.Write(data)
	}
	return b.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		inputs   []string
		want     string
		wantCode int
		contains []string // in the report
	}{
		{name: "all pass, parent and subtests counted", inputs: []string{"okp"}, want: "4 passed, 0 failed, 0 skipped", wantCode: 0,
			contains: []string{"ok\texample.com/fix/okp"}},
		{name: "no test files is not a skip", inputs: []string{"okp", "notests"}, want: "4 passed, 0 failed, 0 skipped", wantCode: 0},
		{name: "failing subtest fails its parent too", inputs: []string{"failp"}, want: "2 passed, 2 failed, 0 skipped", wantCode: 1,
			contains: []string{"=== FAIL: example.com/fix/failp TestOuter/bad", "MARKER-FAIL", "FAIL\texample.com/fix/failp\t"}},
		{name: "a skip fails the run", inputs: []string{"skipp"}, want: "1 passed, 0 failed, 1 skipped", wantCode: 1,
			contains: []string{"=== SKIP: example.com/fix/skipp TestSkipped", "MARKER-SKIP"}},
		{name: "build failure counts once and shows the compiler", inputs: []string{"okp", "brokenp"}, want: "4 passed, 1 failed, 0 skipped", wantCode: 1,
			contains: []string{"=== BUILD FAILED: example.com/fix/brokenp", "MARKER-BUILD"}},
		{name: "vet failure counts once and shows vet", inputs: []string{"vetp"}, want: "0 passed, 1 failed, 0 skipped", wantCode: 1,
			contains: []string{"=== BUILD FAILED: example.com/fix/vetp", "wrong type string"}},
		{name: "panic fails the test", inputs: []string{"panicp"}, want: "1 passed, 1 failed, 0 skipped", wantCode: 1,
			contains: []string{"=== FAIL: example.com/fix/panicp TestPanics", "assignment to entry in nil map"}},
		{name: "TestMain failure after passing tests", inputs: []string{"mainp"}, want: "1 passed, 1 failed, 0 skipped", wantCode: 1,
			contains: []string{"=== FAILED PACKAGE: example.com/fix/mainp", "MARKER-MAIN"}},
		{name: "timeout: the unfinished test fails", inputs: []string{"hangp"}, want: "1 passed, 1 failed, 0 skipped", wantCode: 1,
			contains: []string{"=== FAIL: example.com/fix/hangp TestHang", "never finished", "test timed out", "2 tests, 1 failing"}},
		{name: "nothing ran", inputs: []string{"notests"}, want: "0 passed, 0 failed, 0 skipped", wantCode: 1,
			contains: []string{"no test ran"}},
		{name: "empty input", inputs: nil, want: "0 passed, 0 failed, 0 skipped", wantCode: 1},
		{name: "everything at once", inputs: []string{"okp", "failp", "skipp", "brokenp", "vetp", "panicp", "mainp", "hangp", "notests"},
			want: "10 passed, 7 failed, 1 skipped", wantCode: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run("", "", strings.NewReader(fixture(t, tc.inputs...)), &out)
			assert.Equal(t, tc.wantCode, code)
			assert.Equal(t, tc.want, lastLine(out.String()))
			assert.Equal(t, 1, strings.Count(out.String(), tc.want), "the closing line appears once")
			for _, c := range tc.contains {
				assert.Contains(t, out.String(), c)
			}
		})
	}
}

func TestPassingOutputStaysQuiet(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, run("", "", strings.NewReader(fixture(t, "okp")), &out))
	assert.NotContains(t, out.String(), "=== RUN", "passing tests' output is not repeated")
	assert.NotContains(t, out.String(), "===")
}

func TestNonJSONLinesPassThrough(t *testing.T) {
	in := "go: downloading example.com/x v1.0.0\n" + fixture(t, "okp") + "{not json\n"
	var out bytes.Buffer
	require.Equal(t, 0, run("", "", strings.NewReader(in), &out))
	assert.Contains(t, out.String(), "go: downloading example.com/x v1.0.0\n")
	assert.Contains(t, out.String(), "{not json\n")
	assert.Equal(t, "4 passed, 0 failed, 0 skipped", lastLine(out.String()))
}

func TestLastLineWithoutNewline(t *testing.T) {
	in := strings.TrimRight(fixture(t, "okp"), "\n")
	var out bytes.Buffer
	assert.Equal(t, 0, run("", "", strings.NewReader(in), &out))
	assert.Equal(t, "4 passed, 0 failed, 0 skipped", lastLine(out.String()))
}

func TestTallyAndTotal(t *testing.T) {
	tally := filepath.Join(t.TempDir(), "tally")
	var out bytes.Buffer
	require.Equal(t, 0, run(tally, "", strings.NewReader(fixture(t, "okp")), &out))
	require.Equal(t, 0, run(tally, "", strings.NewReader(fixture(t, "okp")), &out))

	out.Reset()
	assert.Equal(t, 0, run("", tally, strings.NewReader(""), &out))
	assert.Equal(t, "8 passed, 0 failed, 0 skipped\n", out.String())

	require.Equal(t, 1, run(tally, "", strings.NewReader(fixture(t, "skipp")), &out))
	out.Reset()
	assert.Equal(t, 1, run("", tally, strings.NewReader(""), &out), "a skip in any run fails the total")
	assert.Equal(t, "9 passed, 0 failed, 1 skipped\n", out.String())
}

func TestTotalErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("1 2\n"), 0o644))
	negative := filepath.Join(dir, "negative")
	require.NoError(t, os.WriteFile(negative, []byte("1 -2 0\n"), 0o644))
	for name, path := range map[string]string{"missing": filepath.Join(dir, "none"), "malformed": bad, "negative": negative} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			assert.Equal(t, 1, run("", path, strings.NewReader(""), &out))
			assert.Equal(t, "0 passed, 0 failed, 0 skipped", lastLine(out.String()))
		})
	}
}

func TestVerdictOnlyPackageOutputIsNotRepeated(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 1, run("", "", strings.NewReader(fixture(t, "failp")), &out))
	assert.NotContains(t, out.String(), "FAILED PACKAGE", "the failing test already explains the package")
	assert.NotContains(t, out.String(), "BUILD FAILED")
}
