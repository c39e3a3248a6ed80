package queue

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/systemprompt-io/webhooks/internal/jsonx"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// addSamples seeds f with every file of testdata/events and testdata/bad,
// passed through wrap.
func addSamples(f *testing.F, wrap func(body string) []any) {
	f.Helper()
	var files []string
	for _, dir := range []string{"events", "bad"} {
		m, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
		if err != nil || len(m) == 0 {
			f.Fatalf("no samples in testdata/%s: %v", dir, err)
		}
		files = append(files, m...)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wrap(string(b))...)
	}
}

func FuzzParseEvent(f *testing.F) {
	addSamples(f, func(body string) []any { return []any{body, "msg-1"} })
	for _, body := range []string{
		`{"event":"custom","data":{"a":[1,2]},"metadata":{"m":"x"},"idempotency_key":"k"}`,
		`{"event":"nope","Event":"custom"}`,
		`{"event":"custom","event":"agent.started"}`,
		`{"event":"custom","data":{"s":"\ud800"}}`,
		`{"event":"  "}`,
		`{"event":"custom","data":null,"metadata":null}`,
		`{"event":"custom","kind":"job"}`,
		`{"detail-type":"custom","detail":{"x":1},"id":"e1","time":"2024-01-01T00:00:00Z"}`,
		`{"detail-type":"custom","Detail-Type":"x","detail":{}}`,
		sns(`{"event":"custom","data":{"n":1}}`),
		sns(sns(`{"event":"custom"}`)),
		`{"Type":"Notification","MessageId":"m","Message":"{\"event\":\"custom\"}","Timestamp":"2024-01-01T12:00:00.000Z"}`,
	} {
		f.Add(body, "msg-1")
	}
	f.Add(`{"event":"custom"}`, "")
	f.Fuzz(func(t *testing.T, body, messageID string) {
		got, err := ParseEvent(body, messageID)
		again, err2 := ParseEvent(body, messageID)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || !reflect.DeepEqual(got, again) {
			t.Fatalf("ParseEvent(%q) is not deterministic: %+v, %v / %+v, %v", body, got, err, again, err2)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) || strings.Count(err.Error(), ErrMalformed.Error()) != 1 {
				t.Fatalf("error %q does not wrap ErrMalformed once", err)
			}
			if !reflect.DeepEqual(got, webhook.TriggerRequest{}) {
				t.Fatalf("refused message yields %+v", got)
			}
			return
		}
		checkTrigger(t, body, messageID, got)

		// Another SQS message id changes only a key derived from it.
		other, err := ParseEvent(body, messageID+"-redelivered")
		if err != nil {
			t.Fatalf("accepted with id %q, refused with another: %v", messageID, err)
		}
		if strings.HasPrefix(got.IdempotencyKey, "sqs:") || got.IdempotencyKey == "" {
			if other.IdempotencyKey != "sqs:"+messageID+"-redelivered" {
				t.Fatalf("key %q for message id %q", other.IdempotencyKey, messageID+"-redelivered")
			}
			other.IdempotencyKey = got.IdempotencyKey
		}
		if !reflect.DeepEqual(got, other) {
			t.Fatalf("the message id changed more than the derived key: %+v / %+v", got, other)
		}

		// An accepted inner message reads the same wrapped in an SNS
		// notification (as a subscription without raw delivery sends it).
		if got.Via == "sqs" || got.Via == "eventbridge" {
			wrapped, err := ParseEvent(sns(body), messageID)
			if err != nil {
				t.Fatalf("%q accepted, refused inside SNS: %v", body, err)
			}
			via := "sns/" + got.Via
			if got.Via == "sqs" {
				via = "sns"
			}
			if wrapped.Event != got.Event || !bytes.Equal(wrapped.Data, got.Data) || !bytes.Equal(wrapped.Metadata, got.Metadata) ||
				wrapped.Source != got.Source || wrapped.Via != via {
				t.Fatalf("%q reads %+v, inside SNS %+v", body, got, wrapped)
			}
			// The producer's or EventBridge's key stays; one derived from
			// the SQS message id becomes the SNS MessageId's.
			if !strings.HasPrefix(got.IdempotencyKey, "sqs:") && got.IdempotencyKey != "" {
				if wrapped.IdempotencyKey != got.IdempotencyKey {
					t.Fatalf("the key %q became %q inside SNS", got.IdempotencyKey, wrapped.IdempotencyKey)
				}
			} else if wrapped.IdempotencyKey != "sns:m1" {
				t.Fatalf("inside SNS the key is %q, want the SNS MessageId's", wrapped.IdempotencyKey)
			}
		}
	})
}

// checkTrigger holds what any accepted message yields.
func checkTrigger(t *testing.T, body, messageID string, got webhook.TriggerRequest) {
	t.Helper()
	if strings.TrimSpace(got.Event) == "" || !utf8.ValidString(got.Event) {
		t.Fatalf("%q yields event %q", body, got.Event)
	}
	for name, raw := range map[string]json.RawMessage{"data": got.Data, "metadata": got.Metadata} {
		if raw == nil {
			continue
		}
		if jsonx.Check(raw) != nil || !bytes.Equal(jsonx.Compact(raw), raw) {
			t.Fatalf("%q yields %s %q: not compact strict JSON", body, name, raw)
		}
	}
	switch got.Via {
	case "sqs", "eventbridge", "sns", "sns/eventbridge":
	default:
		t.Fatalf("%q yields via %q", body, got.Via)
	}
	switch key := got.IdempotencyKey; {
	case got.Source == webhook.FromAPI: // the producer chose the key
		if key == "" {
			t.Fatalf("%q: a producer's key that is empty", body)
		}
	case key == "":
		if messageID != "" {
			t.Fatalf("%q with message id %q has no key", body, messageID)
		}
	case !strings.HasPrefix(key, "sqs:") && !strings.HasPrefix(key, "sns:") && !strings.HasPrefix(key, "eventbridge:"):
		t.Fatalf("%q: derived key %q without its prefix", body, key)
	}
}

// Found by FuzzParseEvent: an SNS notification without a MessageId had no
// idempotency key at all, so a redelivery could trigger again.
func TestParseEventSNSWithoutMessageIDKeepsTheSQSKey(t *testing.T) {
	got, err := ParseEvent(`{"Type":"Notification","Message":"{\"event\":\"custom\"}"}`, "msg-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.IdempotencyKey != "sqs:msg-1" || got.Via != "sns" {
		t.Fatalf("key %q via %q, want sqs:msg-1 via sns", got.IdempotencyKey, got.Via)
	}
}

func FuzzDecodeJob(f *testing.F) {
	good, err := sampleJob().Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	addSamples(f, func(body string) []any { return []any{body} })
	for _, body := range []string{
		`{"kind":"job","v":2}`,
		`{"kind":"job","v":1,"delivery_id":"dlv_x"}`,
		strings.Replace(good, `"attempt":1`, `"attempt":0`, 1),
		strings.Replace(good, `"kind":"job"`, `"Kind":"job"`, 1),
		good + good,
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		j, err := DecodeJob(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %q does not wrap ErrMalformed", err)
			}
			return
		}
		if err := j.validate(); err != nil {
			t.Fatalf("decoded a job that fails its own validation: %v", err)
		}
		// Encoding what was decoded is a fixed point.
		enc, err := j.Encode()
		if webhook.ErrorCode(err) == webhook.ETooLarge {
			return
		} else if err != nil {
			t.Fatalf("decoded job %+v does not encode: %v", j, err)
		}
		j2, err := DecodeJob(enc)
		if err != nil {
			t.Fatalf("own encoding %q does not decode: %v", enc, err)
		}
		enc2, err := j2.Encode()
		if err != nil || enc2 != enc {
			t.Fatalf("encode/decode is not stable: %q / %q (%v)", enc, enc2, err)
		}
	})
}

// hexID makes a well-formed id from fuzz bytes.
func hexID(prefix string, b []byte) string {
	id := hex.EncodeToString(b)
	return prefix + (id + strings.Repeat("0", 32))[:32]
}

func FuzzJobRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{4}, "agent.started", 1, int64(1704110400123), int64(1704110400000), int64(0), `{"a":"<b> & c"}`, `{"m":1}`, false)
	f.Add([]byte{0xff}, []byte{}, "custom", 20, int64(0), int64(-1), int64(1704110400123), `null`, ``, true)
	f.Add([]byte{9}, []byte{9}, "x", 3, int64(253402300799999), int64(1), int64(2), "[1,\"\u2028\"]", `"s"`, false)
	f.Fuzz(func(t *testing.T, dlv, wh []byte, event string, attempt int, created, stamp, notBefore int64, data, metadata string, test bool) {
		if !utf8.ValidString(event) {
			return // an event name reaches a job only from the catalogue
		}
		// Times as the service's clock gives them: milliseconds, years 1 to 9999.
		ms := func(n int64) time.Time {
			const lo, hi = -62135596800000, 253402300799999
			return time.UnixMilli(lo + (n%(hi-lo)+(hi-lo))%(hi-lo)).UTC()
		}
		j := Job{
			DeliveryID: hexID(webhook.DeliveryIDPrefix, dlv), WebhookID: hexID(webhook.WebhookIDPrefix, wh),
			Event: event, Attempt: attempt, CreatedAt: ms(created), Timestamp: ms(stamp), Test: test,
			Data: json.RawMessage(data), Metadata: json.RawMessage(metadata),
		}
		if notBefore != 0 {
			j.NotBefore = ms(notBefore)
		}
		body, err := j.Encode()
		if err != nil {
			if j.validate() == nil && CheckPayload(j.Data, j.Metadata) == nil && webhook.ErrorCode(err) != webhook.ETooLarge {
				t.Fatalf("valid job %+v does not encode: %v", j, err)
			}
			return
		}
		got, err := DecodeJob(body)
		if err != nil {
			t.Fatalf("encoded %q does not decode: %v", body, err)
		}
		for name, pair := range map[string][2]json.RawMessage{"data": {j.Data, got.Data}, "metadata": {j.Metadata, got.Metadata}} {
			if !sameJSON(pair[0], pair[1]) {
				t.Fatalf("%s %q came back as %q", name, pair[0], pair[1])
			}
		}
		got.Data, got.Metadata = j.Data, j.Metadata
		if !got.CreatedAt.Equal(j.CreatedAt) || !got.Timestamp.Equal(j.Timestamp) || !got.NotBefore.Equal(j.NotBefore) {
			t.Fatalf("times of %+v came back as %+v", j, got)
		}
		got.CreatedAt, got.Timestamp, got.NotBefore = j.CreatedAt, j.Timestamp, j.NotBefore
		if !reflect.DeepEqual(got, j) {
			t.Fatalf("%+v came back as %+v", j, got)
		}
	})
}

// sameJSON reports whether a and b are the same JSON value; absent and null
// are the same.
func sameJSON(a, b json.RawMessage) bool {
	a, b = jsonx.Compact(a), jsonx.Compact(b)
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var va, vb any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&va) == nil && db.Decode(&vb) == nil && reflect.DeepEqual(va, vb)
}
