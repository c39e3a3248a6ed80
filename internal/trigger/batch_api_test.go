package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// batch is Batch's answer as one item per event.
func batch(t *testing.T, s *Service, reqs []webhook.TriggerRequest) []item {
	t.Helper()
	results, errs, err := s.Batch(context.Background(), reqs)
	require.NoError(t, err)
	require.Len(t, results, len(reqs))
	require.Len(t, errs, len(reqs))
	out := make([]item, len(reqs))
	for i := range reqs {
		out[i] = item{results[i], errs[i]}
	}
	return out
}

func apiReq(event, data, key string) webhook.TriggerRequest {
	r := webhook.TriggerRequest{Event: event, IdempotencyKey: key}
	if data != "" {
		r.Data = json.RawMessage(data)
	}
	return r
}

func TestBatchWholeRequestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		msg  string
	}{
		{"empty", 0, "events is empty"},
		{"one too many", MaxBatch + 1, "a batch holds at most 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			s, st := newBatchService(q)
			reqs := make([]webhook.TriggerRequest, tc.n)
			for i := range reqs {
				reqs[i] = apiReq("agent.started", "", fmt.Sprintf("k%d", i))
			}
			results, errs, err := s.Batch(context.Background(), reqs)
			require.Error(t, err)
			assert.Nil(t, results)
			assert.Nil(t, errs)
			assert.Equal(t, webhook.EInvalid, webhook.ErrorCode(err))
			assert.Equal(t, "events", webhook.ErrorField(err))
			assert.Contains(t, webhook.ErrorMessage(err), tc.msg)
			assert.Zero(t, q.calls, "nothing queued")
			assert.Empty(t, st.keys, "no key claimed")
			assert.Empty(t, st.queries)
		})
	}
	// MaxBatch itself is a batch.
	q := &fakeQueue{}
	s, _ := newBatchService(q)
	reqs := make([]webhook.TriggerRequest, MaxBatch)
	for i := range reqs {
		reqs[i] = apiReq("agent.started", "", "")
	}
	results, _, err := s.Batch(context.Background(), reqs)
	require.NoError(t, err)
	require.Len(t, results, MaxBatch)
	assert.Equal(t, []int{2 * MaxBatch}, q.sizes)
}

func TestBatchEachEventOnItsOwn(t *testing.T) {
	q := &fakeQueue{}
	s, st := newBatchService(q)
	reqs := []webhook.TriggerRequest{
		apiReq("agent.started", `{"n":0}`, ""),
		apiReq("agent.exploded", `{"n":1}`, ""), // unknown event
		apiReq("task.failed", `{"n":2}`, "k2"),
		apiReq("agent.started", `[1]`, ""), // data not an object
		apiReq("task.failed", `{"n":4}`, ""),
		apiReq("agent.started", `{"n":5}`, "k5"),
	}
	items := batch(t, s, reqs)

	assert.Equal(t, "event", webhook.ErrorField(items[1].Err))
	assert.Equal(t, "data", webhook.ErrorField(items[3].Err))
	for _, i := range []int{0, 2, 4, 5} {
		require.NoError(t, items[i].Err, i)
		assert.True(t, webhook.ValidID(webhook.EventIDPrefix, items[i].Result.EventID), i)
		assert.Equal(t, len(st.subs[reqs[i].Event]), items[i].Result.Deliveries, i)
	}
	assert.Equal(t, map[string]int{"agent.started": 1, "task.failed": 1}, st.queries, "one query per distinct event name")
	assert.Equal(t, []int{2 + 1 + 1 + 2}, q.sizes, "one SendJobs for every job of the batch")
	byEvent := map[string][]queue.Job{}
	for _, j := range q.jobs {
		byEvent[j.EventID] = append(byEvent[j.EventID], j)
	}
	assert.Len(t, byEvent, 4, "the refused events queued nothing")
	for _, i := range []int{0, 2, 4, 5} {
		for _, j := range byEvent[items[i].Result.EventID] {
			assert.Equal(t, reqs[i].Event, j.Event)
			assert.JSONEq(t, string(reqs[i].Data), string(j.Data))
			assert.Equal(t, webhook.DeliveryIDFor(j.EventID, j.WebhookID, t0), j.DeliveryID)
		}
	}
	for _, k := range []string{"k2", "k5"} {
		rec := st.keys[k]
		assert.True(t, rec.Done, k)
	}
	assert.Equal(t, items[2].Result.EventID, st.keys["k2"].EventID)
	assert.Equal(t, 1, st.keys["k2"].Deliveries)
}

func TestBatchIdempotencyKeys(t *testing.T) {
	q := &fakeQueue{}
	s, st := newBatchService(q)
	ctx := context.Background()

	// A key given twice in one batch with the same event is one event; with
	// another event, a conflict.
	items := batch(t, s, []webhook.TriggerRequest{
		apiReq("agent.started", `{"a":1}`, "dup"),
		apiReq("task.failed", `{}`, ""),
		apiReq("agent.started", `{ "a" : 1 }`, "dup"),
		apiReq("agent.started", `{"a":2}`, "dup"),
	})
	require.NoError(t, items[0].Err)
	assert.Equal(t, items[0], items[2], "the repeat answers the first's result")
	assert.Equal(t, webhook.EConflict, webhook.ErrorCode(items[3].Err))
	assert.Equal(t, "Idempotency-Key", webhook.ErrorField(items[3].Err))
	assert.Contains(t, webhook.ErrorMessage(items[3].Err), "events[0]")
	assert.Equal(t, []int{3}, q.sizes, "agent.started once (2 jobs) and task.failed (1)")

	// A later batch: the key done before answers its first result and
	// enqueues nothing; reused with another event it is a conflict.
	items2 := batch(t, s, []webhook.TriggerRequest{
		apiReq("agent.started", `{"a":1}`, "dup"),
		apiReq("agent.started", `{"a":3}`, "dup"),
		apiReq("agent.started", `{"a":4}`, "new"),
	})
	assert.Equal(t, items[0], items2[0])
	assert.Equal(t, webhook.EConflict, webhook.ErrorCode(items2[1].Err))
	require.NoError(t, items2[2].Err)
	assert.Equal(t, []int{3, 2}, q.sizes, "only the new key's jobs")

	// /events and the batch share the keys: the same event under the same key
	// is one.
	res, err := s.Trigger(ctx, apiReq("agent.started", `{"a":4}`, "new"))
	require.NoError(t, err)
	assert.Equal(t, items2[2].Result, res)
	assert.Len(t, q.sizes, 2)

	// A first try left unfinished is finished with its ids.
	st.keys["half"] = webhook.IdempotencyRecord{Key: "half", Fingerprint: fingerprint(apiReq("agent.started", `{"h":1}`, "")),
		EventID: "evt_0192f0c4a1b27c3d8e9f00112233aaaa", EventTime: t0.Add(-1000)}
	items3 := batch(t, s, []webhook.TriggerRequest{apiReq("agent.started", `{"h":1}`, "half")})
	require.NoError(t, items3[0].Err)
	assert.Equal(t, "evt_0192f0c4a1b27c3d8e9f00112233aaaa", items3[0].Result.EventID)
	assert.True(t, st.keys["half"].Done)
}

func TestBatchEnqueueFailureFailsItsEventsOnly(t *testing.T) {
	q := &fakeQueue{drop: func(j queue.Job) bool { return j.Event == "task.failed" }}
	s, st := newBatchService(q)
	items := batch(t, s, []webhook.TriggerRequest{
		apiReq("agent.started", "", ""),
		apiReq("task.failed", "", ""),
		apiReq("task.failed", "", "kf"),
	})
	require.NoError(t, items[0].Err)
	for _, i := range []int{1, 2} {
		assert.Equal(t, webhook.EUnavailable, webhook.ErrorCode(items[i].Err), i)
	}
	assert.Contains(t, webhook.ErrorMessage(items[1].Err), `send it again with "idempotency_key": "evt_`)
	assert.Contains(t, webhook.ErrorMessage(items[2].Err), "with the same idempotency_key")
	assert.False(t, st.keys["kf"].Done, "a failed event's key stays unfinished, to be finished by a repeat")
	assert.Equal(t, 1, q.calls)
}
