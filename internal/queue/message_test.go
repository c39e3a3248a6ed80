package queue

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var t0 = time.Date(2024, 1, 1, 12, 0, 0, 123456789, time.UTC)

func sampleJob() Job {
	return Job{
		DeliveryID: webhook.NewID(webhook.DeliveryIDPrefix),
		WebhookID:  webhook.NewID(webhook.WebhookIDPrefix),
		EventID:    webhook.NewID(webhook.EventIDPrefix),
		Event:      "agent.started",
		Attempt:    1,
		CreatedAt:  t0,
		Timestamp:  t0,
		Data:       json.RawMessage(`{"agent_id":"agent_123","note":"a < b && c > d"}`),
		Metadata:   json.RawMessage(`{"triggered_by":"scheduler"}`),
	}
}

func TestJobRoundTrip(t *testing.T) {
	j := sampleJob()
	j.Test = true
	j.NotBefore = t0.Add(time.Hour)
	body, err := j.Encode()
	require.NoError(t, err)

	assert.True(t, IsJob(body))
	assert.Contains(t, body, `"kind":"job","v":1,`)
	assert.Contains(t, body, `"timestamp":"2024-01-01T12:00:00.123Z"`, "times are RFC 3339 with milliseconds, UTC")
	assert.Contains(t, body, `"note":"a < b && c > d"`, "no HTML escaping: it would inflate the payload")
	assert.NotContains(t, body, "\n")

	got, err := DecodeJob(body)
	require.NoError(t, err)
	want := j
	want.CreatedAt = t0.Truncate(time.Millisecond)
	want.Timestamp = t0.Truncate(time.Millisecond)
	want.NotBefore = j.NotBefore.Truncate(time.Millisecond)
	assert.Equal(t, want.DeliveryID, got.DeliveryID)
	assert.True(t, want.CreatedAt.Equal(got.CreatedAt))
	assert.True(t, want.Timestamp.Equal(got.Timestamp))
	assert.True(t, want.NotBefore.Equal(got.NotBefore))
	got.CreatedAt, got.Timestamp, got.NotBefore = want.CreatedAt, want.Timestamp, want.NotBefore
	assert.Equal(t, want, got)
}

func TestJobOptionalFieldsOmitted(t *testing.T) {
	j := sampleJob()
	j.EventID, j.Data, j.Metadata = "", nil, json.RawMessage("null")
	body, err := j.Encode()
	require.NoError(t, err)
	for _, f := range []string{"not_before", "test", "data", "metadata", "event_id"} {
		assert.NotContains(t, body, `"`+f+`"`)
	}
	got, err := DecodeJob(body)
	require.NoError(t, err)
	assert.Nil(t, got.Data)
	assert.Nil(t, got.Metadata)
	assert.True(t, got.NotBefore.IsZero())
	assert.True(t, got.Due(t0))
}

func TestJobCompactsPayload(t *testing.T) {
	j := sampleJob()
	j.Data = json.RawMessage("{\n  \"a\": [1, 2,  3]\n}")
	body, err := j.Encode()
	require.NoError(t, err)
	assert.Contains(t, body, `"data":{"a":[1,2,3]}`)
}

func TestJobEncodeRejectsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Job)
		want   string
	}{
		{"bad delivery id", func(j *Job) { j.DeliveryID = "dlv_x" }, "delivery_id"},
		{"bad webhook id", func(j *Job) { j.WebhookID = "" }, "webhook_id"},
		{"no event", func(j *Job) { j.Event = "" }, "event"},
		{"attempt 0", func(j *Job) { j.Attempt = 0 }, "attempt"},
		{"no created_at", func(j *Job) { j.CreatedAt = time.Time{} }, "created_at"},
		{"no timestamp", func(j *Job) { j.Timestamp = time.Time{} }, "timestamp"},
		{"data not JSON", func(j *Job) { j.Data = json.RawMessage(`{"a":`) }, "data is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := sampleJob()
			tt.change(&j)
			_, err := j.Encode()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// bigPayload returns data of exactly n bytes of compact JSON.
func bigPayload(n int) json.RawMessage {
	return json.RawMessage(`{"s":"` + strings.Repeat("x", n-8) + `"}`)
}

func TestPayloadLimit(t *testing.T) {
	meta := json.RawMessage(`{"m":1}`)

	j := sampleJob()
	j.Data, j.Metadata = bigPayload(MaxPayloadBytes-len(meta)), meta
	require.NoError(t, CheckPayload(j.Data, j.Metadata))
	body, err := j.Encode()
	require.NoError(t, err, "a payload at the limit fits a message")
	assert.LessOrEqual(t, len(body), MaxMessageBytes)

	j.Data = bigPayload(MaxPayloadBytes - len(meta) + 1)
	_, err = j.Encode()
	require.Error(t, err)
	assert.Equal(t, webhook.ETooLarge, webhook.ErrorCode(err))
	assert.Contains(t, err.Error(), "the limit is 204800")

	// Whitespace the job would not carry does not count.
	spaced := json.RawMessage(`{"s": "` + strings.Repeat("y", MaxPayloadBytes-10) + `"}` + strings.Repeat(" ", 1000))
	assert.NoError(t, CheckPayload(spaced, nil))
}

func TestSQSSafe(t *testing.T) {
	j := sampleJob()
	j.Data = json.RawMessage("{\"a\":\"x\uFFFEy\uFFFF\",\"b\":\"\xff\"}")
	body, err := j.Encode()
	require.NoError(t, err)
	assert.NoError(t, checkBody(body), "the encoded job has only characters SQS takes")
	assert.True(t, utf8.ValidString(body))
	got, err := DecodeJob(body)
	require.NoError(t, err)
	var d map[string]string
	require.NoError(t, json.Unmarshal(got.Data, &d))
	assert.Equal(t, "x\uFFFEy\uFFFF", d["a"], "the escaped characters keep their value")
	assert.Equal(t, "\uFFFD", d["b"])
}

func TestCheckBody(t *testing.T) {
	tests := []struct {
		body string
		ok   bool
	}{
		{`{"event":"x"}`, true},
		{"tab\tnewline\ncr\r", true},
		{"emoji \U0001F600 and \uFFFD", true},
		{"", false},
		{"nul \x00", false},
		{"bell \x07", false},
		{"bad utf8 \xff", false},
		{"nonchar \uFFFE", false},
		{strings.Repeat("a", MaxMessageBytes), true},
		{strings.Repeat("a", MaxMessageBytes+1), false},
	}
	for _, tt := range tests {
		err := checkBody(tt.body)
		assert.Equal(t, tt.ok, err == nil, "%.40q: %v", tt.body, err)
	}
}

func TestDecodeJobRejects(t *testing.T) {
	valid, err := sampleJob().Encode()
	require.NoError(t, err)
	tests := map[string]string{
		"not json":      `not json`,
		"wrong kind":    strings.Replace(valid, `"kind":"job"`, `"kind":"event"`, 1),
		"no kind":       strings.Replace(valid, `"kind":"job",`, ``, 1),
		"version 2":     strings.Replace(valid, `"v":1`, `"v":2`, 1),
		"bad time":      strings.Replace(valid, `"created_at":"2024-01-01T12:00:00.123Z"`, `"created_at":"yesterday"`, 1),
		"attempt 0":     strings.Replace(valid, `"attempt":1`, `"attempt":0`, 1),
		"trailing data": valid + `{}`,
		"attempt type":  strings.Replace(valid, `"attempt":1`, `"attempt":"1"`, 1),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			require.NotEqual(t, valid, body, "the case must change the body")
			_, err := DecodeJob(body)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func TestDueAndRemaining(t *testing.T) {
	j := sampleJob()
	assert.True(t, j.Due(t0))
	assert.Zero(t, j.Remaining(t0))
	j.NotBefore = t0.Add(time.Hour)
	assert.False(t, j.Due(t0))
	assert.Equal(t, time.Hour, j.Remaining(t0))
	assert.True(t, j.Due(t0.Add(time.Hour)))
	assert.Zero(t, j.Remaining(t0.Add(2*time.Hour)))
}

func TestPlan(t *testing.T) {
	tests := []struct {
		wait      time.Duration
		delay     int32
		notBefore bool
	}{
		{-time.Second, 0, false},
		{0, 0, false},
		{time.Millisecond, 1, false},
		{time.Second, 1, false},
		{1500 * time.Millisecond, 2, false},
		{899*time.Second + time.Millisecond, 900, false},
		{900 * time.Second, 900, false},
		{900*time.Second + time.Millisecond, 900, true},
		{7 * 24 * time.Hour, 900, true},
	}
	for _, tt := range tests {
		d, nb := Plan(t0, tt.wait)
		assert.Equal(t, tt.delay, d, "wait %v", tt.wait)
		if tt.notBefore {
			assert.Equal(t, t0.Add(Wait(tt.wait)), nb, "wait %v: due after the whole seconds sent", tt.wait)
		} else {
			assert.True(t, nb.IsZero(), "wait %v", tt.wait)
		}
	}
}

// Wait is the wait Plan sends: whole seconds, rounded up.
func TestWait(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{
		{-time.Second, 0}, {0, 0}, {time.Nanosecond, time.Second}, {867 * time.Millisecond, time.Second},
		{time.Second, time.Second}, {1800 * time.Millisecond, 2 * time.Second}, {3600 * time.Millisecond, 4 * time.Second},
		{900*time.Second + time.Millisecond, 901 * time.Second}, {7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{math.MaxInt64, math.MaxInt64}, // no overflow
	} {
		assert.Equal(t, tt.want, Wait(tt.in), "wait %v", tt.in)
		if tt.in <= 15*time.Minute {
			d, _ := Plan(t0, tt.in)
			assert.Equal(t, tt.want, time.Duration(d)*time.Second, "Plan sends Wait: %v", tt.in)
		}
	}
}

// A wait of any length ends with the job due, never early, through chained
// re-sends of at most MaxDelay each.
func TestPlanChainsLongWaits(t *testing.T) {
	for _, wait := range []time.Duration{901 * time.Second, time.Hour + 1, 7 * 24 * time.Hour} {
		now := t0
		due := t0.Add(wait)
		delay, nb := Plan(now, wait)
		hops := 1
		for {
			now = now.Add(time.Duration(delay) * time.Second) // the message arrives
			j := Job{NotBefore: nb}
			if j.Due(now) {
				break
			}
			delay, nb = Plan(now, j.Remaining(now))
			hops++
			require.Less(t, hops, 1000)
		}
		assert.False(t, now.Before(due), "wait %v: due at %v, arrived %v", wait, due, now)
		assert.Less(t, now.Sub(due), time.Second, "wait %v: at most a second late", wait)
		assert.Equal(t, int((wait+MaxDelay-1)/MaxDelay), hops, "wait %v", wait)
	}
}

func readSample(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	require.NoError(t, err)
	return string(b)
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		file string
		want webhook.TriggerRequest
	}{
		{"events/native.json", webhook.TriggerRequest{
			Event:          "agent.started",
			Data:           json.RawMessage(`{"agent_id":"agent_123","agent_name":"Data Processor","started_at":"2024-01-01T12:00:00.000Z"}`),
			Metadata:       json.RawMessage(`{"triggered_by":"scheduler"}`),
			IdempotencyKey: "sqs:msg-1", Via: "sqs", Source: webhook.FromQueue,
		}},
		{"events/native-key.json", webhook.TriggerRequest{
			Event: "custom", Data: json.RawMessage(`{"message":"test"}`),
			IdempotencyKey: "order-42-shipped", Via: "sqs", Source: webhook.FromAPI,
		}},
		{"events/native-null.json", webhook.TriggerRequest{Event: "task.executed", IdempotencyKey: "sqs:msg-1", Via: "sqs", Source: webhook.FromQueue}},
		{"events/eventbridge.json", webhook.TriggerRequest{
			Event: "workflow.completed",
			Data:  json.RawMessage(`{"workflow_id":"wf_01","duration_ms":5321}`),
			Metadata: json.RawMessage(`{"source":"com.systemprompt.workflows","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",` +
				`"time":"2024-01-01T12:00:00Z","account":"111122223333","region":"us-east-1",` +
				`"resources":["arn:aws:states:us-east-1:111122223333:execution:nightly:run-1"]}`),
			IdempotencyKey: "eventbridge:6a7e8feb-b491-4cf7-a9f1-bf3703467718", Via: "eventbridge", Source: webhook.FromQueue,
			Time: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC),
		}},
		{"events/eventbridge-scheduler.json", webhook.TriggerRequest{
			Event: "task.scheduled",
			Data:  json.RawMessage(`{}`),
			Metadata: json.RawMessage(`{"source":"aws.scheduler","id":"b2a7c4e1-0f5d-4c62-9a3f-1c2d3e4f5a6b",` +
				`"time":"2024-01-01T00:00:00Z","account":"111122223333","region":"eu-west-1","resources":[]}`),
			IdempotencyKey: "eventbridge:b2a7c4e1-0f5d-4c62-9a3f-1c2d3e4f5a6b", Via: "eventbridge", Source: webhook.FromQueue,
			Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		}},
		{"events/sns-native.json", webhook.TriggerRequest{
			Event: "api.key.revoked", Data: json.RawMessage(`{"key_id":"key_9"}`), Metadata: json.RawMessage(`{"actor":"admin"}`),
			IdempotencyKey: "sns:22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", Via: "sns", Source: webhook.FromQueue,
			Time: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC),
		}},
		{"events/sns-native-key.json", webhook.TriggerRequest{
			Event: "custom", Data: json.RawMessage(`{"v":1}`), IdempotencyKey: "deploy-77", Via: "sns",
			Source: webhook.FromAPI, Time: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC),
		}},
		{"events/sns-eventbridge.json", webhook.TriggerRequest{
			Event: "workflow.completed",
			Data:  json.RawMessage(`{"workflow_id":"wf_01","duration_ms":5321}`),
			Metadata: json.RawMessage(`{"source":"com.systemprompt.workflows","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",` +
				`"time":"2024-01-01T12:00:00Z","account":"111122223333","region":"us-east-1",` +
				`"resources":["arn:aws:states:us-east-1:111122223333:execution:nightly:run-1"]}`),
			IdempotencyKey: "eventbridge:6a7e8feb-b491-4cf7-a9f1-bf3703467718", Via: "sns/eventbridge", Source: webhook.FromQueue,
			Time: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), // EventBridge's own time wins over SNS's
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseEvent(readSample(t, tt.file), "msg-1")
			require.NoError(t, err)
			assert.Equal(t, tt.want.Event, got.Event)
			assert.Equal(t, string(tt.want.Data), string(got.Data))
			assert.Equal(t, string(tt.want.Metadata), string(got.Metadata))
			assert.Equal(t, tt.want.IdempotencyKey, got.IdempotencyKey)
			assert.Equal(t, tt.want.Via, got.Via)
			assert.True(t, tt.want.Time.Equal(got.Time), "time: want %s, got %s", tt.want.Time, got.Time)
			assert.Equal(t, tt.want.Source, got.Source, "FromAPI: a key the producer chose")
		})
	}
}

// Raw message delivery of SNS sends the inner shape itself: it parses as if
// it came straight to the queue.
func TestParseEventRawSNSDelivery(t *testing.T) {
	got, err := ParseEvent(readSample(t, "events/eventbridge.json"), "m")
	require.NoError(t, err)
	assert.Equal(t, "workflow.completed", got.Event)
	assert.Equal(t, "eventbridge:6a7e8feb-b491-4cf7-a9f1-bf3703467718", got.IdempotencyKey)
}

func TestParseEventRejects(t *testing.T) {
	tests := map[string]string{
		"bad/not-json.txt":                       "not a JSON object",
		"bad/array.json":                         "not a JSON object",
		"bad/null.json":                          "not a JSON object",
		"bad/two-objects.json":                   "data after the JSON object",
		"bad/empty-event.json":                   `"event" is empty`,
		"bad/event-not-string.json":              "cannot unmarshal number",
		"bad/unknown-shape.json":                 "neither",
		"bad/eventbridge-no-detail.json":         `without "detail"`,
		"bad/eventbridge-empty-type.json":        `"detail-type" is empty`,
		"bad/sns-subscription-confirmation.json": `"SubscriptionConfirmation" message`,
		"bad/sns-message-not-json.json":          "SNS notification m1: Message: not a JSON object",
		"bad/sns-no-message.json":                "SNS notification m2 has no Message",
		"bad/job.json":                           "a job message, not an event",
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			_, err := ParseEvent(readSample(t, file), "msg-1")
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrMalformed))
			assert.Contains(t, err.Error(), want)
			assert.Equal(t, 1, strings.Count(err.Error(), ErrMalformed.Error()), "one prefix: %v", err)
		})
	}
}

func TestIsJob(t *testing.T) {
	assert.True(t, IsJob(readSample(t, "bad/job.json")))
	assert.False(t, IsJob(readSample(t, "events/native.json")))
	assert.False(t, IsJob("not json"))
}

// BenchmarkJobEncode encodes the job of one subscriber of an event with a
// 100 KiB payload, as a fan-out does once per subscriber.
func BenchmarkJobEncode(b *testing.B) {
	j := sampleJob()
	j.Data = bigPayload(100 << 10)
	b.SetBytes(int64(len(j.Data)))
	for b.Loop() {
		if _, err := j.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

// Encode measures a payload compact only when its length is over the limit:
// whitespace the job would not carry does not count there either.
func TestJobEncodePaddedPayload(t *testing.T) {
	j := sampleJob()
	j.Data = json.RawMessage(`{"s": "` + strings.Repeat("y", MaxPayloadBytes-100) + `"}` + strings.Repeat(" ", 1000))
	require.Greater(t, len(j.Data)+len(j.Metadata), MaxPayloadBytes)
	body, err := j.Encode()
	require.NoError(t, err)
	assert.Contains(t, body, `"data":{"s":"yyy`)

	j.Data = json.RawMessage(`{"s": "` + strings.Repeat("y", MaxPayloadBytes) + `"}`)
	_, err = j.Encode()
	assert.Equal(t, webhook.ETooLarge, webhook.ErrorCode(err))
}

// The errors queue makes name their package, where they are made.
func TestErrorsCarryThePackagePrefix(t *testing.T) {
	bad := sampleJob()
	bad.Event = ""
	_, encodeErr := bad.Encode()
	_, parseErr := ParseEvent("not json", "m-1")
	_, decodeErr := DecodeJob(`{"kind":"job","v":2}`)
	sendErr := New(nil, "https://sqs.local/q").SendJobs(context.Background(), []Job{sampleJob()}, []time.Duration{0, 0})
	partial := &PartialError{Failed: []int{1}, Err: errors.New("throttled")}
	for name, err := range map[string]error{"Encode": encodeErr, "ParseEvent": parseErr, "DecodeJob": decodeErr, "SendJobs": sendErr, "PartialError": partial} {
		require.Error(t, err, name)
		assert.True(t, strings.HasPrefix(err.Error(), "queue: "), "%s: %v", name, err)
	}
}
