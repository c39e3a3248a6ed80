package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

var (
	wh3  = webhook.NewID(webhook.WebhookIDPrefix)
	sent = time.Date(2026, 11, 28, 15, 59, 0, 0, time.UTC)
)

// queueReq is the request of SQS message n, as the delivery handler builds it.
func queueReq(event string, n int) webhook.TriggerRequest {
	return webhook.TriggerRequest{Event: event, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		IdempotencyKey: fmt.Sprintf("sqs:m-%d", n), Source: webhook.FromQueue, Time: sent.Add(time.Duration(n) * time.Millisecond)}
}

// newBatchService subscribes wh1 and wh2 to agent.started, wh3 to task.failed.
func newBatchService(q *fakeQueue) (*Service, *fakeStore) {
	s, st := newService(q)
	st.subs["task.failed"] = []string{wh3}
	return s, st
}

// tenEvents are 10 queue events of 2 types: even n agent.started (2
// subscribers), odd n task.failed (1).
func tenEvents() []webhook.TriggerRequest {
	reqs := make([]webhook.TriggerRequest, 10)
	for n := range reqs {
		reqs[n] = queueReq([]string{"agent.started", "task.failed"}[n%2], n)
	}
	return reqs
}

func TestTriggerBatchQueriesOncePerEventAndSendsOnce(t *testing.T) {
	q := &fakeQueue{}
	s, st := newBatchService(q)
	reqs := tenEvents()

	results, errs := s.TriggerBatch(context.Background(), reqs)
	require.Len(t, results, 10)
	require.Len(t, errs, 10)
	for n, err := range errs {
		require.NoError(t, err, n)
	}
	assert.Equal(t, map[string]int{"agent.started": 1, "task.failed": 1}, st.queries, "one query per distinct event")
	assert.Equal(t, 1, q.calls, "one SendJobs for the whole batch")
	assert.Equal(t, []int{15}, q.sizes, "5 × 2 + 5 × 1 jobs")
	assert.Empty(t, st.keys, "queue triggers store no idempotency records")

	// Every request's answer names its own jobs, derived as Trigger derives
	// them from the message's key and time.
	byEvent := map[string][]queue.Job{}
	for _, j := range q.jobs {
		byEvent[j.EventID] = append(byEvent[j.EventID], j)
	}
	for n, r := range reqs {
		res := results[n]
		assert.Equal(t, webhook.DerivedID(webhook.EventIDPrefix, r.Time, r.IdempotencyKey), res.EventID, n)
		subs := st.subs[r.Event]
		assert.Equal(t, len(subs), res.Deliveries, n)
		require.Len(t, byEvent[res.EventID], len(subs), n)
		for k, j := range byEvent[res.EventID] {
			assert.Equal(t, subs[k], j.WebhookID)
			assert.Equal(t, r.Event, j.Event)
			assert.Equal(t, webhook.DeliveryIDFor(res.EventID, j.WebhookID, r.Time), j.DeliveryID)
			assert.Equal(t, r.Time, j.Timestamp)
			assert.Equal(t, t0, j.CreatedAt)
			assert.JSONEq(t, string(r.Data), string(j.Data))
		}
	}
}

// The ids a queue message derives are those it derived before batching
// (pinned): a message received before a deploy and redelivered after it
// names the same deliveries.
func TestTriggerQueueIDsArePinned(t *testing.T) {
	const wh = "wh_0192f0c4a1b27c3d8e9f001122334455"
	req := webhook.TriggerRequest{Event: "agent.started", IdempotencyKey: "sqs:0b5e2f1c-7a44-4c1e-9d0a-3f6b8e2a9c11", Source: webhook.FromQueue,
		Time: time.Date(2026, 11, 28, 15, 59, 0, 123_000_000, time.UTC)}
	for name, trigger := range map[string]func(*Service) (webhook.TriggerResult, error){
		"Trigger": func(s *Service) (webhook.TriggerResult, error) { return s.Trigger(context.Background(), req) },
		"TriggerBatch": func(s *Service) (webhook.TriggerResult, error) {
			res, errs := s.TriggerBatch(context.Background(), []webhook.TriggerRequest{queueReq("task.failed", 1), req})
			return res[1], errs[1]
		},
	} {
		t.Run(name, func(t *testing.T) {
			q := &fakeQueue{}
			s, st := newBatchService(q)
			st.subs["agent.started"] = []string{wh}
			res, err := trigger(s)
			require.NoError(t, err)
			assert.Equal(t, webhook.TriggerResult{EventID: "evt_01a222e19a1b748f8b1c654da1e13da2", Deliveries: 1}, res)
			var ids []string
			for _, j := range q.jobs {
				if j.EventID == res.EventID {
					ids = append(ids, j.DeliveryID)
				}
			}
			assert.Equal(t, []string{"dlv_01a222e19a1b7bc9be9f86421bd31a2f"}, ids)
		})
	}
}

func TestTriggerBatchPartialSendFailsOnlyItsRequests(t *testing.T) {
	q := &fakeQueue{}
	s, _ := newBatchService(q)
	reqs := tenEvents()
	// SQS refuses one job of message 2 (agent.started: its other job is
	// taken) and the job of message 7.
	bad := map[string]bool{
		webhook.DerivedID(webhook.EventIDPrefix, reqs[2].Time, reqs[2].IdempotencyKey): true,
		webhook.DerivedID(webhook.EventIDPrefix, reqs[7].Time, reqs[7].IdempotencyKey): true,
	}
	q.drop = func(j queue.Job) bool { return bad[j.EventID] && j.WebhookID != wh1 }

	results, errs := s.TriggerBatch(context.Background(), reqs)
	for n, err := range errs {
		if n == 2 || n == 7 {
			assert.Equal(t, webhook.EUnavailable, webhook.ErrorCode(err), n)
			assert.Zero(t, results[n], n)
			continue
		}
		assert.NoError(t, err, n)
		assert.Positive(t, results[n].Deliveries, n)
	}
	assert.Equal(t, 1, q.calls)
	first := map[string]bool{}
	for _, j := range q.jobs {
		first[j.DeliveryID] = true
	}

	// SQS redelivers the two failed messages: they enqueue the same
	// deliveries again (the one already sent, by id, stays single in the
	// delivery table).
	q.drop = nil
	again, errs := s.TriggerBatch(context.Background(), []webhook.TriggerRequest{reqs[2], reqs[7]})
	require.NoError(t, errors.Join(errs...))
	assert.Equal(t, 2, again[0].Deliveries)
	assert.Equal(t, 1, again[1].Deliveries)
	require.Len(t, q.jobs, 13+3, "13 of 15 taken, then 3 again")
	redo := q.jobs[13:]
	assert.Equal(t, webhook.DeliveryIDFor(again[0].EventID, wh1, reqs[2].Time), redo[0].DeliveryID)
	assert.True(t, first[redo[0].DeliveryID], "the job sent the first time has the same id")
	for _, j := range redo[1:] {
		assert.False(t, first[j.DeliveryID], "the jobs not sent before")
		assert.True(t, bad[j.EventID])
	}
}

func TestTriggerBatchBadRequestFailsAlone(t *testing.T) {
	q := &fakeQueue{}
	s, st := newBatchService(q)
	reqs := []webhook.TriggerRequest{
		queueReq("agent.started", 0),
		{Event: "agent.exploded", IdempotencyKey: "sqs:m-1", Source: webhook.FromQueue, Time: sent},
		queueReq("task.failed", 2),
		{Event: "custom", Data: json.RawMessage(`[1]`), IdempotencyKey: "sqs:m-3", Source: webhook.FromQueue, Time: sent},
		{Event: "custom", Data: json.RawMessage(`{"x":"` + strings.Repeat("x", queue.MaxPayloadBytes) + `"}`), IdempotencyKey: "sqs:m-4", Source: webhook.FromQueue, Time: sent},
		queueReq("agent.started", 5),
	}
	results, errs := s.TriggerBatch(context.Background(), reqs)
	assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(errs[1]))
	assert.Equal(t, "event", webhook.ErrorField(errs[1]))
	assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(errs[3]))
	assert.Equal(t, "data", webhook.ErrorField(errs[3]))
	assert.Equal(t, webhook.ETooLarge, webhook.ErrorCode(errs[4]))
	for _, n := range []int{0, 2, 5} {
		require.NoError(t, errs[n], n)
	}
	assert.Equal(t, []int{2, 1, 2}, []int{results[0].Deliveries, results[2].Deliveries, results[5].Deliveries})
	assert.Equal(t, []int{5}, q.sizes, "the good ones' jobs in one call")
	assert.NotContains(t, st.queries, "agent.exploded")
	assert.NotContains(t, st.queries, "custom")
}

// A job the queue cannot encode fails the whole SendJobs before anything is
// sent: the batch is sent again request by request, so only its request fails.
func TestTriggerBatchUnsendableRequestFailsAlone(t *testing.T) {
	q := &fakeQueue{}
	s, _ := newBatchService(q)
	reqs := tenEvents()
	badID := webhook.DerivedID(webhook.EventIDPrefix, reqs[4].Time, reqs[4].IdempotencyKey)
	q.refuse = func(j queue.Job) bool { return j.EventID == badID }

	results, errs := s.TriggerBatch(context.Background(), reqs)
	for n, err := range errs {
		if n == 4 {
			assert.Equal(t, webhook.ETooLarge, webhook.ErrorCode(err), "the queue's own answer")
			continue
		}
		require.NoError(t, err, n)
		assert.Positive(t, results[n].Deliveries)
	}
	assert.Equal(t, 1+10, q.calls, "the batch, then each request alone")
	assert.Len(t, q.jobs, 15-2)
}

func TestTriggerBatchSubscriberQueryFailureFailsItsEvent(t *testing.T) {
	q := &fakeQueue{}
	s, st := newBatchService(q)
	st.subs["agent.started"] = nil
	flaky := &flakyStore{fakeStore: st, fail: "task.failed"}
	s.subs = flaky
	results, errs := s.TriggerBatch(context.Background(), []webhook.TriggerRequest{queueReq("task.failed", 0), queueReq("agent.started", 1), queueReq("task.failed", 2)})
	assert.Equal(t, webhook.EUnavailable, webhook.ErrorCode(errs[0]))
	assert.Equal(t, webhook.EUnavailable, webhook.ErrorCode(errs[2]))
	require.NoError(t, errs[1])
	assert.Equal(t, 0, results[1].Deliveries)
	assert.Zero(t, q.calls, "nothing to enqueue")
	assert.Equal(t, 1, st.queries["task.failed"])
}

// flakyStore fails the subscriber queries of one event.
type flakyStore struct {
	*fakeStore
	fail string
}

func (f *flakyStore) ActiveSubscriptions(ctx context.Context, event string) ([]webhook.Subscription, error) {
	ids, err := f.fakeStore.ActiveSubscriptions(ctx, event)
	if event == f.fail {
		return nil, errors.New("throttled")
	}
	return ids, err
}

// A producer's own key is claimed and completed as for the API, apart from
// the batch; a repeat of it enqueues nothing.
func TestTriggerBatchProducerKeyKeepsItsRecord(t *testing.T) {
	q := &fakeQueue{}
	s, st := newBatchService(q)
	keyed := webhook.TriggerRequest{Event: "task.failed", Data: json.RawMessage(`{"a":1}`), IdempotencyKey: "order-42", Source: webhook.FromAPI}
	reqs := []webhook.TriggerRequest{queueReq("agent.started", 0), keyed, queueReq("agent.started", 2)}

	first, errs := s.TriggerBatch(context.Background(), reqs)
	require.NoError(t, errors.Join(errs...))
	require.Contains(t, st.keys, "order-42")
	assert.True(t, st.keys["order-42"].Done)
	assert.Equal(t, first[1].EventID, st.keys["order-42"].EventID)
	assert.Equal(t, 1, first[1].Deliveries)
	assert.ElementsMatch(t, []int{4, 1}, q.sizes, "the queue events together, the keyed one alone")

	again, errs := s.TriggerBatch(context.Background(), []webhook.TriggerRequest{keyed})
	require.NoError(t, errs[0])
	assert.Equal(t, first[1], again[0], "the first answer")
	assert.Equal(t, 2, q.calls, "the repeat enqueued nothing")
}

func TestTriggerBatchEmpty(t *testing.T) {
	q := &fakeQueue{}
	s, _ := newBatchService(q)
	results, errs := s.TriggerBatch(context.Background(), nil)
	assert.Empty(t, results)
	assert.Empty(t, errs)
	assert.Zero(t, q.calls)
}

// A request is validated and its payload compacted once, before its jobs are
// made: every job carries the compact form, so that encoding a job (once per
// subscriber) only measures the payload's length.
func TestTriggerCompactsPayloadOnce(t *testing.T) {
	spaced := json.RawMessage("{ \"a\" : [1, 2] }")
	for name, run := range map[string]func(s *Service) error{
		"Trigger": func(s *Service) error {
			_, err := s.Trigger(context.Background(), webhook.TriggerRequest{Event: "agent.started", Data: spaced, Metadata: json.RawMessage("null")})
			return err
		},
		"TriggerBatch": func(s *Service) error {
			q := queueReq("agent.started", 0)
			q.Data, q.Metadata = spaced, json.RawMessage("null")
			_, errs := s.TriggerBatch(context.Background(), []webhook.TriggerRequest{q,
				{Event: "agent.started", Data: spaced, Metadata: json.RawMessage("null"), IdempotencyKey: "k-1"}})
			return errors.Join(errs...)
		},
	} {
		t.Run(name, func(t *testing.T) {
			q := &fakeQueue{}
			s, _ := newBatchService(q)
			require.NoError(t, run(s))
			require.NotEmpty(t, q.jobs)
			for _, j := range q.jobs {
				assert.Equal(t, `{"a":[1,2]}`, string(j.Data))
				assert.Nil(t, j.Metadata)
			}
		})
	}
}
