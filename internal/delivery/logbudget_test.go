package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// logBudget is what a successful first attempt may log at the default
// LOG_LEVEL (info), in bytes: CloudWatch Logs bills $0.50/GB ingested, so
// 200 bytes are $0.10 per million deliveries (docs/internals.md, Logging).
const logBudget = 200

// logged runs the delivery handler, logging at info as deployed, over the
// fixture's jobs n at a time in batches of 10 (one Lambda request each), and
// returns what it logged.
func logged(t *testing.T, f *fixture, n int, job func(i int) events.SQSMessage) string {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := NewAttempter(f.store, &fake.Secrets{}, f.queue, Options{
		Client: safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
		Now:    func() time.Time { return f.now }, Rand: func() float64 { return 0.5 }, Log: log,
	})
	require.NoError(t, err)
	h := NewHandler(a, nil, &statsLog{}, HandlerOptions{Log: log})
	for from := 0; from < n; from += 10 {
		var ev events.SQSEvent
		for i := from; i < min(from+10, n); i++ {
			ev.Records = append(ev.Records, job(i))
		}
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
			AwsRequestID: fmt.Sprintf("8f5e2c3a-1b4d-4e6f-9a7b-%012d", from)}) // as long as Lambda's
		res, err := h.Handle(ctx, ev)
		require.NoError(t, err)
		require.Empty(t, res.BatchItemFailures)
	}
	return logs.String()
}

func (f *fixture) jobMessage(t *testing.T, i int) events.SQSMessage {
	j := f.job(1)
	j.EventID = fmt.Sprintf("evt_%032d", i)
	j.DeliveryID = webhook.DeliveryIDFor(j.EventID, f.hook.ID, f.now)
	body, err := j.Encode()
	require.NoError(t, err)
	return events.SQSMessage{MessageId: fmt.Sprintf("m-%d", i), Body: body, Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

// TestLogBudgetOfASuccessfulFirstAttempt: at info, successful first
// attempts log at most logBudget bytes each: the batch's summary line, no
// line per attempt.
func TestLogBudgetOfASuccessfulFirstAttempt(t *testing.T) {
	const n = 100
	f := newFixture(t, 200)
	out := logged(t, f, n, func(i int) events.SQSMessage { return f.jobMessage(t, i) })
	require.EqualValues(t, n, f.hits.Load())
	per := float64(len(out)) / n
	t.Logf("%d successful first attempts logged %d bytes in %d lines: %.1f bytes per delivery", n, len(out), strings.Count(out, "\n"), per)
	assert.LessOrEqual(t, per, float64(logBudget))
	assert.NotContains(t, out, `"msg":"attempt"`, "a success has no line of its own at info")
	assert.Equal(t, n/10, strings.Count(out, `"msg":"batch"`))
	assert.Contains(t, out, `"jobs":10,"succeeded":10,"failed":0,"retrying":0,"errors":0}`)
}

// TestLogOfAFailedAttempt: an attempt that failed, or will be retried, is
// logged in full at warn, whatever the budget: delivery, webhook, attempt,
// status, status code and reason.
func TestLogOfAFailedAttempt(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		attempts     int
	}{
		{"retrying", "retrying", 3},
		{"failed for good", "failed", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 503)
			f.setHook(func(w *webhook.Webhook) { w.Retry.MaxAttempts = tc.attempts })
			msg := f.jobMessage(t, 7)
			out := logged(t, f, 1, func(int) events.SQSMessage { return msg })
			var line map[string]any
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(l), &m))
				if m["msg"] == "attempt" {
					line = m
				}
			}
			require.NotNil(t, line, out)
			assert.Equal(t, "WARN", line["level"])
			assert.Equal(t, webhook.DeliveryIDFor(fmt.Sprintf("evt_%032d", 7), f.hook.ID, f.now), line["delivery_id"])
			assert.Equal(t, f.hook.ID, line["webhook_id"])
			assert.EqualValues(t, 1, line["attempt"])
			assert.Equal(t, tc.status, line["status"])
			assert.EqualValues(t, 503, line["status_code"])
			assert.Contains(t, line["reason"], "503")
			if tc.status == "retrying" {
				assert.Positive(t, line["retry_in_ms"])
			}
			assert.Contains(t, out, fmt.Sprintf(`"jobs":1,"succeeded":0,"failed":%d,"retrying":%d`, map[bool]int{true: 1}[tc.status == "failed"], map[bool]int{true: 1}[tc.status == "retrying"]))
		})
	}
}
