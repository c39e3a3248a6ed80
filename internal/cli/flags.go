package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// msValue is a flag holding milliseconds, given as a whole number of
// milliseconds (the seed's unit) or a Go duration ("1s", "1m30s").
type msValue struct{ ms int64 }

var _ pflag.Value = (*msValue)(nil)

func (v *msValue) String() string { return strconv.FormatInt(v.ms, 10) }
func (v *msValue) Type() string   { return "ms" }

func (v *msValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return errors.New("must not be negative")
		}
		v.ms = n
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want milliseconds or a duration like 1s or 2m30s")
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	if d%time.Millisecond != 0 {
		return errors.New("must be a whole number of milliseconds")
	}
	v.ms = d.Milliseconds()
	return nil
}

// jsonFlag parses the value of a flag that holds JSON. It keeps the bytes
// (compacted) so they reach the API as the user wrote them.
func jsonFlag(name, value string) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(value)); err != nil {
		return nil, usageError("--%s: malformed JSON: %v", name, err)
	}
	return json.RawMessage(buf.Bytes()), nil
}

// stringMapFlag parses a flag that holds a JSON object of strings.
func stringMapFlag(name, value string) (map[string]string, error) {
	raw, err := jsonFlag(name, value)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, usageError(`--%s: want a JSON object of strings, like {"key":"value"}`, name)
	}
	return m, nil
}

// listFlag splits a comma-separated list, dropping blanks.
func listFlag(value string) []string {
	out := []string{}
	for _, s := range strings.Split(value, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Output formats.
const (
	formatTable = "table"
	formatJSON  = "json"
)

func addFormatFlag(cmd *cobra.Command) {
	cmd.Flags().String("format", formatTable, "output format: table or json (the API's JSON body)")
}

func outputFormat(cmd *cobra.Command) (string, error) {
	f, _ := cmd.Flags().GetString("format")
	switch f {
	case formatTable, formatJSON:
		return f, nil
	case "text":
		return formatTable, nil
	}
	return "", usageError("--format: want table or json, not %q", f)
}
