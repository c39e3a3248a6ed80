package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/systemprompt-io/webhooks/internal/queue"
	"github.com/systemprompt-io/webhooks/internal/webhook"
)

// fakeStore is an in-memory subscription index and idempotency table.
type fakeStore struct {
	mu      sync.Mutex
	subs    map[string][]string
	keys    map[string]webhook.IdempotencyRecord
	filters map[string]string // payload filters by webhook id
	subsErr error
	queries map[string]int // ActiveSubscriptions calls by event
}

var _ Subscribers = (*fakeStore)(nil)

func (f *fakeStore) ActiveSubscriptions(_ context.Context, event string) ([]webhook.Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queries == nil {
		f.queries = map[string]int{}
	}
	f.queries[event]++
	if f.subsErr != nil {
		return nil, f.subsErr
	}
	var out []webhook.Subscription
	for _, id := range f.subs[event] {
		out = append(out, webhook.Subscription{WebhookID: id, Filter: f.filters[id]})
	}
	return out, nil
}

func (f *fakeStore) ClaimIdempotencyKey(_ context.Context, rec webhook.IdempotencyRecord) (webhook.IdempotencyRecord, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if prev, ok := f.keys[rec.Key]; ok {
		return prev, false, nil
	}
	f.keys[rec.Key] = rec
	return rec, true, nil
}

func (f *fakeStore) CompleteIdempotencyKey(_ context.Context, key string, n int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := f.keys[key]
	rec.Done, rec.Deliveries = true, n
	f.keys[key] = rec
	return nil
}

// fakeQueue records jobs; failFirst makes the first SendJobs fail after
// "sending" half of its jobs, as a partial SendMessageBatch failure would.
// drop names jobs SQS does not take (a PartialError lists them); refuse
// names jobs that fail the whole call before anything is sent, as one that
// cannot be encoded does.
type fakeQueue struct {
	mu        sync.Mutex
	jobs      []queue.Job
	failFirst bool
	calls     int
	sizes     []int // jobs per call
	drop      func(queue.Job) bool
	refuse    func(queue.Job) bool
}

func (q *fakeQueue) SendJobs(_ context.Context, jobs []queue.Job, _ []time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	q.sizes = append(q.sizes, len(jobs))
	if q.failFirst && q.calls == 1 {
		q.jobs = append(q.jobs, jobs[:len(jobs)/2]...)
		return &queue.PartialError{Failed: []int{len(jobs) - 1}, Err: errors.New("throttled")}
	}
	for i, j := range jobs {
		if q.refuse != nil && q.refuse(j) {
			return fmt.Errorf("send jobs: job %d: %w", i, webhook.Errorf(webhook.ETooLarge, "the job message is too large"))
		}
	}
	var failed []int
	for i, j := range jobs {
		if q.drop != nil && q.drop(j) {
			failed = append(failed, i)
			continue
		}
		q.jobs = append(q.jobs, j)
	}
	if failed != nil {
		return &queue.PartialError{Failed: failed, Err: errors.New("throttled")}
	}
	return nil
}

var (
	wh1 = webhook.NewID(webhook.WebhookIDPrefix)
	wh2 = webhook.NewID(webhook.WebhookIDPrefix)
	t0  = time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC)
)

func newService(q *fakeQueue) (*Service, *fakeStore) {
	st := &fakeStore{subs: map[string][]string{"agent.started": {wh1, wh2}}, keys: map[string]webhook.IdempotencyRecord{}}
	return New(st, q, st, func() time.Time { return t0 }, slog.New(slog.NewTextHandler(io.Discard, nil))), st
}

func TestTriggerFansOut(t *testing.T) {
	q := &fakeQueue{}
	s, _ := newService(q)

	res, err := s.Trigger(context.Background(), webhook.TriggerRequest{Event: "agent.started", Data: json.RawMessage(`{"agent_id":"a1"}`)})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Deliveries)
	assert.True(t, webhook.ValidID(webhook.EventIDPrefix, res.EventID))
	require.Len(t, q.jobs, 2)
	for i, j := range q.jobs {
		assert.Equal(t, []string{wh1, wh2}[i], j.WebhookID)
		assert.Equal(t, webhook.DeliveryIDFor(res.EventID, j.WebhookID, t0), j.DeliveryID)
		assert.Equal(t, 1, j.Attempt)
		assert.Equal(t, t0, j.Timestamp)
		assert.JSONEq(t, `{"agent_id":"a1"}`, string(j.Data))
	}
}

func TestTriggerWithoutSubscribers(t *testing.T) {
	q := &fakeQueue{}
	s, _ := newService(q)
	res, err := s.Trigger(context.Background(), webhook.TriggerRequest{Event: "task.failed"})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Deliveries)
	assert.Zero(t, q.calls, "nothing to enqueue")
}

func TestTriggerRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   webhook.TriggerRequest
		code  string
		field string
	}{
		{"no event", webhook.TriggerRequest{}, webhook.EInvalid, "event"},
		{"unknown event", webhook.TriggerRequest{Event: "agent.exploded"}, webhook.EInvalid, "event"},
		{"data not an object", webhook.TriggerRequest{Event: "custom", Data: json.RawMessage(`[1]`)}, webhook.EInvalid, "data"},
		{"metadata not an object", webhook.TriggerRequest{Event: "custom", Metadata: json.RawMessage(`"x"`)}, webhook.EInvalid, "metadata"},
		{"key too long", webhook.TriggerRequest{Event: "custom", IdempotencyKey: string(make([]byte, 256))}, webhook.EInvalid, "Idempotency-Key"},
		{"payload too large", webhook.TriggerRequest{Event: "custom", Data: json.RawMessage(`{"x":"` + strings.Repeat("x", queue.MaxPayloadBytes) + `"}`)}, webhook.ETooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			s, st := newService(q)
			_, err := s.Trigger(context.Background(), tc.req)
			require.Error(t, err)
			assert.Equal(t, tc.code, webhook.ErrorCode(err))
			if tc.field != "" {
				assert.Equal(t, tc.field, webhook.ErrorField(err))
			}
			assert.Zero(t, q.calls)
			assert.Empty(t, st.keys)
		})
	}
}

func TestTriggerIdempotencyKey(t *testing.T) {
	q := &fakeQueue{}
	s, st := newService(q)
	req := webhook.TriggerRequest{Event: "agent.started", Data: json.RawMessage(`{"a":1}`), IdempotencyKey: "k1"}

	first, err := s.Trigger(context.Background(), req)
	require.NoError(t, err)
	st.subs["agent.started"] = append(st.subs["agent.started"], webhook.NewID(webhook.WebhookIDPrefix))

	again, err := s.Trigger(context.Background(), webhook.TriggerRequest{Event: "agent.started", Data: json.RawMessage(`{ "a": 1 }`), IdempotencyKey: "k1"})
	require.NoError(t, err)
	assert.Equal(t, first, again, "the first answer, even though a subscriber was added since")
	assert.Len(t, q.jobs, 2, "the repeat created nothing")

	_, err = s.Trigger(context.Background(), webhook.TriggerRequest{Event: "agent.started", Data: json.RawMessage(`{"a":2}`), IdempotencyKey: "k1"})
	assert.Equal(t, webhook.EConflict, webhook.ErrorCode(err), "same key, different request")
}

func TestTriggerPartialFailureIsFinishedByRepeat(t *testing.T) {
	t.Run("with a key", func(t *testing.T) {
		q := &fakeQueue{failFirst: true}
		s, _ := newService(q)
		req := webhook.TriggerRequest{Event: "agent.started", IdempotencyKey: "k2"}
		_, err := s.Trigger(context.Background(), req)
		require.Error(t, err)
		assert.Equal(t, webhook.EUnavailable, webhook.ErrorCode(err))
		require.Len(t, q.jobs, 1)

		res, err := s.Trigger(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, 2, res.Deliveries)
		assert.Equal(t, q.jobs[0].DeliveryID, q.jobs[1].DeliveryID, "the repeat reuses the first try's delivery ids")
		assert.Equal(t, res.EventID, q.jobs[0].EventID)
	})
	t.Run("without a key", func(t *testing.T) {
		q := &fakeQueue{failFirst: true}
		s, st := newService(q)
		_, err := s.Trigger(context.Background(), webhook.TriggerRequest{Event: "agent.started"})
		require.Error(t, err)
		require.Len(t, q.jobs, 1)
		eventID := q.jobs[0].EventID
		assert.Contains(t, webhook.ErrorMessage(err), "Idempotency-Key: "+eventID)
		require.Contains(t, st.keys, eventID)

		res, err := s.Trigger(context.Background(), webhook.TriggerRequest{Event: "agent.started", IdempotencyKey: eventID})
		require.NoError(t, err)
		assert.Equal(t, eventID, res.EventID)
		assert.Equal(t, q.jobs[0].DeliveryID, q.jobs[1].DeliveryID)
	})
}

func TestTriggerFromQueueIsDeterministic(t *testing.T) {
	q := &fakeQueue{}
	s, st := newService(q)
	sent := time.Date(2026, 11, 28, 15, 59, 0, 0, time.UTC)
	req := webhook.TriggerRequest{Event: "agent.started", IdempotencyKey: "sqs:m-1", Source: webhook.FromQueue, Time: sent}
	a, err := s.Trigger(context.Background(), req)
	require.NoError(t, err)
	b, err := s.Trigger(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	require.Len(t, q.jobs, 4)
	assert.Equal(t, q.jobs[0].DeliveryID, q.jobs[2].DeliveryID, "a redelivered message names the same deliveries")
	assert.Equal(t, sent, q.jobs[0].Timestamp)
	assert.Empty(t, st.keys, "queue triggers store no idempotency records")
}

func TestTriggerStoreFailure(t *testing.T) {
	q := &fakeQueue{}
	s, st := newService(q)
	st.subsErr = errors.New("throttled")
	_, err := s.Trigger(context.Background(), webhook.TriggerRequest{Event: "agent.started", IdempotencyKey: "k3"})
	assert.Equal(t, webhook.EUnavailable, webhook.ErrorCode(err))
	assert.Zero(t, q.calls)
}
