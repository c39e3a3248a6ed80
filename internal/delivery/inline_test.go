package delivery

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/devtools/fake"
	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/trigger"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// inlineFixture is the delivery handler over the attempt fixture's webhook
// and store, with the fixture's queue as the DeliveryQueue; the trigger
// service's own queue must stay empty.
type inlineFixture struct {
	*fixture
	own   *fake.Queue
	stats *statsLog
	h     *Handler
}

func newInlineFixture(t *testing.T, inline int, answers ...int) *inlineFixture {
	t.Helper()
	f := &inlineFixture{fixture: newFixture(t, answers...), own: &fake.Queue{}, stats: &statsLog{}}
	index := &subIndex{subs: map[string][]string{"agent.started": {f.hook.ID}}}
	svc := trigger.New(index, f.own, noKeys{}, func() time.Time { return f.now }, quiet)
	f.h = NewHandler(f.a, svc, f.stats, HandlerOptions{Log: quiet, Queue: f.queue, Inline: inline})
	return f
}

func events10(receives string) events.SQSEvent {
	var ev events.SQSEvent
	for n := range 10 {
		m := eventMsg(n, native(n))
		m.Attributes["ApproximateReceiveCount"] = receives
		ev.Records = append(ev.Records, m)
	}
	return ev
}

func TestInlineAttemptsAnEventBatchInPlace(t *testing.T) {
	f := newInlineFixture(t, 0, 200)
	res, err := f.h.Handle(context.Background(), events10("1"))
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures)
	assert.Equal(t, int32(10), f.hits.Load(), "every delivery attempted in place")
	assert.Empty(t, f.own.Sent, "no job through the trigger's queue")
	assert.Empty(t, f.queue.Sent, "no job through the DeliveryQueue")
	assert.Equal(t, 10, f.store.Deliveries())
	assert.Equal(t, 1, f.stats.calls, "one stats update for the batch's webhook")
	assert.Equal(t, int64(10), f.stats.added[f.hook.ID].Succeeded)
}

func TestInlineQueuesBeyondItsBudget(t *testing.T) {
	f := newInlineFixture(t, 3, 200)
	res, err := f.h.Handle(context.Background(), events10("1"))
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures)
	assert.Equal(t, int32(3), f.hits.Load())
	require.Len(t, f.queue.Sent, 7, "the rest go to the DeliveryQueue")
	for _, j := range f.queue.Sent {
		assert.Equal(t, 1, j.Attempt)
	}
	assert.Equal(t, 3, f.store.Deliveries())
}

func TestInlineOffSendsEveryJob(t *testing.T) {
	f := newInlineFixture(t, -1, 200)
	_, err := f.h.Handle(context.Background(), events10("1"))
	require.NoError(t, err)
	assert.Zero(t, f.hits.Load())
	assert.Len(t, f.own.Sent, 10)
}

func TestInlineRetryIsScheduledAsAJobsIs(t *testing.T) {
	f := newInlineFixture(t, 0, 500)
	ev := events10("1")
	ev.Records = ev.Records[:1]
	res, err := f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures)
	require.Len(t, f.queue.Sent, 1, "attempt 2, delayed")
	assert.Equal(t, 2, f.queue.Sent[0].Attempt)
	assert.Positive(t, f.queue.Delays[0])
	assert.Equal(t, webhook.DeliveryRetrying, f.store.Delivery(f.deliveryOf(0)).Status)
}

// An attempt that cannot be recorded is queued as the job it would have
// been; when the queue refuses it too, its event message comes back.
func TestInlineFailedAttemptIsQueuedOrItsEventComesBack(t *testing.T) {
	f := newInlineFixture(t, 0, 200)
	f.store.Fail(errors.New("throttled"))
	ev := events10("1")
	ev.Records = ev.Records[:2]
	res, err := f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures, "queued: durable")
	require.Len(t, f.queue.Sent, 2)
	assert.ElementsMatch(t, []string{f.deliveryOf(0), f.deliveryOf(1)}, []string{f.queue.Sent[0].DeliveryID, f.queue.Sent[1].DeliveryID})

	f.queue.SendErr = &queue.PartialError{Failed: []int{1}, Err: errors.New("sqs down")}
	f.queue.Sent = nil
	res, err = f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.NotEmpty(t, res.BatchItemFailures, "not durable: its event comes back")
}

// A redelivered event (the function died after an attempt, or before the
// message was deleted) reads the record before sending: the endpoint is not
// called again and nothing is recorded twice; a recorded retry whose next
// job may be lost is scheduled again.
func TestInlineRedeliveredEventReadsFirst(t *testing.T) {
	f := newInlineFixture(t, 0, 200)
	_, err := f.h.Handle(context.Background(), events10("1"))
	require.NoError(t, err)
	require.Equal(t, int32(10), f.hits.Load())
	saves := f.store.Saves()

	res, err := f.h.Handle(context.Background(), events10("2"))
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures)
	assert.Equal(t, int32(10), f.hits.Load(), "no second request for a recorded attempt")
	assert.Equal(t, saves, f.store.Saves())
	assert.Empty(t, f.queue.Sent)

	r := newInlineFixture(t, 0, 500)
	ev := events10("1")
	ev.Records = ev.Records[:1]
	_, err = r.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	require.Len(t, r.queue.Sent, 1)
	ev.Records[0].Attributes["ApproximateReceiveCount"] = "2"
	_, err = r.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, int32(1), r.hits.Load())
	require.Len(t, r.queue.Sent, 2, "the next attempt scheduled again, in case it was lost")
	assert.Equal(t, 2, r.queue.Sent[1].Attempt)
}

// deliveryOf is the delivery id message n derives for the fixture's webhook.
func (f *inlineFixture) deliveryOf(n int) string {
	at := sentTime.Add(time.Duration(n) * time.Millisecond)
	return webhook.DeliveryIDFor(webhook.DerivedID(webhook.EventIDPrefix, at, "sqs:m-"+strconv.Itoa(n)), f.hook.ID, at)
}

// A webhook the instance knows to be slow is not attempted in place: its
// jobs are queued, where the isolation bound holds them to their share.
func TestInlineQueuesAKnownSlowWebhook(t *testing.T) {
	f := newInlineFixture(t, 0, 200)
	release, ok := f.h.gate.admit(f.hook.ID)
	require.True(t, ok, "a webhook not yet seen is let through")
	release(2 * time.Second) // its endpoint took 2 s: slow from now on
	res, err := f.h.Handle(context.Background(), events10("1"))
	require.NoError(t, err)
	assert.Empty(t, res.BatchItemFailures)
	assert.Zero(t, f.hits.Load(), "nothing sent in place")
	require.Len(t, f.queue.Sent, 10, "every job to the DeliveryQueue")
	assert.Zero(t, f.store.Deliveries())
}
