// Command testsummary reads `go test -json` on stdin, prints one line per
// package as it finishes, then the output of every test that failed or was
// skipped and of every package that failed to build, and ends with exactly one
// line:
//
//	N passed, N failed, N skipped
//
// Counting: every test, subtest and example counts once, on its own; a parent
// test counts as well as its subtests (TestA with two passing subtests is 3
// passed). A package that fails with no failing test of its own (a build or
// vet error, a panic in init or TestMain, a timeout) counts as one failure, and
// a test that started but never ended in a failed package counts as failed.
//
// It exits 1 when anything failed, failed to build or was skipped — in `make
// test` every test must run — or when no test ran at all, and 2 on bad usage.
//
// `make test` runs several test commands; each pipes through `testsummary
// -tally FILE`, which also appends its counts to FILE, and the run ends with
// `testsummary -total FILE`, which prints the sum as the closing line.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

func main() {
	tally := flag.String("tally", "", "also append this run's counts to `file`")
	total := flag.String("total", "", "read no input: print the sum of the counts in `file` (written by -tally)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go test -json ./... | testsummary [-tally file]\n       testsummary -total file\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 || (*tally != "" && *total != "") {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(*tally, *total, os.Stdin, os.Stdout))
}

func run(tally, total string, in io.Reader, out io.Writer) int {
	if total != "" {
		c, err := readTally(total)
		if err != nil {
			fmt.Fprintf(out, "testsummary: %v\n", err)
			fmt.Fprintln(out, Counts{}.Line())
			return 1
		}
		fmt.Fprintln(out, c.Line())
		return c.exitCode()
	}
	s := NewSummary(out)
	if err := s.Read(in); err != nil {
		fmt.Fprintf(out, "testsummary: reading input: %v\n", err)
		s.ReadErr = true
	}
	c := s.Report()
	if tally != "" {
		if err := appendTally(tally, c); err != nil {
			fmt.Fprintf(out, "testsummary: %v\n", err)
			return 1
		}
	}
	if s.ReadErr {
		return 1
	}
	return c.exitCode()
}

// Counts are the closing numbers of one or more runs.
type Counts struct {
	Passed, Failed, Skipped int
}

// Line is the closing line.
func (c Counts) Line() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.Passed, c.Failed, c.Skipped)
}

func (c Counts) exitCode() int {
	if c.Failed > 0 || c.Skipped > 0 || c.Passed == 0 {
		return 1
	}
	return 0
}

func (c Counts) add(o Counts) Counts {
	return Counts{c.Passed + o.Passed, c.Failed + o.Failed, c.Skipped + o.Skipped}
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output, build-fail
	FailedBuild string // on a package's fail event
}

type testKey struct{ pkg, test string }

type testState struct {
	action string // "" until pass, fail or skip
	output []string
}

type pkgState struct {
	action      string
	elapsed     float64
	failedBuild string
	output      []string
	tests       []testKey
}

// Summary accumulates the events of one `go test -json` stream.
type Summary struct {
	out      io.Writer
	tests    map[testKey]*testState
	order    []testKey
	pkgs     map[string]*pkgState
	pkgOrder []string
	builds   map[string][]string // build output by import path
	// ReadErr is set when the input could not be read to its end.
	ReadErr bool
}

// NewSummary returns a Summary that writes its progress and report to out.
func NewSummary(out io.Writer) *Summary {
	return &Summary{
		out:    out,
		tests:  map[testKey]*testState{},
		pkgs:   map[string]*pkgState{},
		builds: map[string][]string{},
	}
}

// Read consumes the stream. Lines that are not JSON events are copied to the
// output as they come, so nothing go test printed is lost.
func (s *Summary) Read(r io.Reader) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			s.line(line)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *Summary) line(line string) {
	var e event
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
		fmt.Fprint(s.out, strings.TrimSuffix(line, "\n")+"\n")
		return
	}
	s.Event(e)
}

// Event records one event.
func (s *Summary) Event(e event) {
	switch {
	case e.Action == "build-output":
		s.builds[e.ImportPath] = append(s.builds[e.ImportPath], e.Output)
	case e.Action == "build-fail":
		// The package's own fail event (FailedBuild) follows and is counted.
	case e.Test != "":
		k := testKey{e.Package, e.Test}
		t := s.tests[k]
		if t == nil {
			t = &testState{}
			s.tests[k] = t
			s.order = append(s.order, k)
			p := s.pkg(e.Package)
			p.tests = append(p.tests, k)
		}
		switch e.Action {
		case "output":
			t.output = append(t.output, e.Output)
		case "pass", "fail", "skip":
			t.action = e.Action
		}
	case e.Package != "":
		p := s.pkg(e.Package)
		switch e.Action {
		case "output":
			p.output = append(p.output, e.Output)
		case "pass", "fail", "skip":
			p.action, p.elapsed, p.failedBuild = e.Action, e.Elapsed, e.FailedBuild
			s.progress(e.Package, p)
		}
	}
}

func (s *Summary) pkg(name string) *pkgState {
	p := s.pkgs[name]
	if p == nil {
		p = &pkgState{}
		s.pkgs[name] = p
		s.pkgOrder = append(s.pkgOrder, name)
	}
	return p
}

// progress prints go test's own one-line verdict per package as it ends.
func (s *Summary) progress(name string, p *pkgState) {
	var c Counts
	for _, k := range p.tests {
		switch s.tests[k].action {
		case "pass":
			c.Passed++
		case "fail", "":
			c.Failed++
		case "skip":
			c.Skipped++
		}
	}
	switch {
	case p.action == "skip" && len(p.tests) == 0:
		// "[no test files]": nothing ran, nothing to say.
	case p.failedBuild != "":
		fmt.Fprintf(s.out, "FAIL\t%s\t[build failed]\n", name)
	case p.action == "fail":
		fmt.Fprintf(s.out, "FAIL\t%s\t%.2fs\t%s\n", name, p.elapsed, c.brief())
	default:
		fmt.Fprintf(s.out, "ok\t%s\t%.2fs\t%s\n", name, p.elapsed, c.brief())
	}
}

// brief describes a package's counts in words unlike the closing line, so
// that only the closing line reads as one.
func (c Counts) brief() string {
	n := c.Passed + c.Failed + c.Skipped
	s := fmt.Sprintf("%d tests", n)
	if n == 1 {
		s = "1 test"
	}
	if c.Failed > 0 {
		s += fmt.Sprintf(", %d failing", c.Failed)
	}
	if c.Skipped > 0 {
		s += fmt.Sprintf(", %d skipping", c.Skipped)
	}
	return s
}

// Report prints the failures and skips and the closing line, and returns the counts.
func (s *Summary) Report() Counts {
	var c Counts
	var failed, skipped []testKey
	for _, k := range s.order {
		t := s.tests[k]
		p := s.pkgs[k.pkg]
		switch {
		case t.action == "pass":
			c.Passed++
		case t.action == "skip":
			c.Skipped++
			skipped = append(skipped, k)
		case t.action == "fail", t.action == "" && p.action == "fail":
			c.Failed++
			failed = append(failed, k)
		}
	}
	var brokenPkgs []string
	for _, name := range s.pkgOrder {
		p := s.pkgs[name]
		if p.action != "fail" {
			continue
		}
		ownFailure := false
		for _, k := range p.tests {
			if a := s.tests[k].action; a == "fail" || a == "" {
				ownFailure = true
			}
		}
		if !ownFailure {
			c.Failed++
		}
		if !ownFailure || meaningful(p.output) {
			brokenPkgs = append(brokenPkgs, name)
		}
	}

	for _, k := range failed {
		t := s.tests[k]
		s.section("FAIL", k.pkg+" "+k.test, t.output)
		if t.action == "" {
			fmt.Fprintln(s.out, "(never finished: its package failed while it ran)")
		}
	}
	for _, name := range brokenPkgs {
		p := s.pkgs[name]
		if p.failedBuild != "" {
			if out := s.buildOutput(name, p.failedBuild); len(out) > 0 {
				s.section("BUILD FAILED", name, out)
				continue
			}
		}
		s.section("FAILED PACKAGE", name, p.output)
	}
	for _, k := range skipped {
		s.section("SKIP", k.pkg+" "+k.test, s.tests[k].output)
	}
	if c.Skipped > 0 {
		fmt.Fprintf(s.out, "%d skipped: in this run every test must run\n", c.Skipped)
	}
	if c.Passed+c.Failed+c.Skipped == 0 {
		fmt.Fprintln(s.out, "no test ran")
	}
	fmt.Fprintln(s.out, c.Line())
	return c
}

// meaningful reports whether a package's own output says more than go test's
// verdict lines, e.g. a message from TestMain or init.
func meaningful(output []string) bool {
	for _, o := range output {
		l := strings.TrimSpace(o)
		if l == "" || l == "PASS" || l == "FAIL" || strings.HasPrefix(l, "FAIL\t") ||
			strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "ok\t") || strings.HasPrefix(l, "coverage:") {
			continue
		}
		return true
	}
	return false
}

// buildOutput gathers the compiler and vet output that belongs to a package
// whose build failed: go test reports it under the package's import path,
// possibly with a " [pkg.test]" suffix.
func (s *Summary) buildOutput(pkg, failedBuild string) []string {
	var lines []string
	for path, out := range s.builds {
		base, _, _ := strings.Cut(path, " ")
		if base == pkg || base == failedBuild || path == failedBuild {
			lines = append(lines, out...)
		}
	}
	return lines
}

func (s *Summary) section(kind, name string, output []string) {
	fmt.Fprintf(s.out, "\n=== %s: %s\n", kind, name)
	for _, o := range output {
		fmt.Fprint(s.out, o)
		if !strings.HasSuffix(o, "\n") {
			fmt.Fprintln(s.out)
		}
	}
}

func appendTally(path string, c Counts) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open tally: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%d %d %d\n", c.Passed, c.Failed, c.Skipped); err != nil {
		f.Close()
		return fmt.Errorf("write tally %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close tally %s: %w", path, err)
	}
	return nil
}

func readTally(path string) (Counts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Counts{}, fmt.Errorf("no test results recorded: %w", err)
	}
	var sum Counts
	for i, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			return Counts{}, fmt.Errorf("tally %s line %d: %q is not three counts", path, i+1, l)
		}
		var n [3]int
		for j := range f {
			if n[j], err = strconv.Atoi(f[j]); err != nil || n[j] < 0 {
				return Counts{}, fmt.Errorf("tally %s line %d: %q is not a count", path, i+1, f[j])
			}
		}
		sum = sum.add(Counts{n[0], n[1], n[2]})
	}
	return sum, nil
}
