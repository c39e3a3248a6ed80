package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/webhook"
)

const over100 = `{"data":{"amount":{"$gt":100}}}`

func amountReq(amount string) webhook.TriggerRequest {
	return webhook.TriggerRequest{Event: "agent.started", Data: json.RawMessage(`{"amount":` + amount + `}`)}
}

func jobHooks(q *fakeQueue) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, j := range q.jobs {
		out = append(out, j.WebhookID)
	}
	return out
}

// A subscriber whose filter the event fails gets no job and is not counted
// in deliveries; one without a filter gets every event.
func TestTriggerAppliesFilters(t *testing.T) {
	tests := []struct {
		name    string
		req     webhook.TriggerRequest
		want    []string
		filters map[string]string
	}{
		{"passes", amountReq("150"), []string{wh1, wh2}, map[string]string{wh1: over100}},
		{"fails", amountReq("50"), []string{wh2}, map[string]string{wh1: over100}},
		{"no data is missing", webhook.TriggerRequest{Event: "agent.started"}, []string{wh2}, map[string]string{wh1: over100}},
		{"fails both", amountReq("50"), nil, map[string]string{wh1: over100, wh2: `{"event":"task.failed"}`}},
		{"the empty filter passes all", amountReq("1"), []string{wh1, wh2}, map[string]string{wh1: `{}`}},
		{"metadata and event", webhook.TriggerRequest{Event: "agent.started", Metadata: json.RawMessage(`{"source":"api-v2"}`)},
			[]string{wh1, wh2}, map[string]string{wh1: `{"event":"agent.started","metadata":{"source":{"$startsWith":"api"}}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{}
			s, st := newService(q)
			st.filters = tt.filters
			res, err := s.Trigger(context.Background(), tt.req)
			require.NoError(t, err)
			assert.Equal(t, len(tt.want), res.Deliveries)
			assert.Equal(t, tt.want, jobHooks(q))
			if len(tt.want) == 0 {
				assert.Zero(t, q.calls, "nothing to send, no call")
			}
		})
	}
}

// Events of the events queue go through the same filters, each event of a
// batch matched on its own, the batch still one send.
func TestTriggerBatchAppliesFilters(t *testing.T) {
	q := &fakeQueue{}
	s, st := newBatchService(q)
	st.filters = map[string]string{wh1: over100, wh3: `{"data":{"n":{"$in":[3]}}}`}
	reqs := []webhook.TriggerRequest{queueReq("agent.started", 0), queueReq("task.failed", 1), queueReq("task.failed", 3)}
	reqs[0].Data = json.RawMessage(`{"amount":150}`)
	small := queueReq("agent.started", 4)
	small.Data = json.RawMessage(`{"amount":50}`)
	reqs = append(reqs, small)

	results, errs := s.TriggerBatch(context.Background(), reqs)
	require.NoError(t, errors.Join(errs...))
	var got []int
	for _, r := range results {
		got = append(got, r.Deliveries)
	}
	assert.Equal(t, []int{2, 0, 1, 1}, got)
	assert.Equal(t, []string{wh1, wh2, wh3, wh2}, jobHooks(q))
	assert.Equal(t, 1, q.calls)
}

// A filter is compiled once per text, not per event.
func TestFilterCompiledOnce(t *testing.T) {
	q := &fakeQueue{}
	s, st := newService(q)
	st.filters = map[string]string{wh1: over100, wh2: over100}
	for _, a := range []string{"150", "50", "101"} {
		_, err := s.Trigger(context.Background(), amountReq(a))
		require.NoError(t, err)
	}
	assert.Len(t, s.filters.m, 1)
	f1, err := s.filters.get(over100)
	require.NoError(t, err)
	f2, err := s.filters.get(over100)
	require.NoError(t, err)
	assert.Same(t, f1, f2)
	assert.Equal(t, []string{wh1, wh2, wh1, wh2}, jobHooks(q))
}

// A stored filter this version cannot apply fails open: delivered, logged.
func TestTriggerUnusableFilterDelivers(t *testing.T) {
	q := &fakeQueue{}
	s, st := newService(q)
	var logs bytes.Buffer
	s.log = slog.New(slog.NewJSONHandler(&logs, nil))
	st.filters = map[string]string{wh1: `{"data":{"amount":{"$bogus":1}}}`}
	res, err := s.Trigger(context.Background(), amountReq("5"))
	require.NoError(t, err)
	assert.Equal(t, 2, res.Deliveries)
	assert.Contains(t, logs.String(), "stored filter refused")
	assert.Contains(t, logs.String(), wh1)
}
