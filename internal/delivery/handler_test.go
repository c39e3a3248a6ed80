package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/safehttp"
	"github.com/systemprompt-io/webhooks/internal/trigger"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// batchSQS counts SendMessageBatch calls and keeps the job bodies it took;
// refuse names bodies it answers as failed (the sender's fault: not retried).
type batchSQS struct {
	mu      sync.Mutex
	batches int
	bodies  []string
	refuse  func(body string) bool
}

func (b *batchSQS) SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	return nil, fmt.Errorf("unexpected SendMessage")
}

func (b *batchSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batches++
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		body := aws.ToString(e.MessageBody)
		if b.refuse != nil && b.refuse(body) {
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidParameterValue"), SenderFault: true})
			continue
		}
		b.bodies = append(b.bodies, body)
		out.Successful = append(out.Successful, sqstypes.SendMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// subIndex is a subscription index that counts its queries.
type subIndex struct {
	mu      sync.Mutex
	subs    map[string][]string
	queries int
}

func (s *subIndex) ActiveSubscriptions(_ context.Context, event string) ([]webhook.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries++
	var out []webhook.Subscription
	for _, id := range s.subs[event] {
		out = append(out, webhook.Subscription{WebhookID: id})
	}
	return out, nil
}

// noKeys is an idempotency table none of these tests should reach.
type noKeys struct{}

func (noKeys) ClaimIdempotencyKey(context.Context, webhook.IdempotencyRecord) (webhook.IdempotencyRecord, bool, error) {
	return webhook.IdempotencyRecord{}, false, fmt.Errorf("unexpected claim")
}

func (noKeys) CompleteIdempotencyKey(context.Context, string, int) error {
	return fmt.Errorf("unexpected completion")
}

// statsLog keeps each webhook's last AddStats and counts the calls.
type statsLog struct {
	mu    sync.Mutex
	added map[string]webhook.StatsDelta
	calls int
}

func (s *statsLog) AddStats(_ context.Context, id string, d webhook.StatsDelta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added == nil {
		s.added = map[string]webhook.StatsDelta{}
	}
	s.added[id] = d
	s.calls++
	return nil
}

var (
	subscriber = "wh_0192f0c4a1b27c3d8e9f001122334455"
	sentTime   = time.Date(2026, 11, 28, 15, 59, 0, 0, time.UTC)
)

type handlerFixture struct {
	sqs   *batchSQS
	index *subIndex
	stats *statsLog
	logs  *bytes.Buffer
	level *slog.LevelVar // Info, the default LOG_LEVEL
	h     *Handler
}

// newHandlerFixture runs the real trigger service and queue over fakes;
// a is the attempter for job messages (nil: one that attempts nothing).
func newHandlerFixture(t *testing.T, a *Attempter) *handlerFixture {
	t.Helper()
	f := &handlerFixture{sqs: &batchSQS{}, index: &subIndex{subs: map[string][]string{"agent.started": {subscriber}}},
		stats: &statsLog{}, logs: &bytes.Buffer{}, level: &slog.LevelVar{}}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: f.logs}, &slog.HandlerOptions{Level: f.level}))
	if a == nil {
		var err error
		a, err = NewAttempter(nil, nil, nil, Options{Client: safehttp.NewClient(safehttp.Options{}), Log: log})
		require.NoError(t, err)
	}
	svc := trigger.New(f.index, queue.New(f.sqs, "https://sqs.local/jobs"), noKeys{}, nil, log)
	f.h = NewHandler(a, svc, f.stats, HandlerOptions{Log: log})
	return f
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func eventMsg(n int, body string) events.SQSMessage {
	return events.SQSMessage{MessageId: "m-" + strconv.Itoa(n), Body: body, Attributes: map[string]string{
		"SentTimestamp":           strconv.FormatInt(sentTime.Add(time.Duration(n)*time.Millisecond).UnixMilli(), 10),
		"ApproximateReceiveCount": "1",
	}}
}

func native(n int) string {
	return fmt.Sprintf(`{"event":"agent.started","data":{"n":%d}}`, n)
}

func failedIDs(res events.SQSEventResponse) []string {
	var ids []string
	for _, f := range res.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// deliveryOf is the delivery id message n derives for the subscriber.
func deliveryOf(n int) string {
	at := sentTime.Add(time.Duration(n) * time.Millisecond)
	return webhook.DeliveryIDFor(webhook.DerivedID(webhook.EventIDPrefix, at, "sqs:m-"+strconv.Itoa(n)), subscriber, at)
}

func (f *handlerFixture) sentDeliveries(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, b := range f.sqs.bodies {
		j, err := queue.DecodeJob(b)
		require.NoError(t, err)
		ids = append(ids, j.DeliveryID)
	}
	return ids
}

func TestHandleEventBatchSendsOnce(t *testing.T) {
	f := newHandlerFixture(t, nil)
	var ev events.SQSEvent
	var want []string
	for n := range 10 {
		ev.Records = append(ev.Records, eventMsg(n, native(n)))
		want = append(want, deliveryOf(n))
	}
	res, err := f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures)
	assert.Equal(t, 1, f.sqs.batches, "10 one-subscriber events: one SendMessageBatch")
	assert.Equal(t, 1, f.index.queries, "one event type: one subscriber query")
	assert.Equal(t, want, f.sentDeliveries(t), "each message's deliveries, with the ids it always derived")
	// At Info, one line for the batch; each event's line at Debug.
	assert.Equal(t, `{"level":"INFO","msg":"batch","events":10,"deliveries":10,"errors":0}`, withoutTime(f.logs.String()))

	f.level.Set(slog.LevelDebug)
	f.logs.Reset()
	for n := range ev.Records {
		ev.Records[n].Attributes["ApproximateReceiveCount"] = "2"
	}
	_, err = f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, 10, strings.Count(f.logs.String(), `"msg":"event triggered"`))
	assert.Contains(t, f.logs.String(), `"message_id":"m-3","via":"sqs","event":"agent.started"`)
}

// withoutTime is JSON log lines without their "time".
func withoutTime(logs string) string {
	return strings.TrimSpace(timeAttr.ReplaceAllString(logs, "{"))
}

var timeAttr = regexp.MustCompile(`\{"time":"[^"]*",`)

func TestHandleGarbageBesideEventsFailsAlone(t *testing.T) {
	f := newHandlerFixture(t, nil)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		eventMsg(0, native(0)),
		eventMsg(1, "not json"),
		eventMsg(2, native(2)),
		eventMsg(3, `{"event":"agent.exploded"}`),
		eventMsg(4, `{"hello":"world"}`),
		eventMsg(5, native(5)),
	}}
	res, err := f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"m-1", "m-3", "m-4"}, failedIDs(res))
	assert.Equal(t, 1, f.sqs.batches)
	assert.Equal(t, []string{deliveryOf(0), deliveryOf(2), deliveryOf(5)}, f.sentDeliveries(t))
}

func TestHandleEventsSQSRefusedFailAlone(t *testing.T) {
	f := newHandlerFixture(t, nil)
	f.sqs.refuse = func(body string) bool { return strings.Contains(body, deliveryOf(2)) }
	var ev events.SQSEvent
	for n := range 4 {
		ev.Records = append(ev.Records, eventMsg(n, native(n)))
	}
	res, err := f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, []string{"m-2"}, failedIDs(res), "only the message whose job SQS refused comes back")
	assert.Equal(t, 1, f.sqs.batches)
	assert.Equal(t, []string{deliveryOf(0), deliveryOf(1), deliveryOf(3)}, f.sentDeliveries(t))

	// Redelivered, it enqueues the delivery it named the first time.
	f.sqs.refuse = nil
	res, err = f.h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{ev.Records[2]}})
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures)
	assert.Equal(t, deliveryOf(2), f.sentDeliveries(t)[3])
}

// A batch holding a job beside events: the job is attempted as before, the
// events fan out together.
func TestHandleJobBesideEvents(t *testing.T) {
	af := newFixture(t, 200)
	f := newHandlerFixture(t, af.a)
	body, err := af.job(1).Encode()
	require.NoError(t, err)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		eventMsg(0, native(0)),
		{MessageId: "job", Body: body, Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
		eventMsg(1, native(1)),
	}}
	res, err := f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures)
	assert.Equal(t, int32(1), af.hits.Load(), "the job was attempted")
	assert.Equal(t, webhook.DeliverySucceeded, af.store.Delivery(af.job(1).DeliveryID).Status)
	assert.Equal(t, int64(1), f.stats.added[af.hook.ID].Succeeded)
	assert.Equal(t, 1, f.sqs.batches)
	assert.Equal(t, []string{deliveryOf(0), deliveryOf(1)}, f.sentDeliveries(t))
}

// logLines decodes the JSON log lines with message msg.
func logLines(t *testing.T, logs *bytes.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// The handler's lines name the Lambda request they belong to.
func TestHandleLogsCarryTheRequestID(t *testing.T) {
	f := newHandlerFixture(t, nil)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-7"})
	ev := events.SQSEvent{Records: []events.SQSMessage{eventMsg(0, native(0)), eventMsg(1, "not json"), eventMsg(2, native(2))}}
	res, err := f.h.Handle(ctx, ev)
	require.NoError(t, err)
	assert.Equal(t, []string{"m-1"}, failedIDs(res))

	summary := logLines(t, f.logs, "batch")
	require.Len(t, summary, 1)
	assert.Equal(t, "req-7", summary[0]["request_id"])
	assert.EqualValues(t, 1, summary[0]["errors"])
	failed := logLines(t, f.logs, "message failed; it will be retried")
	require.Len(t, failed, 1)
	assert.Equal(t, "req-7", failed[0]["request_id"])
	assert.Equal(t, "m-1", failed[0]["message_id"])
}

// gateRunner is a Runner whose runs wait for release; it counts the runs in
// flight and the most at once.
type gateRunner struct {
	release chan struct{}
	fail    string // a delivery id whose run fails

	mu              sync.Mutex
	now, most, runs int
}

func (g *gateRunner) Run(_ context.Context, job queue.Job, _ bool) (webhook.StatsDelta, error) {
	g.mu.Lock()
	g.now++
	g.runs++
	g.most = max(g.most, g.now)
	g.mu.Unlock()
	<-g.release
	g.mu.Lock()
	g.now--
	g.mu.Unlock()
	if job.DeliveryID == g.fail {
		return webhook.StatsDelta{}, errors.New("throttled")
	}
	return webhook.StatsDelta{Attempts: 1, Succeeded: 1, TotalResponseMS: 10}, nil
}

func (g *gateRunner) inFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.now
}

// jobMsg is job message n, of a delivery to webhook wh.
func jobMsg(t *testing.T, n int, wh string) events.SQSMessage {
	t.Helper()
	body, err := queue.Job{
		DeliveryID: webhook.NewID(webhook.DeliveryIDPrefix), WebhookID: wh, EventID: "evt_x",
		Event: "agent.started", Attempt: 1, CreatedAt: sentTime, Timestamp: sentTime,
	}.Encode()
	require.NoError(t, err)
	return events.SQSMessage{MessageId: "job-" + strconv.Itoa(n), Body: body, Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

func TestHandleAttemptsAtMostConcurrencyJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		other := webhook.NewID(webhook.WebhookIDPrefix)
		var ev events.SQSEvent
		for n := range 10 {
			ev.Records = append(ev.Records, jobMsg(t, n, []string{subscriber, other}[n%2]))
		}
		failing, err := queue.DecodeJob(ev.Records[4].Body)
		require.NoError(t, err)
		r := &gateRunner{release: make(chan struct{}), fail: failing.DeliveryID}
		stats := &statsLog{}
		h := NewHandler(r, nil, stats, HandlerOptions{Concurrency: 3, Log: slog.New(slog.DiscardHandler)})
		// The instance has seen both webhooks answer (isolation.go: one
		// that has not gets one slot until its first attempt ends).
		warm := make(chan struct{})
		close(warm)
		r.release = warm
		_, err = h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{jobMsg(t, 90, subscriber), jobMsg(t, 91, other)}})
		require.NoError(t, err)
		r.release, r.runs, r.most = make(chan struct{}), 0, 0
		stats.added, stats.calls = nil, 0

		done := make(chan events.SQSEventResponse)
		go func() {
			res, err := h.Handle(context.Background(), ev)
			assert.NoError(t, err)
			done <- res
		}()
		synctest.Wait()
		assert.Equal(t, 3, r.inFlight(), "as many jobs as the concurrency, no more, until one ends")
		close(r.release)
		res := <-done

		assert.Equal(t, []string{"job-4"}, failedIDs(res), "only the failed job comes back")
		assert.Equal(t, 10, r.runs)
		assert.Equal(t, 3, r.most)
		assert.Equal(t, 2, stats.calls, "one counter update per webhook")
		assert.Equal(t, webhook.StatsDelta{Attempts: 4, Succeeded: 4, TotalResponseMS: 40}, stats.added[subscriber], "the failed job adds nothing")
		assert.Equal(t, webhook.StatsDelta{Attempts: 5, Succeeded: 5, TotalResponseMS: 50}, stats.added[other])
	})
}
