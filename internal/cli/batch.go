package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/systemprompt-io/webhooks/internal/trigger"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// The API's bounds of POST /events/batch (api/openapi.yaml checks them
// against the same constants): events per request and body bytes. A batch
// is cut before either is reached.
const (
	batchMaxEvents = trigger.MaxBatch
	batchMaxBytes  = webhook.MaxBatchBodyBytes
)

// batchLine is one event line of a --file: its line number and JSON.
type batchLine struct {
	n   int
	raw json.RawMessage
}

// batchItemDTO is one item of POST /events/batch's answer.
type batchItemDTO struct {
	EventID    string    `json:"event_id"`
	Deliveries int       `json:"deliveries"`
	Error      *APIError `json:"error"`
}

// batchLineJSON is what --format json prints per line of the file.
type batchLineJSON struct {
	Line       int             `json:"line"`
	EventID    string          `json:"event_id,omitempty"`
	Deliveries *int            `json:"deliveries,omitempty"`
	Error      *batchErrorJSON `json:"error,omitempty"`
}

type batchErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// triggerFile is `webhooks trigger --file F`: the events of F, one JSON
// object per line (blank lines skipped), sent in batches of up to 100 (and
// under 1 MiB) to POST /events/batch, with a progress line per batch on
// stderr. A line that is not a JSON object, or that the API refuses, is
// reported with its line number and the others go on; any such line makes
// the exit status 1. A request the API refuses as a whole, or that gets no
// answer, stops the run: the lines before it stand as sent.
func (a *app) triggerFile(cmd *cobra.Command, path string) error {
	format, err := outputFormat(cmd)
	if err != nil {
		return err
	}
	lines, bad, err := a.readEventLines(path)
	if err != nil {
		return err
	}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	enc := json.NewEncoder(stdout)
	refused := len(bad)
	for _, b := range bad {
		if format == formatJSON {
			_ = enc.Encode(batchLineJSON{Line: b.Line, Error: b.Error})
		}
		fmt.Fprintf(stderr, "line %d: %s\n", b.Line, b.Error.Message)
	}
	total := len(lines) + len(bad)
	accepted, deliveries, sent := 0, 0, len(bad)
	seen := map[string]bool{} // event ids: a key given twice answers one event twice
	for _, batch := range cutBatches(lines) {
		body := batchBody(batch)
		resp, err := a.call(cmd, request{method: http.MethodPost, path: "/events/batch", body: body})
		if err != nil {
			return fmt.Errorf("lines %d-%d: %w (%d of %d lines sent before)", batch[0].n, batch[len(batch)-1].n, err, sent, total)
		}
		var out struct {
			Items []batchItemDTO `json:"items"`
		}
		if err := decode(resp.Body, &out); err != nil {
			return err
		}
		if len(out.Items) != len(batch) {
			return &requestError{fmt.Errorf("unexpected response from the API: %d items for %d events", len(out.Items), len(batch))}
		}
		for k, it := range out.Items {
			line := batch[k].n
			if it.Error != nil {
				refused++
				field := lineField(it.Error.Field)
				if format == formatJSON {
					_ = enc.Encode(batchLineJSON{Line: line, Error: &batchErrorJSON{Code: it.Error.Code, Message: it.Error.Message, Field: field}})
				}
				msg := it.Error.Code + ": " + it.Error.Message
				if field != "" {
					msg += " (field " + field + ")"
				}
				fmt.Fprintf(stderr, "line %d: %s\n", line, oneLine(msg))
				continue
			}
			accepted++
			if !seen[it.EventID] {
				seen[it.EventID] = true
				deliveries += it.Deliveries
			}
			if format == formatJSON {
				n := it.Deliveries
				_ = enc.Encode(batchLineJSON{Line: line, EventID: it.EventID, Deliveries: &n})
			}
		}
		sent += len(batch)
		fmt.Fprintf(stderr, "%d of %d lines done: %d accepted (%d deliveries queued), %d refused\n", sent, total, accepted, deliveries, refused)
	}
	if format != formatJSON {
		fmt.Fprintf(stdout, "Triggered %d of %d events: %d %s queued\n", accepted, total, deliveries, plural(deliveries, "delivery", "deliveries"))
	}
	if refused > 0 {
		return &runError{fmt.Errorf("%d of %d lines refused (listed above)", refused, total)}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// badLine is a line refused before sending.
type badLine struct {
	Line  int
	Error *batchErrorJSON
}

// readEventLines reads path ("-": stdin) into event lines; a line that is
// not one JSON object, or too large for a batch, is refused here.
func (a *app) readEventLines(path string) ([]batchLine, []badLine, error) {
	var r io.Reader
	if path == "-" {
		r = a.env.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, &runError{fmt.Errorf("--file: %w", err)}
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), batchMaxBytes+1)
	var (
		lines []batchLine
		bad   []badLine
		n     int
	)
	for sc.Scan() {
		n++
		raw := bytes.TrimSpace(sc.Bytes())
		switch {
		case len(raw) == 0:
			continue
		case len(raw) > batchMaxBytes-len(`{"events":[]}`):
			bad = append(bad, badLine{n, &batchErrorJSON{Code: "payload_too_large", Message: fmt.Sprintf("the line is %d bytes, more than a batch request may hold", len(raw))}})
		case raw[0] != '{' || !json.Valid(raw):
			bad = append(bad, badLine{n, &batchErrorJSON{Code: "validation_failed", Message: "not a JSON object (one event per line)"}})
		default:
			lines = append(lines, batchLine{n, json.RawMessage(bytes.Clone(raw))})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, &runError{fmt.Errorf("--file: line %d: %w", n+1, err)}
	}
	if len(lines)+len(bad) == 0 {
		return nil, nil, usageError("--file: no events in %s", path)
	}
	return lines, bad, nil
}

// cutBatches cuts lines into requests of at most batchMaxEvents events and
// batchMaxBytes of body.
func cutBatches(lines []batchLine) [][]batchLine {
	var (
		out  [][]batchLine
		cur  []batchLine
		size = len(`{"events":[]}`)
	)
	for _, l := range lines {
		if len(cur) == batchMaxEvents || len(cur) > 0 && size+len(l.raw)+1 > batchMaxBytes {
			out = append(out, cur)
			cur, size = nil, len(`{"events":[]}`)
		}
		cur = append(cur, l)
		size += len(l.raw) + 1
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func batchBody(batch []batchLine) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	for k, l := range batch {
		if k > 0 {
			b.WriteByte(',')
		}
		b.Write(l.raw)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// lineField is an item error's field within its line: "events[3].data"
// is "data"; the event as a whole is "".
func lineField(field string) string {
	if !strings.HasPrefix(field, "events[") {
		return field
	}
	_, rest, ok := strings.Cut(field, "]")
	if !ok {
		return field
	}
	return strings.TrimPrefix(rest, ".")
}
