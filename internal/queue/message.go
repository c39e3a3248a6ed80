package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// MaxPayloadBytes bounds an event's data plus metadata (compact JSON).
//
// A job carries the event's payload, so the delivery path never reads it
// from DynamoDB, and a job must fit one SQS message. SQS now accepts 1 MiB,
// but ElasticMQ, the embedded emulator's defaults and many deployments'
// MaximumMessageSize still say 256 KiB, so jobs are held to MaxMessageBytes
// (256 KiB): 200 KiB of payload leaves ample room for the job's other fields
// (ids, event name, timestamps: well under 1 KiB).
const MaxPayloadBytes = 200 << 10

// TimeFormat is how messages write times: RFC 3339, UTC, milliseconds (the
// subscriber payload's format).
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Job message discriminator and version.
const (
	JobKind    = "job"
	JobVersion = 1
)

// ErrMalformed is wrapped by every error about a message that cannot be
// read. Such a message will not get better by retrying it; the caller logs it
// with its message id and reports it failed, so the queue's redrive policy
// moves it to the dead-letter queue where an operator can see it.
var ErrMalformed = errors.New("queue: malformed message")

// Job means "attempt delivery DeliveryID now". It carries the event itself,
// so an attempt needs no read of the event.
type Job struct {
	DeliveryID string
	WebhookID  string
	EventID    string
	Event      string
	// Attempt is the number of the attempt to make, from 1.
	Attempt int
	// NotBefore is set when the job must wait longer than SQS can delay a
	// message (MaxDelay): a job received before it is re-sent with the rest
	// of the wait (Remaining). Zero means due when received. Senders set it
	// through SendJobs' delays, not by hand.
	NotBefore time.Time
	CreatedAt time.Time
	// Timestamp is the event's time: the payload's "timestamp".
	Timestamp time.Time
	Data      json.RawMessage
	Metadata  json.RawMessage
	Test      bool
}

// jobWire is a Job as JSON, with short, stable names.
type jobWire struct {
	Kind       string          `json:"kind"`
	V          int             `json:"v"`
	DeliveryID string          `json:"delivery_id"`
	WebhookID  string          `json:"webhook_id"`
	EventID    string          `json:"event_id,omitempty"`
	Event      string          `json:"event"`
	Attempt    int             `json:"attempt"`
	NotBefore  string          `json:"not_before,omitempty"`
	CreatedAt  string          `json:"created_at"`
	Timestamp  string          `json:"timestamp"`
	Data       json.RawMessage `json:"data,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	Test       bool            `json:"test,omitempty"`
}

// Due reports whether the job may be attempted at now.
func (j Job) Due(now time.Time) bool { return j.NotBefore.IsZero() || !now.Before(j.NotBefore) }

// Remaining is how long the job must still wait at now (0 when due).
func (j Job) Remaining(now time.Time) time.Duration {
	if j.Due(now) {
		return 0
	}
	return j.NotBefore.Sub(now)
}

func (j Job) validate() error {
	switch {
	case !webhook.ValidID(webhook.DeliveryIDPrefix, j.DeliveryID):
		return fmt.Errorf("delivery_id %q is not a delivery id", j.DeliveryID)
	case !webhook.ValidID(webhook.WebhookIDPrefix, j.WebhookID):
		return fmt.Errorf("webhook_id %q is not a webhook id", j.WebhookID)
	case j.Event == "":
		return errors.New("event is empty")
	case j.Attempt < 1:
		return fmt.Errorf("attempt %d: attempts count from 1", j.Attempt)
	case j.CreatedAt.IsZero():
		return errors.New("created_at is missing")
	case j.Timestamp.IsZero():
		return errors.New("timestamp is missing")
	}
	return nil
}

// Encode returns the job's message body: compact JSON that SQS accepts. A
// payload over MaxPayloadBytes, or a body over MaxMessageBytes, is a
// *webhook.Error with code ETooLarge; a payload that is not JSON is EInvalid.
//
// The payload was checked once, where the event entered (CheckPayload, from
// the trigger), and a fan-out encodes it once per subscriber: so Encode reads
// it only to encode it. Its size is bounded by its length (compact JSON is
// never longer than what it was compacted from), and only a payload whose
// length is over the limit is measured compact.
func (j Job) Encode() (string, error) {
	if err := j.validate(); err != nil {
		return "", fmt.Errorf("queue: encode job %s: %w", j.DeliveryID, err)
	}
	if len(j.Data)+len(j.Metadata) > MaxPayloadBytes {
		if err := CheckPayload(j.Data, j.Metadata); err != nil {
			return "", fmt.Errorf("queue: encode job %s: %w", j.DeliveryID, err)
		}
	}
	w := jobWire{
		Kind: JobKind, V: JobVersion,
		DeliveryID: j.DeliveryID, WebhookID: j.WebhookID, EventID: j.EventID, Event: j.Event,
		Attempt:   j.Attempt,
		CreatedAt: formatTime(j.CreatedAt), Timestamp: formatTime(j.Timestamp),
		Data: nullToNil(j.Data), Metadata: nullToNil(j.Metadata), Test: j.Test,
	}
	if !j.NotBefore.IsZero() {
		w.NotBefore = formatTime(j.NotBefore)
	}
	body, err := marshal(w)
	if err != nil {
		if perr := CheckPayload(j.Data, j.Metadata); perr != nil {
			err = perr // names the field that is not JSON
		}
		return "", fmt.Errorf("queue: encode job %s: %w", j.DeliveryID, err)
	}
	if len(body) > MaxMessageBytes {
		return "", fmt.Errorf("queue: encode job %s: %w", j.DeliveryID,
			webhook.Errorf(webhook.ETooLarge, "the job message is %d bytes, over the queue's limit of %d", len(body), MaxMessageBytes))
	}
	return string(body), nil
}

// DecodeJob reads a job message. Every error wraps ErrMalformed.
func DecodeJob(body string) (Job, error) {
	var w jobWire
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return Job{}, malformed("job: %v", err)
	}
	if dec.More() {
		return Job{}, malformed("job: data after the JSON object")
	}
	if w.Kind != JobKind {
		return Job{}, malformed("job: kind is %q, not %q", w.Kind, JobKind)
	}
	if w.V != JobVersion {
		return Job{}, malformed("job: version %d is not supported (this build reads version %d)", w.V, JobVersion)
	}
	j := Job{
		DeliveryID: w.DeliveryID, WebhookID: w.WebhookID, EventID: w.EventID, Event: w.Event,
		Attempt: w.Attempt, Data: nullToNil(w.Data), Metadata: nullToNil(w.Metadata), Test: w.Test,
	}
	var err error
	if j.CreatedAt, err = parseTime("created_at", w.CreatedAt); err != nil {
		return Job{}, err
	}
	if j.Timestamp, err = parseTime("timestamp", w.Timestamp); err != nil {
		return Job{}, err
	}
	if w.NotBefore != "" {
		if j.NotBefore, err = parseTime("not_before", w.NotBefore); err != nil {
			return Job{}, err
		}
	}
	if err := j.validate(); err != nil {
		return Job{}, malformed("job %s: %v", w.DeliveryID, err)
	}
	return j, nil
}

// IsJob reports whether body is a job message (rather than an event).
func IsJob(body string) bool {
	var k struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal([]byte(body), &k) == nil && k.Kind == JobKind
}

// CheckPayload reports a *webhook.Error when an event's data and metadata
// cannot travel in a job: ETooLarge over MaxPayloadBytes (measured as compact
// JSON, which is what a job carries), EInvalid when either is not JSON. The
// trigger path calls it before writing anything.
func CheckPayload(data, metadata json.RawMessage) error {
	n := 0
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"data", data}, {"metadata", metadata}} {
		if len(f.raw) == 0 {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, f.raw); err != nil {
			return webhook.Invalid(f.name, "%s is not valid JSON: %v", f.name, err)
		}
		n += buf.Len()
	}
	if n > MaxPayloadBytes {
		return webhook.Errorf(webhook.ETooLarge, "data and metadata are %d bytes; the limit is %d", n, MaxPayloadBytes)
	}
	return nil
}

// marshal writes v as compact JSON without HTML escaping (which would
// inflate "<", ">" and "&" sixfold) and with the characters SQS refuses
// escaped.
func marshal(v any) ([]byte, error) {
	b, err := jsonx.Marshal(v)
	if err != nil {
		return nil, err
	}
	return sqsSafe(b), nil
}

// sqsSafe rewrites the characters of a JSON text that SQS refuses in a
// message body (it allows #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD
// #x10000-#x10FFFF) as JSON escapes. Compact JSON has no raw control
// characters, and anything outside ASCII can only be inside a string, where
// an escape means the same: U+FFFE and U+FFFF keep their value, a byte that
// is not UTF-8 becomes U+FFFD (what a JSON decoder would read anyway).
func sqsSafe(b []byte) []byte {
	if utf8.Valid(b) && !bytes.Contains(b, []byte("\uFFFE")) && !bytes.Contains(b, []byte("\uFFFF")) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\ufffd`...)
		case r == 0xFFFE || r == 0xFFFF:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// checkBody reports why SQS would refuse body, before a call is made.
func checkBody(body string) error {
	if body == "" {
		return errors.New("message body is empty")
	}
	if len(body) > MaxMessageBytes {
		return webhook.Errorf(webhook.ETooLarge, "message body is %d bytes, over the queue's limit of %d", len(body), MaxMessageBytes)
	}
	for i, r := range body {
		ok := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000
		if !ok || r == utf8.RuneError && !strings.HasPrefix(body[i:], "\uFFFD") {
			return fmt.Errorf("message body has a character SQS refuses at byte %d", i)
		}
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, malformed("job: %s is missing", field)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, malformed("job: %s %q is not an RFC 3339 time", field, s)
	}
	return t, nil
}

// nullToNil makes an absent value and JSON null the same: nil.
func nullToNil(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	return raw
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
